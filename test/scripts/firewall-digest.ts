import { createHash } from "node:crypto";

/**
 * Test support (not a routing script): a SIP Digest client written independently of the auth
 * module (RFC 7616 §3.4.1, RFC 8760), so the end-to-end tests check the module against a second
 * implementation — for SHA-256, which sipp 3.6 cannot compute, and for nonce replay / expiry, where
 * the test needs to control nonce and nc.
 */

/** One WWW-/Proxy-Authenticate challenge, parameters unquoted. */
export interface Challenge {
  readonly realm: string;
  readonly nonce: string;
  readonly algorithm: string;
  readonly qop: string | null;
  readonly stale: boolean;
  readonly opaque: string | null;
  /** All parameters by lower-case name. */
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `Digest realm="…", nonce="…", qop="auth", algorithm=SHA-256`. */
export function parseChallenge(value: string): Challenge {
  const m = /^\s*Digest\s+(.*)$/is.exec(value);
  if (!m) throw new Error(`not a Digest challenge: ${value}`);
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let x = re.exec(m[1]!); x; x = re.exec(m[1]!)) params[x[1]!.toLowerCase()] = x[2] !== undefined ? x[2].replace(/\\(.)/g, "$1") : x[3]!;
  return {
    realm: params.realm ?? "",
    nonce: params.nonce ?? "",
    algorithm: params.algorithm ?? "MD5",
    qop: params.qop ?? null,
    stale: (params.stale ?? "").toLowerCase() === "true",
    opaque: params.opaque ?? null,
    params,
  };
}

const HASHES: Record<string, string> = { MD5: "md5", "SHA-256": "sha256", "SHA-512-256": "sha512-256" };

/** What the UA knows when it answers a challenge. */
export interface DigestAnswer {
  readonly user: string;
  readonly password: string;
  readonly method: string;
  readonly uri: string;
  /** nc as a number (default 1). */
  readonly nc?: number;
  readonly cnonce?: string;
}

/** Builds the Authorization / Proxy-Authorization value answering `c` (qop=auth when offered). */
export function answerChallenge(c: Challenge, a: DigestAnswer): string {
  const hash = HASHES[c.algorithm.toUpperCase()];
  if (!hash) throw new Error(`unsupported algorithm ${c.algorithm}`);
  const h = (s: string) => createHash(hash).update(s, "utf8").digest("hex");
  const ha1 = h(`${a.user}:${c.realm}:${a.password}`);
  const ha2 = h(`${a.method}:${a.uri}`);
  const qop = c.qop !== null && c.qop.split(",").map((q) => q.trim()).includes("auth") ? "auth" : null;
  let v = `Digest username="${a.user}", realm="${c.realm}", nonce="${c.nonce}", uri="${a.uri}"`;
  if (qop) {
    const nc = (a.nc ?? 1).toString(16).padStart(8, "0");
    const cnonce = a.cnonce ?? "c0ffee42";
    v += `, response="${h(`${ha1}:${c.nonce}:${nc}:${cnonce}:${qop}:${ha2}`)}", qop=${qop}, nc=${nc}, cnonce="${cnonce}"`;
  } else {
    v += `, response="${h(`${ha1}:${c.nonce}:${ha2}`)}"`;
  }
  v += `, algorithm=${c.algorithm}`;
  if (c.opaque !== null) v += `, opaque="${c.opaque}"`;
  return v;
}
