/**
 * A small SIP/SIPS/TEL URI splitter for URIs the routing modules get as plain strings (lcr's
 * caller_uri argument, RPC test inputs). The core parses request URIs itself (req.ruriParsed);
 * modules may not import the core parser, so this covers the few parts they need:
 * RFC 3261 §19.1.1 `sip:user:password@host:port;params?headers`.
 *
 * @example
 *   splitUri("sip:+4930@gw.example.com:5060;user=phone")?.user; // "+4930"
 */
export interface UriParts {
  readonly scheme: "sip" | "sips" | "tel";
  readonly user: string | null;
  readonly password: string | null;
  /** Host as written (IPv6 keeps its brackets). */
  readonly host: string;
  readonly port: number | null;
  /** Parameters without the leading ';' ("" when none). */
  readonly params: string;
  /** Headers without the leading '?' ("" when none). */
  readonly headers: string;
}

/** Splits a URI (optionally inside <...>); null when it is not sip:, sips: or tel:. */
export function splitUri(text: string): UriParts | null {
  let s = text.trim();
  const lt = s.indexOf("<");
  if (lt >= 0) {
    const gt = s.indexOf(">", lt);
    s = s.slice(lt + 1, gt < 0 ? undefined : gt);
  }
  const colon = s.indexOf(":");
  if (colon < 0) return null;
  const scheme = s.slice(0, colon).toLowerCase();
  if (scheme !== "sip" && scheme !== "sips" && scheme !== "tel") return null;
  let rest = s.slice(colon + 1);
  let headers = "";
  const q = rest.indexOf("?");
  if (q >= 0) {
    headers = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (scheme === "tel") {
    const semi = rest.indexOf(";");
    return {
      scheme,
      user: semi < 0 ? rest : rest.slice(0, semi),
      password: null,
      host: "",
      port: null,
      params: semi < 0 ? "" : rest.slice(semi + 1),
      headers,
    };
  }
  let user: string | null = null;
  let password: string | null = null;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const ui = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const pc = ui.indexOf(":");
    if (pc >= 0) {
      user = ui.slice(0, pc);
      password = ui.slice(pc + 1);
    } else {
      user = ui;
    }
  }
  let params = "";
  const semi = rest.indexOf(";");
  if (semi >= 0) {
    params = rest.slice(semi + 1);
    rest = rest.slice(0, semi);
  }
  let host = rest;
  let port: number | null = null;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    host = close < 0 ? rest : rest.slice(0, close + 1);
    const after = close < 0 ? "" : rest.slice(close + 1);
    if (after.startsWith(":")) port = parsePort(after.slice(1));
  } else {
    const pc = rest.lastIndexOf(":");
    if (pc >= 0) {
      host = rest.slice(0, pc);
      port = parsePort(rest.slice(pc + 1));
    }
  }
  if (host === "") return null;
  return { scheme, user, password, host, port, params, headers };
}

function parsePort(s: string): number | null {
  if (!/^\d{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/** True when the string is a literal IPv4 address (dotted quad). */
export function isIpv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255 && (p.length === 1 || p[0] !== "0"));
}

/** True when the string is a literal IPv6 address (brackets allowed). */
export function isIpv6(s: string): boolean {
  const a = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  if (!a.includes(":")) return false;
  return normalizeIpv6(a) !== null;
}

/**
 * Canonical text of an IP address for comparisons: IPv4 as is, IPv6 expanded to eight
 * lower-case 4-digit groups (so "2001:db8::1" and "[2001:DB8:0::1]" compare equal); null when
 * the text is not an IP literal.
 */
export function canonicalIp(s: string): string | null {
  if (isIpv4(s)) return s;
  const a = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  return normalizeIpv6(a);
}

function normalizeIpv6(a: string): string | null {
  let text = a.toLowerCase();
  const lastColon = text.lastIndexOf(":");
  if (lastColon < 0) return null;
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    // an embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups
    if (!isIpv4(last)) return null;
    const p = last.split(".").map(Number);
    text = text.slice(0, lastColon + 1) + ((p[0]! << 8) | p[1]!).toString(16) + ":" + ((p[2]! << 8) | p[3]!).toString(16);
  }
  const dbl = text.split("::");
  if (dbl.length > 2) return null;
  const head = dbl[0] === "" ? [] : dbl[0]!.split(":");
  let groups: string[];
  if (dbl.length === 2) {
    const rest = dbl[1] === "" ? [] : dbl[1]!.split(":");
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return null;
    groups = [...head, ...Array<string>(fill).fill("0"), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  for (const g of groups) if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
  return groups.map((g) => g.padStart(4, "0")).join(":");
}
