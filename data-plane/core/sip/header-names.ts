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
};

/** Canonical capitalisation for writing a header name (`"call-id"` → `"Call-ID"`). */
export function prettyName(name: string): string {
  const c = canonicalName(name);
  return PRETTY[c] ?? c.replace(/(^|-)([a-z])/g, (_, d: string, ch: string) => d + ch.toUpperCase());
}
