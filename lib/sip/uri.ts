import type { SipUri } from "./types.js";
import { looksLikeIpv6 } from "../net/ip.js";
import { DIGIT, HNV, HOST, PARAM, PASSWORD, USER, allIn, escapesOk } from "./chars.js";

/** Longest URI we accept (bytes); longer ones are rejected as hostile. */
export const MAX_URI_LENGTH = 4096;

const EMPTY_PARAMS: ReadonlyMap<string, string> = new Map();

/**
 * Parses a SIP, SIPS or TEL URI (RFC 3261 §19.1, §25.1; RFC 3966). Returns null when the text is
 * not a well-formed URI of those schemes. Other schemes: use `uriScheme()` to tell them apart.
 *
 * @example
 *   parseUri("sip:alice@[2001:db8::1]:5070;transport=tcp")?.port  // 5070
 */
export function parseUri(text: string): SipUri | null {
  if (text.length === 0 || text.length > MAX_URI_LENGTH) return null;
  const colon = text.indexOf(":");
  if (colon <= 0) return null;
  // the common spellings without allocating the scheme
  if (colon === 3 && text.startsWith("sip")) return parseSip(text, "sip", 4);
  if (colon === 4 && text.startsWith("sips")) return parseSip(text, "sips", 5);
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === "sip" || scheme === "sips") return parseSip(text, scheme, colon + 1);
  if (scheme === "tel") return parseTel(text, colon + 1);
  return null;
}

/** Lower-cased scheme of any URI (`"mailto"`, `"sip"` …), or null if there is none. */
export function uriScheme(text: string): string | null {
  const colon = text.indexOf(":");
  if (colon <= 0) return null;
  if (colon === 3 && text.startsWith("sip")) return "sip";
  if (colon === 4 && text.startsWith("sips")) return "sips";
  const s = text.slice(0, colon);
  return /^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(s) ? s.toLowerCase() : null;
}

function parseSip(text: string, scheme: "sip" | "sips", start: number): SipUri | null {
  return scanSip(text, scheme, start, true) as SipUri | null;
}

/**
 * True when `text` parses as parseUri() would accept it for a sip:/sips:/tel: URI, without building
 * the URI object (header validation: From/To are checked on every request, their URI read rarely).
 */
export function isValidUri(text: string): boolean {
  if (text.length === 0 || text.length > MAX_URI_LENGTH) return false;
  const colon = text.indexOf(":");
  if (colon <= 0) return false;
  if (colon === 3 && text.startsWith("sip")) return scanSip(text, "sip", 4, false) !== null;
  if (colon === 4 && text.startsWith("sips")) return scanSip(text, "sips", 5, false) !== null;
  return parseUri(text) !== null;
}

/** Validates a SIP URI from text[start] (after the scheme); builds it when `build`, else returns true. */
function scanSip(text: string, scheme: "sip" | "sips", start: number, build: boolean): SipUri | true | null {
  let us = -1;
  let ue = -1;
  let pwe = -1;
  let hostStart = start;
  const at = text.indexOf("@", start);
  if (at >= 0) {
    let pc = text.indexOf(":", start);
    if (pc > at) pc = -1;
    ue = pc >= 0 ? pc : at;
    if (ue === start || !allIn(USER, text, start, ue) || !escapesOk(text, start, ue)) return null;
    us = start;
    if (pc >= 0) {
      if (!allIn(PASSWORD, text, pc + 1, at) || !escapesOk(text, pc + 1, at)) return null;
      pwe = at;
    }
    hostStart = at + 1;
  }
  // host
  let i = hostStart;
  let host: string | null = null;
  let hs: number;
  let he: number;
  let ipv6 = false;
  const n = text.length;
  if (text.charCodeAt(i) === 91 /* [ */) {
    const close = text.indexOf("]", i);
    if (close < 0) return null;
    host = text.slice(i + 1, close);
    if (!looksLikeIpv6(host)) return null;
    host = host.toLowerCase();
    ipv6 = true;
    hs = i + 1;
    he = close;
    i = close + 1;
  } else {
    hs = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 58 /* : */ || c === 59 /* ; */ || c === 63 /* ? */) break;
      if (HOST[c] !== 1) return null;
      i++;
    }
    he = i;
    if (!isHostnameAt(text, hs, he)) return null;
  }
  let port: number | null = null;
  if (i < n && text.charCodeAt(i) === 58) {
    const ps = ++i;
    while (i < n && DIGIT[text.charCodeAt(i)] === 1) i++;
    if (i === ps || i - ps > 5) return null;
    port = Number(text.slice(ps, i));
    if (port > 65535) return null;
  }
  let ps = -1;
  let pe = -1;
  if (i < n && text.charCodeAt(i) === 59) {
    const q = text.indexOf("?", i);
    pe = q >= 0 ? q : n;
    if (!uriParamsOk(text, i, pe)) return null;
    ps = i;
    i = pe;
  }
  let headersAt = -1;
  if (i < n) {
    if (text.charCodeAt(i) !== 63) return null;
    if (!allIn(HNV, text, i + 1) || !escapesOk(text, i + 1)) return null;
    headersAt = i + 1;
  }
  if (!build) return true;
  const user = us >= 0 ? text.slice(us, ue) : null;
  const password = pwe >= 0 ? text.slice(ue + 1, pwe) : null;
  if (host === null) host = text.slice(hs, he).toLowerCase();
  const headers = headersAt >= 0 ? text.slice(headersAt) : null;
  return new SipUriImpl(scheme, user, password, host, ipv6, port, headers, text, ps, pe);
}

/** isHostname over text[from, to) without slicing. */
function isHostnameAt(t: string, from: number, to: number): boolean {
  const len = to - from;
  if (len === 0 || len > 255) return false;
  const c0 = t.charCodeAt(from);
  if (c0 === 46 || c0 === 45) return false;
  for (let k = from + 1; k < to; k++) if (t.charCodeAt(k) === 46 && t.charCodeAt(k - 1) === 46) return false;
  return true;
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

function parseTel(text: string, start: number): SipUri | null {
  const semi = text.indexOf(";", start);
  const num = semi >= 0 ? text.slice(start, semi) : text.slice(start);
  if (num.length === 0 || !/^(\+[0-9\-.()]*[0-9][0-9\-.()]*|[0-9A-Fa-f*#\-.()pPwW]+)$/.test(num)) return null;
  let params: ReadonlyMap<string, string> = EMPTY_PARAMS;
  if (semi >= 0) {
    const p = parseUriParams(text, semi, text.length);
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
