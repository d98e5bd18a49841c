/**
 * A small SIP URI splitter for the registrar/NAT modules (they may not import the core's parser):
 * enough to read user, host, port and parameters of Contact, Path and received URIs, and to
 * put a URI back together with one part changed. Parameters keep their order and spelling.
 */
export interface UriParts {
  /** "sip", "sips" or "tel" (lower-cased). */
  readonly scheme: string;
  /** User part as written (still %-escaped), or null. */
  readonly user: string | null;
  /** Password part, or null. */
  readonly password: string | null;
  /** Host without IPv6 brackets, lower-cased. */
  readonly host: string;
  readonly ipv6: boolean;
  readonly port: number | null;
  /** URI parameters in order: [name as written, value or null]. */
  readonly params: ReadonlyArray<readonly [string, string | null]>;
  /** `?headers` part without the `?`, or null. */
  readonly headers: string | null;
}

/** Splits `sip:user@host:port;params?headers`; null when it is not a SIP/SIPS/TEL URI. */
export function splitUri(text: string): UriParts | null {
  const t = text.trim();
  const colon = t.indexOf(":");
  if (colon <= 0) return null;
  const scheme = t.slice(0, colon).toLowerCase();
  if (scheme !== "sip" && scheme !== "sips" && scheme !== "tel") return null;
  let rest = t.slice(colon + 1);
  let headers: string | null = null;
  const q = rest.indexOf("?");
  if (q >= 0) {
    headers = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (scheme === "tel") {
    const semi = rest.indexOf(";");
    const num = semi >= 0 ? rest.slice(0, semi) : rest;
    if (!num) return null;
    return { scheme, user: num, password: null, host: "", ipv6: false, port: null, params: parseParams(semi >= 0 ? rest.slice(semi) : ""), headers };
  }
  let user: string | null = null;
  let password: string | null = null;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const ui = rest.slice(0, at);
    const pc = ui.indexOf(":");
    user = pc >= 0 ? ui.slice(0, pc) : ui;
    password = pc >= 0 ? ui.slice(pc + 1) : null;
    if (user === "") return null;
    rest = rest.slice(at + 1);
  }
  let host: string;
  let ipv6 = false;
  let i: number;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) return null;
    host = rest.slice(1, close);
    ipv6 = true;
    i = close + 1;
  } else {
    i = 0;
    while (i < rest.length && rest[i] !== ":" && rest[i] !== ";") i++;
    host = rest.slice(0, i);
  }
  if (host === "" || /[\s<>"]/.test(host)) return null;
  let port: number | null = null;
  if (rest[i] === ":") {
    const s = ++i;
    while (i < rest.length && rest.charCodeAt(i) >= 48 && rest.charCodeAt(i) <= 57) i++;
    if (i === s) return null;
    port = Number(rest.slice(s, i));
    if (port > 65535) return null;
  }
  if (i < rest.length && rest[i] !== ";") return null;
  return { scheme, user, password, host: host.toLowerCase(), ipv6, port, params: parseParams(rest.slice(i)), headers };
}

function parseParams(s: string): Array<readonly [string, string | null]> {
  const out: Array<readonly [string, string | null]> = [];
  for (const seg of s.split(";")) {
    if (seg === "") continue;
    const eq = seg.indexOf("=");
    out.push(eq >= 0 ? [seg.slice(0, eq), seg.slice(eq + 1)] : [seg, null]);
  }
  return out;
}

/** Value of a URI parameter (name compared case-insensitively); "" for a flag; undefined when absent. */
export function uriParam(u: UriParts, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of u.params) if (k.toLowerCase() === n) return v ?? "";
  return undefined;
}

/** Puts a URI back together (IPv6 hosts get brackets). */
export function formatUri(u: UriParts): string {
  let s = `${u.scheme}:`;
  if (u.scheme === "tel") s += u.user ?? "";
  else {
    if (u.user !== null) s += u.user + (u.password !== null ? `:${u.password}` : "") + "@";
    s += u.ipv6 || u.host.includes(":") ? `[${u.host}]` : u.host;
    if (u.port !== null) s += `:${u.port}`;
  }
  for (const [k, v] of u.params) s += v === null ? `;${k}` : `;${k}=${v}`;
  if (u.headers !== null) s += `?${u.headers}`;
  return s;
}

/** Transport of a URI: `;transport=` lower-cased, "tls" for sips, else "udp". */
export function uriProto(u: UriParts): string {
  const t = uriParam(u, "transport");
  if (t) return t.toLowerCase();
  return u.scheme === "sips" ? "tls" : "udp";
}

/** Unescapes %HH sequences of a URI user part (Kamailio un_escape); null when malformed. */
export function unescapeUser(user: string): string | null {
  if (user.indexOf("%") < 0) return user;
  try {
    return decodeURIComponent(user);
  } catch {
    return null;
  }
}

/**
 * Splits a header value list on commas outside quotes and angle brackets
 * (`<sip:a;lr>, <sip:b;lr>` → two entries), trimming each.
 */
export function splitHeaderList(v: string): string[] {
  const out: string[] = [];
  let q = false;
  let a = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (q) {
      if (c === "\\") i++;
      else if (c === '"') q = false;
    } else if (c === '"') q = true;
    else if (c === "<") a = true;
    else if (c === ">") a = false;
    else if (c === "," && !a) {
      out.push(v.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(v.slice(start).trim());
  return out.filter((x) => x !== "");
}

/** The URI inside `<...>` of a name-addr (or the whole addr-spec up to `;`). */
export function nameAddrUri(v: string): string {
  const lt = v.indexOf("<");
  if (lt >= 0) {
    const gt = v.indexOf(">", lt);
    return gt > lt ? v.slice(lt + 1, gt) : v.slice(lt + 1);
  }
  const semi = v.indexOf(";");
  return (semi >= 0 ? v.slice(0, semi) : v).trim();
}
