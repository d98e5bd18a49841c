import type { SipUri } from "./types.js";
import { looksLikeIpv6 } from "../net/ip.js";
import { DIGIT, HNV, HOST, PARAM, PASSWORD, USER, allIn, escapesOk } from "./chars.js";
import { cutUri, newUriCuts, type UriCuts } from "./uri-split.js";

/** Longest URI we accept (bytes); longer ones are rejected as hostile. */
export const MAX_URI_LENGTH = 4096;

const EMPTY_PARAMS: ReadonlyMap<string, string> = new Map();

/**
 * Parses a SIP, SIPS or TEL URI (RFC 3261 §19.1, §25.1; RFC 3966). Returns null when the text is
 * not a well-formed URI of those schemes. Other schemes: use `uriScheme()` to tell them apart.
 * The text is cut by the one URI lexer (`cutUri`, uri-split.ts: the userinfo ends at the first
 * '@'), and each piece is then checked against the RFC 3261 character classes.
 *
 * @example
 *   parseUri("sip:alice@[2001:db8::1]:5070;transport=tcp")?.port  // 5070
 */
export function parseUri(text: string): SipUri | null {
  if (text.length === 0 || text.length > MAX_URI_LENGTH) return null;
  if (!cutUri(text, CUTS) || CUTS.colon === 0) return null;
  const scheme = text.slice(0, CUTS.colon).toLowerCase();
  if (scheme === "sip" || scheme === "sips") return parseSip(text, scheme, CUTS);
  if (scheme === "tel") return parseTel(text, CUTS);
  return null;
}

/**
 * True when `text` parses as parseUri() would accept it (header validation: From/To are checked on
 * every request, their URI object read rarely; the object built here is short-lived).
 */
export function isValidUri(text: string): boolean {
  return parseUri(text) !== null;
}

/** parseUri's cuts, reused (parseUri is synchronous and does not nest). */
const CUTS: UriCuts = newUriCuts();

/** Lower-cased scheme of any URI (`"mailto"`, `"sip"` …), or null if there is none. */
export function uriScheme(text: string): string | null {
  const colon = text.indexOf(":");
  if (colon <= 0) return null;
  if (colon === 3 && text.startsWith("sip")) return "sip";
  if (colon === 4 && text.startsWith("sips")) return "sips";
  const s = text.slice(0, colon);
  return /^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(s) ? s.toLowerCase() : null;
}

/** Reads the pieces `cutUri` found strictly (RFC 3261 §25.1 character classes). */
function parseSip(text: string, scheme: "sip" | "sips", c: UriCuts): SipUri | null {
  let user: string | null = null;
  let password: string | null = null;
  if (c.at >= 0) {
    const start = c.colon + 1;
    let pc = text.indexOf(":", start);
    if (pc > c.at) pc = -1;
    const u = text.slice(start, pc >= 0 ? pc : c.at);
    if (u.length === 0 || !allIn(USER, u) || !escapesOk(u)) return null;
    user = u;
    if (pc >= 0) {
      const p = text.slice(pc + 1, c.at);
      if (!allIn(PASSWORD, p) || !escapesOk(p)) return null;
      password = p;
    }
  }
  // host[:port] in [hostStart, hostEnd)
  let i = c.hostStart;
  const he = c.hostEnd;
  let host: string;
  let ipv6 = false;
  if (text.charCodeAt(i) === 91 /* [ */) {
    const close = text.indexOf("]", i);
    if (close < 0 || close >= he) return null;
    host = text.slice(i + 1, close);
    if (!looksLikeIpv6(host)) return null;
    host = host.toLowerCase();
    ipv6 = true;
    i = close + 1;
  } else {
    const hs = i;
    while (i < he) {
      const ch = text.charCodeAt(i);
      if (ch === 58 /* : */) break;
      if (HOST[ch] !== 1) return null;
      i++;
    }
    host = text.slice(hs, i);
    if (!isHostname(host)) return null;
    host = host.toLowerCase();
  }
  let port: number | null = null;
  if (i < he && text.charCodeAt(i) === 58) {
    const ps = ++i;
    while (i < he && DIGIT[text.charCodeAt(i)] === 1) i++;
    if (i === ps || i - ps > 5) return null;
    port = Number(text.slice(ps, i));
    if (port > 65535) return null;
  }
  if (i !== he) return null;
  let ps = -1;
  let pe = -1;
  if (c.semi >= 0) {
    pe = c.q >= 0 ? c.q : text.length;
    if (!uriParamsOk(text, c.semi, pe)) return null;
    ps = c.semi;
  }
  let headers: string | null = null;
  if (c.q >= 0) {
    headers = text.slice(c.q + 1);
    if (!allIn(HNV, headers) || !escapesOk(headers)) return null;
  }
  return new SipUriImpl(scheme, user, password, host, ipv6, port, headers, text, ps, pe);
}

/** A SIP URI whose parameter map is built only when someone reads it. */
class SipUriImpl implements SipUri {
  private _params: ReadonlyMap<string, string> | undefined = undefined;
  constructor(
    readonly scheme: "sip" | "sips",
    readonly user: string | null,
    readonly password: string | null,
    readonly host: string,
    readonly ipv6: boolean,
    readonly port: number | null,
    readonly headers: string | null,
    readonly raw: string,
    private readonly ps: number,
    private readonly pe: number,
  ) {}

  get params(): ReadonlyMap<string, string> {
    if (this._params === undefined) this._params = this.ps < 0 ? EMPTY_PARAMS : (parseUriParams(this.raw, this.ps, this.pe) ?? EMPTY_PARAMS);
    return this._params;
  }
}

/** Parses `;a=b;c` from text[from, to), where text[from] is ';'. Names are lower-cased. */
/** Validates `;a=b;c` in text[from, to) without allocating (same rules as parseUriParams). */
function uriParamsOk(text: string, from: number, to: number): boolean {
  let i = from;
  while (i < to) {
    let e = text.indexOf(";", i + 1);
    if (e < 0 || e > to) e = to;
    if (e === i + 1) return false;
    let eq = text.indexOf("=", i + 1);
    if (eq < 0 || eq > e) eq = e;
    if (eq === i + 1) return false;
    for (let k = i + 1; k < e; k++) {
      if (k === eq) continue;
      if (PARAM[text.charCodeAt(k)] !== 1) return false;
    }
    if (eq < e && !escapesOk(text, eq + 1, e)) return false;
    i = e;
  }
  return true;
}

function parseUriParams(text: string, from: number, to: number): Map<string, string> | null {
  const m = new Map<string, string>();
  let i = from;
  while (i < to) {
    // text[i] === ';'
    let e = text.indexOf(";", i + 1);
    if (e < 0 || e > to) e = to;
    const seg = text.slice(i + 1, e);
    if (seg.length === 0) return null;
    const eq = seg.indexOf("=");
    const name = (eq >= 0 ? seg.slice(0, eq) : seg).toLowerCase();
    const value = eq >= 0 ? seg.slice(eq + 1) : "";
    if (name.length === 0 || !allIn(PARAM, name) || !allIn(PARAM, value) || !escapesOk(value)) return null;
    if (!m.has(name)) m.set(name, value);
    i = e;
  }
  return m;
}

function parseTel(text: string, c: UriCuts): SipUri | null {
  if (c.q >= 0) return null; // RFC 3966 has no headers; '?' is no character of a number or parameter
  const num = text.slice(c.hostStart, c.hostEnd);
  if (num.length === 0 || !/^(\+[0-9\-.()]*[0-9][0-9\-.()]*|[0-9A-Fa-f*#\-.()pPwW]+)$/.test(num)) return null;
  let params: ReadonlyMap<string, string> = EMPTY_PARAMS;
  if (c.semi >= 0) {
    const p = parseUriParams(text, c.semi, text.length);
    if (!p) return null;
    params = p;
  }
  return { scheme: "tel", user: num, password: null, host: "", ipv6: false, port: null, params, headers: null, raw: text };
}

/** RFC 3261 hostname or IPv4 address. */
export function isHostname(h: string): boolean {
  if (h.length === 0 || h.length > 255) return false;
  if (h.charCodeAt(0) === 46 || h.charCodeAt(0) === 45) return false;
  if (h.indexOf("..") >= 0) return false;
  return true;
}

/** The host as written in a URI or Via: IPv6 gets brackets. */
export function formatHost(host: string): string {
  return host.indexOf(":") >= 0 && host.charCodeAt(0) !== 91 ? `[${host}]` : host;
}

/** Default port for a scheme/transport (5060, or 5061 for sips/TLS/WSS-less TLS). */
export function defaultPort(scheme: string, transport?: string | null): number {
  if (scheme === "sips" || transport === "tls") return 5061;
  return 5060;
}

/**
 * Builds a SIP URI text from parts. `params` are appended in order; values "" produce `;name`.
 * @example formatSipUri({ user: "bob", host: "10.0.0.1", port: 5070 }) // "sip:bob@10.0.0.1:5070"
 */
export function formatSipUri(parts: {
  scheme?: string;
  user?: string | null;
  password?: string | null;
  host: string;
  port?: number | null;
  params?: Iterable<[string, string]>;
  headers?: string | null;
}): string {
  let s = (parts.scheme ?? "sip") + ":";
  if (parts.user) {
    s += parts.user;
    if (parts.password) s += ":" + parts.password;
    s += "@";
  }
  s += formatHost(parts.host);
  if (parts.port) s += ":" + parts.port;
  if (parts.params) for (const [k, v] of parts.params) s += v === "" ? `;${k}` : `;${k}=${v}`;
  if (parts.headers) s += "?" + parts.headers;
  return s;
}

/** Replaces user/host/port of a parsed SIP URI, keeping everything else as written. */
export function rewriteUri(u: SipUri, change: { user?: string | null; host?: string; port?: number | null }): string {
  return formatSipUri({
    scheme: u.scheme,
    user: change.user !== undefined ? change.user : u.user,
    password: u.password,
    host: change.host ?? u.host,
    port: change.port !== undefined ? change.port : u.port,
    params: u.params.entries(),
    headers: u.headers,
  });
}

/** The transport a URI asks for (`;transport=`), lower-cased, or null. */
export function uriTransport(u: SipUri): string | null {
  const t = u.params.get("transport");
  return t ? t.toLowerCase() : null;
}
