/**
 * Lenient SIP/SIPS/TEL URI splitting for URIs modules get as plain strings (Contact, Path and
 * received URIs, destination and gateway URIs, RPC inputs). `parseUri` (uri.ts) is the strict
 * parser of request URIs; these keep the text as written so that keys and rewritten URIs match
 * Kamailio's byte for byte. All of them, and `parseUri`, cut the text with the one lexer `cutUri`
 * (RFC 3261 §19.1.1 `sip:user:password@hostport;params?headers`; `lexUri` is its sliced form) and
 * differ only in how strictly they read its pieces:
 *  - `splitUri`: ordered parameters, host lower-cased without brackets (registrar, usrloc, NAT);
 *  - `splitUriRaw`: host as written with brackets, parameters as one string (lcr, drouting);
 *  - `checkSipUri`: sip:/sips: only, with the reason a URI is unusable (dispatcher destinations).
 */
import { isIpv4, isIpv6 } from "../net/ip.js";

/**
 * Where the pieces of a URI text are: offsets into it, -1 when a piece is absent. `parseUri`
 * (uri.ts) reads these in place; `lexUri` slices them.
 */
export interface UriCuts {
  /** The ':' after the scheme. */
  colon: number;
  /** The '@' that ends the userinfo, or -1 (always -1 for tel:). */
  at: number;
  /** Start of host[:port] (of the number for tel:). */
  hostStart: number;
  /** End of host[:port]: the ';' of the parameters, the '?' of the headers, or the end. */
  hostEnd: number;
  /** The ';' that starts the parameters, or -1. */
  semi: number;
  /** The '?' that starts the headers, or -1. */
  q: number;
}

/** A fresh UriCuts to pass to `cutUri` (callers on the hot path keep one and reuse it). */
export function newUriCuts(): UriCuts {
  return { colon: -1, at: -1, hostStart: -1, hostEnd: -1, semi: -1, q: -1 };
}

/**
 * The one URI lexer: cuts `t` as RFC 3261 §19.1.1 `sip:user:password@hostport;params?headers`
 * (RFC 3966 `tel:number;params`) into `out`, without allocating. False when there is no ':'.
 * The userinfo ends at the first '@' after the scheme: user may contain ';' and '?' (user-unreserved)
 * but neither user, password, host, parameters nor headers may contain an unescaped '@', so a
 * well-formed URI has at most one and it ends the userinfo, wherever ';' or '?' appear before it
 * (Kamailio's parse_uri reads it the same way). The parameters start at the first ';' after the
 * host, the headers at the first '?' after it.
 */
export function cutUri(t: string, out: UriCuts): boolean {
  const colon = t.indexOf(":");
  if (colon < 0) return false;
  out.colon = colon;
  const tel = colon === 3 && (t.charCodeAt(0) | 32) === 116 && (t.charCodeAt(1) | 32) === 101 && (t.charCodeAt(2) | 32) === 108;
  const at = tel ? -1 : t.indexOf("@", colon + 1);
  out.at = at;
  const hs = at >= 0 ? at + 1 : colon + 1;
  out.hostStart = hs;
  // host[:port] ends at the first ';' or '?'; after a ';' the headers start at the next '?'
  const n = t.length;
  let i = hs;
  while (i < n) {
    const ch = t.charCodeAt(i);
    if (ch === 59 /* ; */ || ch === 63 /* ? */) break;
    i++;
  }
  out.hostEnd = i;
  if (i < n && t.charCodeAt(i) === 59) {
    out.semi = i;
    out.q = t.indexOf("?", i + 1);
  } else {
    out.semi = -1;
    out.q = i < n ? i : -1;
  }
  return true;
}

/** The pieces of a URI text, as written. */
export interface UriPieces {
  /** Scheme as written (not lower-cased; "" when the text starts with ':'). */
  readonly scheme: string;
  /** `user[:password]` before the first '@', or null when there is no '@' (always null for tel:). */
  readonly userinfo: string | null;
  /** host[:port] for sip:/sips:, the number for tel:. */
  readonly hostport: string;
  /** Parameters after the first ';' following the host (without it), or null. */
  readonly params: string | null;
  /** Headers after the first '?' following the host (without it), or null. */
  readonly headers: string | null;
}

/** Cuts a trimmed URI text into its pieces (`cutUri`, sliced); null when it has no scheme. */
export function lexUri(t: string): UriPieces | null {
  const c = newUriCuts();
  if (!cutUri(t, c)) return null;
  return {
    scheme: t.slice(0, c.colon),
    userinfo: c.at >= 0 ? t.slice(c.colon + 1, c.at) : null,
    hostport: t.slice(c.hostStart, c.hostEnd),
    params: c.semi >= 0 ? t.slice(c.semi + 1, c.q >= 0 ? c.q : t.length) : null,
    headers: c.q >= 0 ? t.slice(c.q + 1) : null,
  };
}

/** `user[:password]` → its two parts (null when absent). */
function splitUserinfo(userinfo: string | null): { user: string | null; password: string | null } {
  if (userinfo === null) return { user: null, password: null };
  const pc = userinfo.indexOf(":");
  return pc >= 0 ? { user: userinfo.slice(0, pc), password: userinfo.slice(pc + 1) } : { user: userinfo, password: null };
}

function isUriScheme(s: string): s is "sip" | "sips" | "tel" {
  return s === "sip" || s === "sips" || s === "tel";
}

// ---- splitUri: ordered parameters, host without brackets ----

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
  const p = lexUri(text.trim());
  if (p === null || p.scheme === "") return null;
  const scheme = p.scheme.toLowerCase();
  if (!isUriScheme(scheme)) return null;
  const params = parseParams(p.params);
  if (scheme === "tel") {
    if (!p.hostport) return null;
    return { scheme, user: p.hostport, password: null, host: "", ipv6: false, port: null, params, headers: p.headers };
  }
  const { user, password } = splitUserinfo(p.userinfo);
  if (user === "") return null;
  const hp = p.hostport;
  let host: string;
  let ipv6 = false;
  let i: number;
  if (hp.startsWith("[")) {
    const close = hp.indexOf("]");
    if (close < 0) return null;
    host = hp.slice(1, close);
    ipv6 = true;
    i = close + 1;
  } else {
    i = 0;
    while (i < hp.length && hp[i] !== ":") i++;
    host = hp.slice(0, i);
  }
  if (host === "" || /[\s<>"@]/.test(host)) return null;
  let port: number | null = null;
  if (hp[i] === ":") {
    const s = ++i;
    while (i < hp.length && hp.charCodeAt(i) >= 48 && hp.charCodeAt(i) <= 57) i++;
    if (i === s) return null;
    port = Number(hp.slice(s, i));
    if (port > 65535) return null;
  }
  if (i < hp.length) return null;
  return { scheme, user, password, host: host.toLowerCase(), ipv6, port, params, headers: p.headers };
}

function parseParams(s: string | null): Array<readonly [string, string | null]> {
  const out: Array<readonly [string, string | null]> = [];
  if (s === null) return out;
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

// ---- splitUriRaw: host as written, parameters as one string ----

export interface RawUriParts {
  readonly scheme: "sip" | "sips" | "tel";
  readonly user: string | null;
  readonly password: string | null;
  /** Host as written (IPv6 keeps its brackets). */
  readonly host: string;
  /** Port, or null when absent or not a number. */
  readonly port: number | null;
  /** Parameters without the leading ';' ("" when none). */
  readonly params: string;
  /** Headers without the leading '?' ("" when none). */
  readonly headers: string;
}

/**
 * Splits a URI (optionally inside <...>) keeping the host as written; null when it is not sip:,
 * sips: or tel:, or has no host.
 *
 * @example
 *   splitUriRaw("sip:+4930@gw.example.com:5060;user=phone")?.user; // "+4930"
 */
export function splitUriRaw(text: string): RawUriParts | null {
  let s = text.trim();
  const lt = s.indexOf("<");
  if (lt >= 0) {
    const gt = s.indexOf(">", lt);
    s = s.slice(lt + 1, gt < 0 ? undefined : gt);
  }
  const p = lexUri(s);
  if (p === null) return null;
  const scheme = p.scheme.toLowerCase();
  if (!isUriScheme(scheme)) return null;
  const params = p.params ?? "";
  const headers = p.headers ?? "";
  if (scheme === "tel") return { scheme, user: p.hostport, password: null, host: "", port: null, params, headers };
  const { user, password } = splitUserinfo(p.userinfo);
  const hp = p.hostport;
  let host = hp;
  let port: number | null = null;
  if (hp.startsWith("[")) {
    const close = hp.indexOf("]");
    host = close < 0 ? hp : hp.slice(0, close + 1);
    const after = close < 0 ? "" : hp.slice(close + 1);
    if (after.startsWith(":")) port = parsePort(after.slice(1));
  } else {
    const pc = hp.lastIndexOf(":");
    if (pc >= 0) {
      host = hp.slice(0, pc);
      port = parsePort(hp.slice(pc + 1));
    }
  }
  if (host === "" || host.includes("@")) return null;
  return { scheme, user, password, host, port, params, headers };
}

function parsePort(s: string): number | null {
  if (!/^\d{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

// ---- checkSipUri: sip:/sips: with a reason when unusable ----

export interface DestUri {
  readonly scheme: "sip" | "sips";
  /** User part as written, or "" when absent. */
  readonly user: string;
  /** Host as written (IPv6 without brackets). */
  readonly host: string;
  readonly ipv6: boolean;
  /** The port text as written ("" when absent). */
  readonly portText: string;
  /** Explicit port or 0 when absent. */
  readonly port: number;
  /** Lower-cased `transport` parameter, or "" when absent. */
  readonly transport: string;
  /** `host[:port]` as written, brackets kept for IPv6 (what ds_select_domain writes into the R-URI). */
  readonly hostport: string;
}

const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?$/;
const USER_RE = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+$/;
const TRANSPORTS = new Set(["udp", "tcp", "tls", "sctp", "ws", "wss"]);

/**
 * Reads a sip:/sips: URI strictly enough to send to it. Returns the parts or a reason string when
 * the text is not a usable SIP URI. URI headers (`?...`) are accepted and ignored.
 *
 * @example checkSipUri("sip:10.0.0.1:5080;transport=tcp") // { host: "10.0.0.1", port: 5080, transport: "tcp", ... }
 */
export function checkSipUri(text: string): DestUri | string {
  const p = lexUri(text.trim());
  if (p === null) return "missing scheme (sip: or sips:)";
  const scheme = p.scheme.toLowerCase();
  if (scheme !== "sip" && scheme !== "sips") return `unsupported scheme '${p.scheme}'`;
  let user = "";
  if (p.userinfo !== null) {
    const pw = p.userinfo.indexOf(":");
    const u = pw >= 0 ? p.userinfo.slice(0, pw) : p.userinfo;
    if (u === "" || !USER_RE.test(u)) return `bad user part '${p.userinfo}'`;
    user = u;
  }
  const hp = p.hostport;
  let host: string;
  let portText = "";
  let ipv6 = false;
  if (hp.startsWith("[")) {
    const close = hp.indexOf("]");
    if (close < 0) return "unterminated IPv6 reference";
    host = hp.slice(1, close);
    if (!isIpv6(host)) return `bad IPv6 address '${host}'`;
    ipv6 = true;
    const after = hp.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) return `bad text after IPv6 reference '${after}'`;
      portText = after.slice(1);
    }
  } else {
    const pc = hp.lastIndexOf(":");
    host = pc >= 0 ? hp.slice(0, pc) : hp;
    portText = pc >= 0 ? hp.slice(pc + 1) : "";
    if (host === "") return "missing host";
    if (!HOST_RE.test(host) && !isIpv4(host)) return `bad host '${host}'`;
  }
  let port = 0;
  if (portText !== "" || hp.endsWith(":")) {
    if (!/^\d{1,5}$/.test(portText)) return `bad port '${portText}'`;
    port = Number(portText);
    if (port < 1 || port > 65535) return `port ${port} out of range`;
  }
  let transport = "";
  if (p.params !== null && p.params !== "") {
    for (const seg of p.params.split(";")) {
      if (seg === "") continue;
      const eq = seg.indexOf("=");
      const name = (eq >= 0 ? seg.slice(0, eq) : seg).trim().toLowerCase();
      if (name === "transport") {
        transport = (eq >= 0 ? seg.slice(eq + 1) : "").trim().toLowerCase();
        if (!TRANSPORTS.has(transport)) return `unknown transport '${transport}'`;
      }
    }
  }
  const hostport = (ipv6 ? `[${host}]` : host) + (portText !== "" ? `:${portText}` : "");
  return { scheme, user, host, ipv6, portText, port, transport, hostport };
}

/**
 * Default transport of a destination when its URI has no `transport` parameter: udp for sip:,
 * tls for sips: (RFC 3261 §18.1.1 / §26.2.2).
 */
export function effectiveTransport(u: DestUri): string {
  if (u.transport !== "") return u.transport;
  return u.scheme === "sips" ? "tls" : "udp";
}
