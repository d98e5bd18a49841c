import { createHash, timingSafeEqual } from "node:crypto";

/**
 * HTTP/SIP Digest computations (RFC 2617 §3.2.2, RFC 7616 §3.4, RFC 8760 for SIP): H(A1), H(A2)
 * and the request-digest for MD5, SHA-256 and SHA-512/256 and their -sess variants, with qop
 * auth, auth-int, or none (RFC 2069 legacy).
 */

/** Digest algorithms Olelo understands, by their token in upper case. */
export type DigestAlgorithm = "MD5" | "MD5-SESS" | "SHA-256" | "SHA-256-SESS" | "SHA-512-256" | "SHA-512-256-SESS";

/** How one digest algorithm is computed and written (RFC 7616 §3.3 tokens). */
export interface AlgorithmInfo {
  /** Token as sent in challenges (RFC 7616 §3.3 spelling). */
  readonly token: string;
  /** node:crypto hash name. */
  readonly hash: string;
  /** Length of the hex digest. */
  readonly hexLen: number;
  readonly sess: boolean;
}

/** The supported algorithms (RFC 7616 §6.1 registry, RFC 8760 for SIP) by upper-case token. */
export const ALGORITHMS: Readonly<Record<DigestAlgorithm, AlgorithmInfo>> = {
  MD5: { token: "MD5", hash: "md5", hexLen: 32, sess: false },
  "MD5-SESS": { token: "MD5-sess", hash: "md5", hexLen: 32, sess: true },
  "SHA-256": { token: "SHA-256", hash: "sha256", hexLen: 64, sess: false },
  "SHA-256-SESS": { token: "SHA-256-sess", hash: "sha256", hexLen: 64, sess: true },
  "SHA-512-256": { token: "SHA-512-256", hash: "sha512-256", hexLen: 64, sess: false },
  "SHA-512-256-SESS": { token: "SHA-512-256-sess", hash: "sha512-256", hexLen: 64, sess: true },
};

/** The algorithm for a token (case-insensitive), or null when unsupported. */
export function algorithmInfo(token: string): AlgorithmInfo | null {
  return (ALGORITHMS as Record<string, AlgorithmInfo>)[token.toUpperCase()] ?? null;
}

/** Lower-case hex digest of a UTF-8 string. */
export function hashHex(hash: string, data: string): string {
  return createHash(hash).update(data, "utf8").digest("hex");
}

/** H(username:realm:password) — the stored `ha1` (RFC 7616 §3.4.2). */
export function computeHa1(alg: AlgorithmInfo, username: string, realm: string, password: string): string {
  return hashHex(alg.hash, `${username}:${realm}:${password}`);
}

/** Everything the request-digest depends on besides H(A1). */
export interface DigestInput {
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  /** "auth", "auth-int" or null (no qop). */
  readonly qop: string | null;
  readonly nc: string | null;
  readonly cnonce: string | null;
  /** Message body, needed for auth-int (latin1, byte-exact). */
  readonly body?: string;
}

/**
 * The request-digest (`response` parameter) from H(A1). For -sess algorithms `ha1` is the
 * plain H(user:realm:password) and the session key is derived here.
 */
export function computeResponse(alg: AlgorithmInfo, ha1: string, d: DigestInput): string {
  const h = alg.hash;
  let ha1x = ha1;
  if (alg.sess) ha1x = hashHex(h, `${ha1}:${d.nonce}:${d.cnonce ?? ""}`);
  const a2 = d.qop === "auth-int" ? `${d.method}:${d.uri}:${createHash(h).update(d.body ?? "", "latin1").digest("hex")}` : `${d.method}:${d.uri}`;
  const ha2 = hashHex(h, a2);
  if (d.qop === "auth" || d.qop === "auth-int") {
    return hashHex(h, `${ha1x}:${d.nonce}:${d.nc ?? ""}:${d.cnonce ?? ""}:${d.qop}:${ha2}`);
  }
  return hashHex(h, `${ha1x}:${d.nonce}:${ha2}`);
}

/** Constant-time comparison of two hex digests (case-insensitive); false when lengths differ. */
export function digestEquals(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const ba = Buffer.from(a.toLowerCase(), "latin1");
  const bb = Buffer.from(b.toLowerCase(), "latin1");
  return timingSafeEqual(ba, bb);
}
