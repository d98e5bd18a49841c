import type { CSeq, NameAddr, SipUri, Via } from "../../../lib/sip/types.js";
import { DIGIT, TOKEN, isToken, isWs, trimLws } from "../../../lib/sip/chars.js";
import { looksLikeIpv6 as isIpv6 } from "../../../lib/net/ip.js";
import { isHostname, isValidUri, parseUri } from "../../../lib/sip/uri.js";

/**
 * Parsers for header values (RFC 3261 §25.1): name-addr/addr-spec with parameters, Via, CSeq,
 * comma-separated lists. Each returns null on malformed input instead of throwing.
 */

/**
 * Splits a header value on commas that are outside quoted strings and angle brackets.
 * @example splitList('"A, B" <sip:a@x>, <sip:b@y>') // ['"A, B" <sip:a@x>', '<sip:b@y>']
 */
export function splitList(v: string): string[] {
  if (v.indexOf(",") < 0) {
    const t = trimLws(v);
    return t.length ? [t] : [];
  }
  const out: string[] = [];
  let inQuote = false;
  let inAngle = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (inQuote) {
      if (c === 92 /* \ */) i++;
      else if (c === 34) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 60) inAngle = true;
    else if (c === 62) inAngle = false;
    else if (c === 44 && !inAngle) {
      out.push(trimLws(v.slice(start, i)));
      start = i + 1;
    }
  }
  out.push(trimLws(v.slice(start)));
  return out;
}

/** Like splitList but reports empty elements (`a,,b`) as an error (null). */
export function splitListStrict(v: string): string[] | null {
  const parts = splitList(v);
  for (const p of parts) if (p.length === 0) return null;
  return parts;
}

/** Reads a quoted-string starting at s[i] === '"'; returns [unescaped, indexAfter] or null. */
export function readQuoted(s: string, i: number): [string, number] | null {
  let out = "";
  let j = i + 1;
  let segStart = j;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 92) {
      if (j + 1 >= s.length) return null;
      out += s.slice(segStart, j) + s[j + 1];
      j += 2;
      segStart = j;
      continue;
    }
    if (c === 34) return [out + s.slice(segStart, j), j + 1];
    j++;
  }
  return null;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

// the last parameter readParam read: name s[pNs, pNe), value s[pVs, pVe) (pVs < 0: a bare name).
// Module scratch, so the three scanners below allocate nothing per parameter.
let pNs = 0;
let pNe = 0;
let pVs = -1;
let pVe = -1;

/**
 * Reads one `;name[=value]` at s[i] (i after white space) into the scratch above and returns the
 * index after it and its trailing white space, or -1 when malformed. Values may be tokens, hosts
 * (incl. IPv6 references) or quoted strings (kept with their quotes).
 */
function readParam(s: string, i: number): number {
  const n = s.length;
  if (s.charCodeAt(i) !== 59) return -1;
  i = skipWs(s, i + 1);
  const ns = i;
  while (i < n && TOKEN[s.charCodeAt(i)] === 1) i++;
  if (i === ns) return -1;
  pNs = ns;
  pNe = i;
  i = skipWs(s, i);
  pVs = -1;
  pVe = -1;
  if (i < n && s.charCodeAt(i) === 61 /* = */) {
    i = skipWs(s, i + 1);
    if (i < n && s.charCodeAt(i) === 34) {
      const q = readQuoted(s, i);
      if (!q) return -1;
      pVs = i;
      pVe = q[1];
      i = q[1];
    } else if (i < n && s.charCodeAt(i) === 91) {
      const close = s.indexOf("]", i);
      if (close < 0 || !isIpv6(s.slice(i + 1, close))) return -1;
      pVs = i;
      pVe = close + 1;
      i = close + 1;
    } else {
      const vs = i;
      while (i < n && (TOKEN[s.charCodeAt(i)] === 1 || s.charCodeAt(i) === 58)) i++;
      if (i === vs) return -1;
      pVs = vs;
      pVe = i;
    }
    i = skipWs(s, i);
  }
  return i;
}

/** The value of the parameter readParam read last: "" for a bare name. */
function paramValue(s: string): string {
  return pVs < 0 ? "" : s.slice(pVs, pVe);
}

/**
 * Parses generic header parameters `;name[=value]` starting at s[i] (which must be ';' or end).
 * Values may be tokens, hosts (incl. IPv6 references) or quoted strings (kept with their quotes).
 */
export function parseHeaderParams(s: string, i: number): Map<string, string> | null {
  const m = new Map<string, string>();
  const n = s.length;
  i = skipWs(s, i);
  while (i < n) {
    i = readParam(s, i);
    if (i < 0) return null;
    const name = s.slice(pNs, pNe).toLowerCase();
    if (!m.has(name)) m.set(name, paramValue(s));
  }
  return m;
}

/**
 * Scans header parameters from s[i] without building a Map: validates them all (returns null when
 * malformed) and returns the value of `wanted` ("" for a bare name) or undefined when absent.
 * Names compare case-insensitively.
 */
export function scanHeaderParam(s: string, i: number, wanted: string | null): string | undefined | null {
  const n = s.length;
  let found: string | undefined = undefined;
  i = skipWs(s, i);
  while (i < n) {
    i = readParam(s, i);
    if (i < 0) return null;
    if (found === undefined && wanted !== null && pNe - pNs === wanted.length && sameCi(s, pNs, wanted)) found = paramValue(s);
  }
  return found;
}

// results of the last scanViaParams (module scratch: no object per Via)
let viaBranch: string | undefined;
let viaReceived: string | undefined;
let viaRport: string | undefined;

/**
 * One pass over Via parameters from s[i]: validates them as scanHeaderParam does and sets the first
 * branch, received and rport values ("" for a bare name; undefined when absent). False when malformed.
 */
function scanViaParams(s: string, i: number): boolean {
  const n = s.length;
  viaBranch = viaReceived = viaRport = undefined;
  i = skipWs(s, i);
  while (i < n) {
    i = readParam(s, i);
    if (i < 0) return false;
    const len = pNe - pNs;
    if (len === 6) {
      if (viaBranch === undefined && sameCi(s, pNs, "branch")) viaBranch = paramValue(s);
    } else if (len === 8) {
      if (viaReceived === undefined && sameCi(s, pNs, "received")) viaReceived = paramValue(s);
    } else if (len === 5) {
      if (viaRport === undefined && sameCi(s, pNs, "rport")) viaRport = paramValue(s);
    }
  }
  return true;
}

function sameCi(s: string, at: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) {
    let c = s.charCodeAt(at + k);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lower.charCodeAt(k)) return false;
  }
  return true;
}

const NO_PARAMS: ReadonlyMap<string, string> = new Map();

/**
 * Parses one name-addr or addr-spec with header parameters (From, To, Contact, Route ...).
 * Enforces RFC 3261 §20.10: an addr-spec whose URI contains ',', ';' or '?' must be in <>.
 * @example parseNameAddr('"Bob" <sip:bob@b.example>;tag=1').tag // "1"
 */
export function parseNameAddr(value: string): NameAddr | null {
  const v = trimLws(value);
  const n = v.length;
  if (n === 0) return null;
  let displayName: string | null = null;
  let i = 0;
  let uriText: string;
  let angle = false;
  if (v.charCodeAt(0) === 34) {
    const q = readQuoted(v, 0);
    if (!q) return null;
    displayName = q[0];
    i = skipWs(v, q[1]);
    if (v.charCodeAt(i) !== 60) return null;
  } else {
    const lt = v.indexOf("<");
    if (lt >= 0) {
      const dn = trimLws(v.slice(0, lt));
      if (dn.length > 0) {
        // display-name = *(token LWS): only token characters and white space
        for (let k = 0; k < dn.length; k++) {
          const c = dn.charCodeAt(k);
          if (TOKEN[c] !== 1 && !isWs(c)) return null;
        }
        displayName = dn;
      }
      i = lt;
    }
  }
  if (i < n && v.charCodeAt(i) === 60) {
    const gt = v.indexOf(">", i);
    if (gt < 0) return null;
    uriText = v.slice(i + 1, gt);
    if (uriText.length === 0) return null;
    for (let k = 0; k < uriText.length; k++) if (isWs(uriText.charCodeAt(k))) return null;
    angle = true;
    i = gt + 1;
  } else {
    if (displayName !== null) return null;
    let e = 0;
    while (e < n && v.charCodeAt(e) !== 59 && !isWs(v.charCodeAt(e))) e++;
    uriText = v.slice(0, e);
    if (uriText.indexOf("?") >= 0 || uriText.indexOf(",") >= 0) return null;
    i = e;
  }
  const colon = uriText.indexOf(":");
  if (colon <= 0) return null;
  // a SIP/SIPS/TEL URI is validated now and built when first read (`uri`)
  const sipScheme = isSipScheme(uriText, colon);
  if (sipScheme) {
    if (!isValidUri(uriText)) return null;
  } else if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uriText)) return null;
  let tag: string | null = null;
  if (i < n) {
    const t = scanHeaderParam(v, i, "tag");
    if (t === null) return null;
    if (t !== undefined && t !== "") tag = t;
  }
  return new NameAddrImpl(displayName, uriText, sipScheme ? undefined : null, v, i, tag, angle);
}

function isSipScheme(t: string, colon: number): boolean {
  if (colon === 3) {
    const a = t.charCodeAt(0) | 0x20;
    const b = t.charCodeAt(1) | 0x20;
    const c = t.charCodeAt(2) | 0x20;
    return (a === 115 && b === 105 && c === 112) /* sip */ || (a === 116 && b === 101 && c === 108) /* tel */;
  }
  return colon === 4 && t.slice(0, 4).toLowerCase() === "sips";
}

/** NameAddr whose parameter map is built only when someone asks for it. */
class NameAddrImpl implements NameAddr {
  private _params: ReadonlyMap<string, string> | undefined = undefined;
  constructor(
    readonly displayName: string | null,
    readonly uriText: string,
    /** undefined: a valid SIP/SIPS/TEL URI not built yet */
    private _uri: SipUri | null | undefined,
    readonly raw: string,
    private readonly paramsAt: number,
    readonly tag: string | null,
    readonly angle: boolean,
  ) {}

  get uri(): SipUri | null {
    if (this._uri === undefined) this._uri = parseUri(this.uriText);
    return this._uri;
  }

  get params(): ReadonlyMap<string, string> {
    if (this._params === undefined) {
      this._params = this.paramsAt < this.raw.length ? (parseHeaderParams(this.raw, this.paramsAt) ?? NO_PARAMS) : NO_PARAMS;
    }
    return this._params;
  }
}

/**
 * Parses one Via value: `SIP/2.0/UDP host[:port];branch=...;rport`.
 * @example parseVia("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport")?.rport // ""
 */
export function parseVia(value: string): Via | null {
  const v = trimLws(value);
  const n = v.length;
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport (LWS allowed around SLASH)
  let i = 0;
  let p0 = "";
  let p1 = "";
  let p2 = "";
  for (let k = 0; k < 3; k++) {
    i = skipWs(v, i);
    const st = i;
    while (i < n && TOKEN[v.charCodeAt(i)] === 1) i++;
    if (i === st) return null;
    const part = v.slice(st, i);
    if (k === 0) p0 = part;
    else if (k === 1) p1 = part;
    else p2 = part;
    if (k < 2) {
      i = skipWs(v, i);
      if (v.charCodeAt(i) !== 47) return null;
      i++;
    }
  }
  {
    const ws = skipWs(v, i);
    if (ws === i) return null; // LWS required between sent-protocol and sent-by
    i = ws;
  }
  const protocol = p0 === "SIP" && p1 === "2.0" ? "SIP/2.0" : `${p0.toUpperCase()}/${p1}`;
  const transport = p2 === "UDP" || p2 === "TCP" || p2 === "TLS" ? p2 : p2.toUpperCase();
  // sent-by
  let host: string;
  let ipv6 = false;
  if (v.charCodeAt(i) === 91) {
    const close = v.indexOf("]", i);
    if (close < 0) return null;
    host = v.slice(i + 1, close).toLowerCase();
    if (!isIpv6(host)) return null;
    ipv6 = true;
    i = close + 1;
  } else {
    const s = i;
    while (i < n) {
      const c = v.charCodeAt(i);
      if (c === 58 || c === 59 || isWs(c)) break;
      i++;
    }
    host = v.slice(s, i).toLowerCase();
    if (!isHostname(host) || !/^[a-z0-9._-]+$/.test(host)) return null;
  }
  i = skipWs(v, i);
  let port: number | null = null;
  if (i < n && v.charCodeAt(i) === 58) {
    i = skipWs(v, i + 1);
    const s = i;
    while (i < n && DIGIT[v.charCodeAt(i)] === 1) i++;
    if (i === s || i - s > 5) return null;
    port = Number(v.slice(s, i));
    if (port > 65535) return null;
  }
  let branch: string | undefined;
  let received: string | undefined;
  let rport: string | undefined;
  if (i < n) {
    if (!scanViaParams(v, i)) return null; // validates every parameter
    branch = viaBranch;
    received = viaReceived;
    rport = viaRport;
  }
  if (rport !== undefined && rport !== "" && !/^\d{1,5}$/.test(rport)) return null;
  return new ViaImpl(
    protocol,
    transport,
    host,
    ipv6,
    port,
    branch === undefined || branch === "" ? null : branch,
    received === undefined ? null : received,
    rport === undefined ? null : rport,
    v,
    i,
  );
}

/** Via whose parameter map is built only when someone asks for it. */
class ViaImpl implements Via {
  private _params: ReadonlyMap<string, string> | undefined = undefined;
  constructor(
    readonly protocol: string,
    readonly transport: string,
    readonly host: string,
    readonly ipv6: boolean,
    readonly port: number | null,
    readonly branch: string | null,
    readonly received: string | null,
    readonly rport: string | null,
    readonly raw: string,
    private readonly paramsAt: number,
  ) {}

  get params(): ReadonlyMap<string, string> {
    if (this._params === undefined) {
      this._params = this.paramsAt < this.raw.length ? (parseHeaderParams(this.raw, this.paramsAt) ?? NO_PARAMS) : NO_PARAMS;
    }
    return this._params;
  }
}

/** Parses `CSeq: 4711 INVITE`; the number must fit 32 bits (RFC 3261 §8.1.1.5 says < 2^31). */
export function parseCSeq(value: string): CSeq | null {
  const v = trimLws(value);
  let i = 0;
  while (i < v.length && DIGIT[v.charCodeAt(i)] === 1) i++;
  if (i === 0 || i > 10) return null;
  const seq = Number(v.slice(0, i));
  if (seq > 0x7fffffff) return null;
  const j = skipWs(v, i);
  if (j === i) return null;
  const method = v.slice(j);
  if (!isToken(method)) return null;
  return { seq, method };
}

/** Parses a non-negative decimal number up to `max`; null when malformed or too large. */
export function parseUint(value: string, max: number): number | null {
  const v = trimLws(value);
  if (v.length === 0 || v.length > 10) return null;
  for (let i = 0; i < v.length; i++) if (DIGIT[v.charCodeAt(i)] !== 1) return null;
  const n = Number(v);
  return n <= max ? n : null;
}
