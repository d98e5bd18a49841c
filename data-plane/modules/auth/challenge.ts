import type { AlgorithmInfo } from "../../core/kit/index.js";

/** auth_challenge / www_challenge / proxy_challenge flag bits (Kamailio auth module). */
export const ChallengeFlag = {
  /** qop="auth" */
  QOP_AUTH: 1,
  /** qop="auth-int" */
  QOP_AUTH_INT: 2,
  /** stale=true */
  STALE: 16,
} as const;

function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * WWW-Authenticate / Proxy-Authenticate values (RFC 7616 §3.3, RFC 8760 §2.4): one per
 * algorithm, in the given order of preference, all with the same nonce.
 *
 * @example
 *   buildChallenges("example.com", nonce, [SHA256, MD5], 1, false)
 *   // ['Digest realm="example.com", nonce="…", qop="auth", algorithm=SHA-256', '… algorithm=MD5']
 */
export function buildChallenges(realm: string, nonce: string, algorithms: readonly AlgorithmInfo[], flags: number, stale: boolean): string[] {
  const qops: string[] = [];
  if (flags & ChallengeFlag.QOP_AUTH) qops.push("auth");
  if (flags & ChallengeFlag.QOP_AUTH_INT) qops.push("auth-int");
  let common = `Digest realm=${quote(realm)}, nonce="${nonce}"`;
  if (qops.length > 0) common += `, qop="${qops.join(",")}"`;
  if (stale || flags & ChallengeFlag.STALE) common += ", stale=true";
  return algorithms.map((a) => `${common}, algorithm=${a.token}`);
}
