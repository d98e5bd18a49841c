import { randomBytes } from "node:crypto";
import { algorithmInfo, computeResponse, hashHex, type AlgorithmInfo } from "../../core/kit/index.js";

/**
 * The client side of HTTP Digest for SIP (RFC 3261 §22, RFC 2617 §3.2.2, RFC 7616 §3.4, RFC 8760):
 * parse a carrier's WWW-Authenticate / Proxy-Authenticate challenge and build the Authorization /
 * Proxy-Authorization value that answers it (MD5, SHA-256, SHA-512-256 and their -sess variants,
 * qop auth or none). Pure; never throws on bad input.
 */

/** One parsed Digest challenge. */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | null;
  /** Algorithm token as sent ("MD5" when absent). */
  readonly algorithm: string;
  /** The qop options offered (lower case), empty without qop. */
  readonly qop: readonly string[];
  readonly stale: boolean;
}

/** Upper bound of a challenge header we look at (Kamailio's AUTH_HDR_MAX_SIZE is 8k). */
const MAX_CHALLENGE = 8192;

/** Parses one challenge value; null when it is not Digest or lacks realm/nonce. */
export function parseChallenge(value: string): DigestChallenge | null {
  if (value.length > MAX_CHALLENGE) return null;
  const m = /^\s*digest\s+/i.exec(value);
  if (!m) return null;
  const params = new Map<string, string>();
  let i = m[0].length;
  const s = value;
  while (i < s.length) {
    while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === "," || s[i] === "\r" || s[i] === "\n")) i++;
    const eq = s.indexOf("=", i);
    if (eq < 0) break;
    const name = s.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (s[i] === " " || s[i] === "\t") i++;
    let v = "";
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const c = s[i]!;
        if (c === "\\" && i + 1 < s.length) {
          v += s[i + 1];
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        v += c;
        i++;
      }
      if (!closed) return null;
    } else {
      const end = s.indexOf(",", i);
      v = (end < 0 ? s.slice(i) : s.slice(i, end)).trim();
      i = end < 0 ? s.length : end;
    }
    if (!name || params.has(name)) return null;
    params.set(name, v);
  }
  const realm = params.get("realm");
  const nonce = params.get("nonce");
  if (realm === undefined || nonce === undefined || nonce === "") return null;
  const qop = (params.get("qop") ?? "")
    .split(",")
    .map((q) => q.trim().toLowerCase())
    .filter((q) => q !== "");
  return {
    realm,
    nonce,
    opaque: params.get("opaque") ?? null,
    algorithm: params.get("algorithm") ?? "MD5",
    qop,
    stale: (params.get("stale") ?? "").toLowerCase() === "true",
  };
}

/** What answers a challenge: the user and either the password or a stored H(A1). */
export interface ClientCredentials {
  readonly username: string;
  readonly password?: string;
  /** H(username:realm:password) of the challenge's algorithm (Kamailio's auth_ha1 / uac_auth mode 1). */
  readonly ha1?: string;
}

export interface AnswerOptions {
  readonly method: string;
  readonly uri: string;
  /** Nonce count (1 for the first use of a nonce). */
  readonly nc?: number;
  /** Client nonce; random when absent (tests pass a fixed one). */
  readonly cnonce?: string;
}

/**
 * Builds the credentials value (`Digest username="…", realm="…", …`) answering `ch`, or null when
 * the algorithm is unsupported, only auth-int is offered (needs the body; not offered here, as
 * Kamailio's uac), or an H(A1) of the wrong length is given.
 */
export function answerChallenge(ch: DigestChallenge, cred: ClientCredentials, o: AnswerOptions): string | null {
  const alg = algorithmInfo(ch.algorithm);
  if (!alg) return null;
  let qop: string | null = null;
  if (ch.qop.length > 0) {
    if (!ch.qop.includes("auth")) return null;
    qop = "auth";
  }
  const ha1 = ha1Of(alg, ch.realm, cred);
  if (!ha1) return null;
  const cnonce = qop || alg.sess ? (o.cnonce ?? randomBytes(8).toString("hex")) : null;
  const nc = qop ? (o.nc ?? 1).toString(16).padStart(8, "0") : null;
  const response = computeResponse(alg, ha1, { method: o.method, uri: o.uri, nonce: ch.nonce, qop, nc, cnonce });
  let out = `Digest username="${quote(cred.username)}", realm="${quote(ch.realm)}", nonce="${quote(ch.nonce)}", uri="${quote(o.uri)}", response="${response}"`;
  // RFC 7616 §3.4: echo the algorithm when the server named one
  out += `, algorithm=${alg.token}`;
  if (cnonce !== null) out += `, cnonce="${cnonce}"`;
  if (ch.opaque !== null) out += `, opaque="${quote(ch.opaque)}"`;
  if (qop) out += `, qop=${qop}, nc=${nc}`;
  return out;
}

function ha1Of(alg: AlgorithmInfo, realm: string, cred: ClientCredentials): string | null {
  if (cred.ha1) return cred.ha1.length === alg.hexLen ? cred.ha1.toLowerCase() : null;
  if (cred.password === undefined) return null;
  return hashHex(alg.hash, `${cred.username}:${realm}:${cred.password}`);
}

function quote(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

/** Preference of an algorithm token: SHA-512-256 3, SHA-256 2, MD5 1, unsupported 0. */
export function algorithmRank(token: string): number {
  const alg = algorithmInfo(token);
  if (!alg) return 0;
  return alg.hash === "sha512-256" ? 3 : alg.hash === "sha256" ? 2 : 1;
}

/**
 * Picks the challenge to answer among several (RFC 8760 §2.4: a server may offer one per
 * algorithm; the client uses the strongest it supports): SHA-512-256, then SHA-256, then MD5.
 */
export function pickChallenge(list: readonly DigestChallenge[], canHash: (alg: AlgorithmInfo) => boolean): DigestChallenge | null {
  let best: DigestChallenge | null = null;
  let bestRank = -1;
  for (const ch of list) {
    const alg = algorithmInfo(ch.algorithm);
    if (!alg || !canHash(alg)) continue;
    if (ch.qop.length > 0 && !ch.qop.includes("auth")) continue;
    const rank = alg.hash === "sha512-256" ? 3 : alg.hash === "sha256" ? 2 : 1;
    if (rank > bestRank) {
      best = ch;
      bestRank = rank;
    }
  }
  return best;
}
