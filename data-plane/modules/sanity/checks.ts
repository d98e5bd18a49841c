import type { SipMessageView } from "../../core/api.js";
import { parseCredentials } from "../../core/kit/index.js";
import { checkUri, countParam, parseFirstVia, parseRequestLine, splitAddress, uriHasParam } from "./sip-syntax.js";

/** msg_checks bits of sanity_check (Kamailio sanity module, sanity_mod.h). */
export const SanityCheck = {
  RURI_SIP_VERSION: 1,
  RURI_SCHEME: 2,
  REQUIRED_HEADERS: 4,
  VIA_SIP_VERSION: 8,
  VIA_PROTOCOL: 16,
  CSEQ_METHOD: 32,
  CSEQ_VALUE: 64,
  CONTENT_LENGTH: 128,
  EXPIRES_VALUE: 256,
  PROXY_REQUIRE: 512,
  PARSE_URIS: 1024,
  DIGEST: 2048,
  DUPLICATE_TAGS: 4096,
  AUTHORIZATION: 8192,
  VIA1_HEADER: 16384,
  RFC3261: 32768,
  SIZES: 65536,
} as const;

/** uri_checks bits (used with PARSE_URIS). */
export const SanityUriCheck = { RURI: 1, FROM: 2, TO: 4, CONTACT: 8 } as const;

/** Highest valid msg_checks bitmask + 1 (Kamailio SANITY_MAX_CHECKS). */
export const SANITY_MAX_CHECKS = 1 << 17;
/** Highest valid uri_checks bitmask + 1 (Kamailio SANITY_URI_MAX_CHECKS). */
export const SANITY_URI_MAX_CHECKS = 1 << 4;

/**
 * A failed check: the bit, a name, and the reply Kamailio sends for it (code 0 = no reply: the
 * message is too broken to answer, or the check never replies, as in Kamailio).
 */
export interface SanityFailure {
  readonly check: number;
  readonly name: string;
  readonly code: number;
  readonly reason: string;
  /** Extra reply headers (Unsupported for 420). */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

/** Limits of the size check (Kamailio size_* modparams; 0 disables one). */
export interface SizeLimits {
  readonly message: number;
  readonly method: number;
  readonly ruri: number;
  readonly fromUri: number;
  readonly toUri: number;
  readonly contactUri: number;
  readonly routeUri: number;
  readonly pathUri: number;
  readonly paiUri: number;
  readonly header: number;
  readonly headers: number;
  readonly body: number;
}

/** Kamailio's size_* modparam defaults. */
export const DEFAULT_SIZE_LIMITS: SizeLimits = {
  message: 16384,
  method: 32,
  ruri: 256,
  fromUri: 256,
  toUri: 256,
  contactUri: 256,
  routeUri: 256,
  pathUri: 256,
  paiUri: 256,
  header: 2048,
  headers: 8192,
  body: 8192,
};

/** Module settings the checks need (proxy_require list, size limits). */
export interface SanityOptions {
  /** Option tags accepted in Proxy-Require (Kamailio proxy_require). */
  readonly proxyRequire: ReadonlySet<string>;
  readonly sizes: SizeLimits;
}

const fail = (check: number, name: string, code: number, reason: string, headers?: ReadonlyArray<readonly [string, string]>): SanityFailure =>
  headers ? { check, name, code, reason, headers } : { check, name, code, reason };

const UINT32_MAX = 4294967295;

/** The header section split into fields (continuation lines joined), each with its length on the wire. */
function headerFields(raw: string): { fields: string[]; sectionLength: number } {
  let end = raw.indexOf("\r\n\r\n");
  let eol = "\r\n";
  if (end < 0) {
    end = raw.indexOf("\n\n");
    eol = "\n";
    if (end < 0) end = raw.length;
  }
  const firstEnd = raw.indexOf("\n");
  if (firstEnd < 0 || firstEnd >= end) return { fields: [], sectionLength: 0 };
  const section = raw.slice(firstEnd + 1, end);
  const fields: string[] = [];
  for (const line of section.split(eol)) {
    if ((line.startsWith(" ") || line.startsWith("\t")) && fields.length > 0) fields[fields.length - 1] += eol + line;
    else fields.push(line);
  }
  return { fields, sectionLength: section.length + eol.length };
}

function addressUris(msg: SipMessageView, name: string): string[] {
  const out: string[] = [];
  for (const v of msg.headerValues(name)) {
    if (v.trim() === "*") continue;
    const a = splitAddress(v);
    out.push(a ? a.uri : v);
  }
  return out;
}

function checkSizes(msg: SipMessageView, s: SizeLimits): SanityFailure | null {
  const f = (what: string) => fail(SanityCheck.SIZES, "sizes", 0, `size check: ${what} too large`);
  if (s.message > 0 && msg.size > s.message) return f("message");
  if (msg.isRequest) {
    if (s.ruri > 0 && msg.requestUri.length > s.ruri) return f("R-URI");
    if (s.method > 0 && msg.method.length > s.method) return f("method");
  } else if (s.method > 0 && msg.method.length > s.method) {
    return f("CSeq method");
  }
  const { fields, sectionLength } = headerFields(msg.raw);
  if (s.header > 0) for (const h of fields) if (h.length + 2 > s.header) return f(`header ${h.slice(0, h.indexOf(":"))}`);
  if (s.headers > 0 && sectionLength > s.headers) return f("header section");
  if (s.body > 0 && msg.body.length > s.body) return f("body");
  const uriLimit = (name: string, limit: number, label: string): SanityFailure | null => {
    if (limit <= 0) return null;
    for (const u of addressUris(msg, name)) if (u.length > limit) return f(`${label} URI`);
    return null;
  };
  const from = msg.header("From");
  const to = msg.header("To");
  if (s.fromUri > 0 && from === null) return f("From (missing)");
  if (s.toUri > 0 && to === null) return f("To (missing)");
  return (
    uriLimit("From", s.fromUri, "From") ??
    uriLimit("To", s.toUri, "To") ??
    uriLimit("Contact", s.contactUri, "Contact") ??
    uriLimit("Route", s.routeUri, "Route") ??
    uriLimit("Record-Route", s.routeUri, "Record-Route") ??
    uriLimit("Path", s.pathUri, "Path") ??
    uriLimit("P-Asserted-Identity", s.paiUri, "P-Asserted-Identity") ??
    uriLimit("P-Preferred-Identity", s.paiUri, "P-Preferred-Identity")
  );
}

function checkRuriVersion(msg: SipMessageView): SanityFailure | null {
  const rl = parseRequestLine(msg.raw);
  if (!rl) return fail(SanityCheck.RURI_SIP_VERSION, "ruri_sip_version", 0, "request line does not parse");
  const slash = rl.version.indexOf("/");
  if (slash < 0) return fail(SanityCheck.RURI_SIP_VERSION, "ruri_sip_version", 0, "no '/' in the request line version");
  if (rl.version.slice(slash + 1) !== "2.0") return fail(SanityCheck.RURI_SIP_VERSION, "ruri_sip_version", 505, "Version Not Supported (R-URI)");
  return null;
}

function checkRuriScheme(msg: SipMessageView): SanityFailure | null {
  const r = checkUri(msg.requestUri);
  if (r === "bad") return fail(SanityCheck.RURI_SCHEME, "ruri_scheme", 400, "Bad Request URI");
  if (r === "scheme") return fail(SanityCheck.RURI_SCHEME, "ruri_scheme", 416, "Unsupported URI Scheme in Request URI");
  return null;
}

function checkRequiredHeaders(msg: SipMessageView): SanityFailure | null {
  for (const h of ["Via", "From", "To", "Call-ID", "CSeq"]) {
    if (!msg.hasHeader(h)) return fail(SanityCheck.REQUIRED_HEADERS, "required_headers", 0, `missing ${h} header`);
  }
  for (const h of ["From", "To", "Call-ID", "CSeq"]) {
    if (msg.headerAll(h).length > 1) return fail(SanityCheck.REQUIRED_HEADERS, "required_headers", 0, `duplicated ${h} header`);
  }
  return null;
}

function firstVia(msg: SipMessageView): string | null {
  const v = msg.headerValues("Via");
  return v.length > 0 ? v[0]! : null;
}

function checkVia1(msg: SipMessageView): SanityFailure | null {
  const v = firstVia(msg);
  const p = v === null ? null : parseFirstVia(v);
  if (!p) return fail(SanityCheck.VIA1_HEADER, "via1_header", 0, "first Via missing or unparsable");
  if (p.branch === null || p.branch === "") return fail(SanityCheck.VIA1_HEADER, "via1_header", 0, "first Via has no branch");
  return null;
}

function checkRfc3261(msg: SipMessageView): SanityFailure | null {
  const v = firstVia(msg);
  const p = v === null ? null : parseFirstVia(v);
  if (!p || p.branch === null || !p.branch.startsWith("z9hG4bK")) {
    return fail(SanityCheck.RFC3261, "rfc3261", 0, "Via branch without the z9hG4bK magic cookie");
  }
  for (const name of ["Record-Route", "Route"]) {
    for (const u of addressUris(msg, name)) {
      if (checkUri(u) !== "ok") return fail(SanityCheck.RFC3261, "rfc3261", 0, `${name} URI does not parse`);
      if (!uriHasParam(u, "lr")) return fail(SanityCheck.RFC3261, "rfc3261", 0, `${name} URI without lr parameter`);
    }
  }
  return null;
}

function cseqParts(msg: SipMessageView): { num: string; method: string } | null {
  const c = msg.header("CSeq");
  if (c === null) return null;
  const m = /^\s*(\S*)\s*(\S*)\s*$/.exec(c);
  if (!m) return { num: "", method: "" };
  return { num: m[1]!, method: m[2]! };
}

function checkCseqMethod(msg: SipMessageView): SanityFailure | null {
  const c = cseqParts(msg);
  if (!c) return fail(SanityCheck.CSEQ_METHOD, "cseq_method", 0, "missing CSeq header");
  if (c.method === "") return fail(SanityCheck.CSEQ_METHOD, "cseq_method", 400, "Missing method in CSeq header");
  if (c.method !== msg.method) return fail(SanityCheck.CSEQ_METHOD, "cseq_method", 400, "CSeq method does not match request method");
  return null;
}

function checkCseqValue(msg: SipMessageView): SanityFailure | null {
  const c = cseqParts(msg);
  if (!c) return fail(SanityCheck.CSEQ_VALUE, "cseq_value", 0, "missing CSeq header");
  if (c.num === "") return fail(SanityCheck.CSEQ_VALUE, "cseq_value", 400, "Missing number in CSeq header");
  if (!/^\d{1,10}$/.test(c.num) || Number(c.num) >= 2 ** 31) return fail(SanityCheck.CSEQ_VALUE, "cseq_value", 400, "CSeq number is illegal");
  return null;
}

function checkContentLength(msg: SipMessageView): SanityFailure | null {
  const all = msg.headerAll("Content-Length");
  if (all.length === 0) return null;
  const v = all[0]!.trim();
  if (!/^\d{1,10}$/.test(v) || all.some((x) => x.trim() !== v)) return fail(SanityCheck.CONTENT_LENGTH, "content_length", 400, "Content-Length Failure");
  if (Number(v) !== msg.body.length) return fail(SanityCheck.CONTENT_LENGTH, "content_length", 400, "Content-Length mis-match");
  return null;
}

function checkExpires(msg: SipMessageView): SanityFailure | null {
  const e = msg.header("Expires");
  if (e === null) return null;
  const v = e.trim();
  if (v === "") return fail(SanityCheck.EXPIRES_VALUE, "expires_value", 400, "Missing number in Expires header");
  if (!/^\d{1,10}$/.test(v) || Number(v) > UINT32_MAX) return fail(SanityCheck.EXPIRES_VALUE, "expires_value", 400, "Expires value is illegal");
  return null;
}

function checkProxyRequire(msg: SipMessageView, supported: ReadonlySet<string>): SanityFailure | null {
  if (!msg.hasHeader("Proxy-Require")) return null;
  const tags = msg.headerValues("Proxy-Require").map((t) => t.trim()).filter((t) => t !== "");
  if (tags.length === 0) return fail(SanityCheck.PROXY_REQUIRE, "proxy_require", 400, "Bad Proxy Require Header");
  const unsupported = tags.filter((t) => !supported.has(t.toLowerCase()));
  if (unsupported.length > 0) {
    return fail(SanityCheck.PROXY_REQUIRE, "proxy_require", 420, "Bad Proxy Require Extension", [["Unsupported", unsupported.join(", ")]]);
  }
  return null;
}

function uriFail(code: number, reason: string): SanityFailure {
  return fail(SanityCheck.PARSE_URIS, "parse_uris", code, reason);
}

/** Built once: checkUris runs per request in REQINIT (no per-message closures or arrays). */
const ADDRESS_URI_CHECKS = [
  [SanityUriCheck.FROM, "From"],
  [SanityUriCheck.TO, "To"],
] as const;

function checkUris(msg: SipMessageView, uriChecks: number): SanityFailure | null {
  const f = uriFail;
  if (uriChecks & SanityUriCheck.RURI && msg.isRequest && checkUri(msg.requestUri) !== "ok") return f(400, "Bad Request URI");
  for (const [bit, name] of ADDRESS_URI_CHECKS) {
    if (!(uriChecks & bit)) continue;
    const v = msg.header(name);
    if (v === null || v.trim() === "") return f(0, `missing ${name} header`);
    const a = splitAddress(v);
    if (!a || checkUri(a.uri) !== "ok") return f(400, `Invalid ${name} Header`);
  }
  if (uriChecks & SanityUriCheck.CONTACT) {
    const values = msg.headerValues("Contact");
    for (const v of values) {
      if (v.trim() === "*") {
        if (values.length > 1) return f(400, "Bad Contact Header");
        continue;
      }
      const a = splitAddress(v);
      if (!a) return f(400, "Bad Contact Header");
      if (checkUri(a.uri) !== "ok") return f(400, "Bad Contact URI");
    }
  }
  return null;
}

/** SANITY_CHECK_DIGEST (2048, `requireDigest`) or SANITY_CHECK_AUTHORIZATION (8192). */
function checkCredentials(msg: SipMessageView, bit: number, requireDigest: boolean): SanityFailure | null {
  const name = bit === SanityCheck.DIGEST ? "digest" : "authorization";
  for (const h of ["Authorization", "Proxy-Authorization"]) {
    for (const v of msg.headerAll(h)) {
      const p = parseCredentials(v);
      if (p.kind === "other") {
        // Kamailio: "not applicable" — the digest check fails (no reply), the authorization check passes
        if (requireDigest) return fail(bit, name, 0, `${h} is not Digest (${p.scheme})`);
        return null;
      }
      if (p.kind === "malformed") {
        const reason = p.reason === "empty username" ? "Auth Empty User" : p.reason === "empty nonce" ? "Auth Empty Nonce" : "Bad Auth Header";
        return fail(bit, name, 400, reason);
      }
    }
  }
  return null;
}

function checkDupTags(msg: SipMessageView): SanityFailure | null {
  for (const name of ["From", "To"] as const) {
    const v = msg.header(name);
    const a = v === null ? null : splitAddress(v);
    if (!a) return fail(SanityCheck.DUPLICATE_TAGS, "duplicate_tags", 0, `${name} header missing or unparsable`);
    if (countParam(a.params, "tag") > 1) return fail(SanityCheck.DUPLICATE_TAGS, "duplicate_tags", 400, `Many ${name} Tag Params`);
  }
  return null;
}

/**
 * Runs the checks selected by `msgChecks` / `uriChecks` in Kamailio's order and returns the first
 * failure, or null. For replies the request-only checks (1, 2, 32, 512, R-URI) are skipped and a
 * failure never carries a reply code. Never throws.
 */
export function runSanityChecks(msg: SipMessageView, msgChecks: number, uriChecks: number, opts: SanityOptions): SanityFailure | null {
  const req = msg.isRequest;
  let r: SanityFailure | null = null;
  try {
    if (msgChecks & SanityCheck.SIZES) r = checkSizes(msg, opts.sizes);
    if (!r && req && msgChecks & SanityCheck.RURI_SIP_VERSION) r = checkRuriVersion(msg);
    if (!r && req && msgChecks & SanityCheck.RURI_SCHEME) r = checkRuriScheme(msg);
    if (!r && msgChecks & SanityCheck.REQUIRED_HEADERS) r = checkRequiredHeaders(msg);
    if (!r && msgChecks & SanityCheck.VIA1_HEADER) r = checkVia1(msg);
    if (!r && msgChecks & SanityCheck.RFC3261) r = checkRfc3261(msg);
    // 8 (Via SIP version) and 16 (Via protocol) are no-ops in Kamailio as well
    if (!r && req && msgChecks & SanityCheck.CSEQ_METHOD) r = checkCseqMethod(msg);
    if (!r && msgChecks & SanityCheck.CSEQ_VALUE) r = checkCseqValue(msg);
    if (!r && msgChecks & SanityCheck.CONTENT_LENGTH) r = checkContentLength(msg);
    if (!r && msgChecks & SanityCheck.EXPIRES_VALUE) r = checkExpires(msg);
    if (!r && req && msgChecks & SanityCheck.PROXY_REQUIRE) r = checkProxyRequire(msg, opts.proxyRequire);
    if (!r && msgChecks & SanityCheck.PARSE_URIS) r = checkUris(msg, uriChecks);
    if (!r && msgChecks & SanityCheck.DIGEST) r = checkCredentials(msg, SanityCheck.DIGEST, true);
    if (!r && msgChecks & SanityCheck.AUTHORIZATION) r = checkCredentials(msg, SanityCheck.AUTHORIZATION, false);
    if (!r && msgChecks & SanityCheck.DUPLICATE_TAGS) r = checkDupTags(msg);
  } catch (e) {
    r = fail(0, "internal", 0, `sanity check failed on a broken message: ${(e as Error).message}`);
  }
  if (r && !req && r.code !== 0) return { ...r, code: 0 };
  return r;
}
