/**
 * Header names: compact forms (RFC 3261 §7.3.3 and later RFCs) and canonical spellings used when
 * Olelo writes a header. Lookups use the lower-cased full name.
 */
const COMPACT: Record<string, string> = {
  i: "call-id",
  m: "contact",
  e: "content-encoding",
  l: "content-length",
  c: "content-type",
  f: "from",
  s: "subject",
  k: "supported",
  t: "to",
  v: "via",
  o: "event",
  r: "refer-to",
  b: "referred-by",
  u: "allow-events",
  a: "accept-contact",
  j: "reject-contact",
  d: "request-disposition",
  x: "session-expires",
  y: "identity",
  n: "identity-info",
};

/** Lower-cased full header name for any spelling (`"V"` → `"via"`, `"Call-ID"` → `"call-id"`). */
export function canonicalName(name: string): string {
  const lc = name.toLowerCase();
  if (lc.length === 1) return COMPACT[lc] ?? lc;
  return lc;
}

const PRETTY: Record<string, string> = {
  "call-id": "Call-ID",
  cseq: "CSeq",
  "www-authenticate": "WWW-Authenticate",
  "content-id": "Content-ID",
  "mime-version": "MIME-Version",
  rack: "RAck",
  rseq: "RSeq",
  "sip-etag": "SIP-ETag",
  "sip-if-match": "SIP-If-Match",
};

/** Canonical capitalisation for writing a header name (`"call-id"` → `"Call-ID"`). */
export function prettyName(name: string): string {
  const c = canonicalName(name);
  return PRETTY[c] ?? c.replace(/(^|-)([a-z])/g, (_, d: string, ch: string) => d + ch.toUpperCase());
}

/** Well-known header names, lower-cased, grouped by length for allocation-free matching. */
const KNOWN = [
  "via",
  "from",
  "to",
  "call-id",
  "cseq",
  "contact",
  "max-forwards",
  "content-length",
  "content-type",
  "route",
  "record-route",
  "user-agent",
  "server",
  "allow",
  "supported",
  "require",
  "proxy-require",
  "expires",
  "subject",
  "authorization",
  "proxy-authorization",
  "www-authenticate",
  "proxy-authenticate",
  "accept",
  "date",
  "event",
  "reason",
  "path",
  "organization",
  "p-asserted-identity",
  "session-expires",
  "min-se",
  "allow-events",
  "content-disposition",
  "unsupported",
  "min-expires",
  "timestamp",
  "priority",
  "referred-by",
  "refer-to",
];
const BY_LEN: Array<string[] | undefined> = [];
for (const n of KNOWN) (BY_LEN[n.length] ??= []).push(n);

/**
 * Canonical (lower-cased full) name of the header name in s[start, end), without allocating for
 * well-known names and compact forms.
 */
export function canonicalNameAt(s: string, start: number, end: number): string {
  const len = end - start;
  if (len === 1) {
    const c = s.charCodeAt(start) | 0x20;
    const full = COMPACT[String.fromCharCode(c)];
    if (full) return full;
    return String.fromCharCode(c);
  }
  const cands = BY_LEN[len];
  if (cands) {
    outer: for (let k = 0; k < cands.length; k++) {
      const cand = cands[k]!;
      for (let i = 0; i < len; i++) {
        let c = s.charCodeAt(start + i);
        if (c >= 65 && c <= 90) c |= 0x20;
        if (c !== cand.charCodeAt(i)) continue outer;
      }
      return cand;
    }
  }
  return s.slice(start, end).toLowerCase();
}
