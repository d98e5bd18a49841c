import { randomBytes } from "node:crypto";
import type { SipMessageView } from "../../core/api.js";
import { algorithmInfo, computeHa1, computeResponse, digestEquals, type AlgorithmInfo, parseCredentials, type DigestCredentials } from "../../core/kit/index.js";
import type { NonceManager } from "./nonce.js";
import type { NonceUses } from "./nonce-tracker.js";
import type { Subscriber, SubscriberTable } from "../../../tables/subscriber/table.js";

/** Kamailio's auth return codes (auth/api.h auth_cfg_result_t). */
export const AuthCode = {
  OK: 1,
  ERROR: -1,
  INVALID_PASSWORD: -2,
  USER_UNKNOWN: -3,
  NONCE_STALE: -4,
  NO_CREDENTIALS: -5,
  NONCE_REUSED: -6,
  USER_MISMATCH: -8,
} as const;
/** One of Kamailio's auth return codes. */
export type AuthCode = (typeof AuthCode)[keyof typeof AuthCode];

/**
 * What happened, finer than the code: "malformed" (answer 400), "skipped" (ACK/CANCEL/PRACK are
 * never challenged), the failure kinds, or "ok".
 */
export type AuthOutcome =
  | "ok"
  | "skipped"
  | "malformed"
  | "no-credentials"
  | "unsupported-algorithm"
  | "invalid-nonce"
  | "unknown-user"
  | "wrong-password"
  | "stale-nonce"
  | "nonce-reused"
  | "user-mismatch"
  | "error";

/** The header the credentials came from. */
export type CredentialsHeader = "Authorization" | "Proxy-Authorization";

/** Result of one credentials check: Kamailio's code plus what the script needs to answer it. */
export interface AuthResult {
  readonly code: AuthCode;
  readonly outcome: AuthOutcome;
  /** The next challenge should carry stale=true. */
  readonly stale: boolean;
  /** Username from the credentials ($au / $ar), when any were found. */
  readonly username: string | null;
  readonly realm: string;
  readonly header: CredentialsHeader | null;
  /** Index of the used field among the header's fields. */
  readonly headerIndex: number;
  /** Diagnostic detail (malformed reason, nonce problem). */
  readonly detail: string | null;
  readonly credentials: DigestCredentials | null;
}

/** Settings of the authenticator (Kamailio auth/auth_db modparams). */
export interface AuthenticatorOptions {
  readonly nonces: NonceManager;
  /** Null when nonce_count and one_time_nonce are both off. */
  readonly tracker: NonceUses | null;
  readonly oneTimeNonce: boolean;
  /** Compute HA1 from the plaintext password when present (Kamailio calculate_ha1). */
  readonly calculateHa1: boolean;
  /** Look subscribers up by username and realm (Kamailio use_domain); else by username only. */
  readonly useDomain: boolean;
}

function result(
  code: AuthCode,
  outcome: AuthOutcome,
  realm: string,
  extra: Partial<Omit<AuthResult, "code" | "outcome" | "realm">> = {},
): AuthResult {
  return {
    code,
    outcome,
    realm,
    stale: extra.stale ?? false,
    username: extra.username ?? null,
    header: extra.header ?? null,
    headerIndex: extra.headerIndex ?? -1,
    detail: extra.detail ?? null,
    credentials: extra.credentials ?? null,
  };
}

/** Finds the Digest credentials for `realm` in the fields of `hdr`; a malformed field wins (400). */
export function findCredentials(
  msg: SipMessageView,
  hdr: CredentialsHeader,
  realm: string,
): { cred: DigestCredentials; index: number } | { malformed: string } | null {
  const fields = msg.headerAll(hdr);
  const want = realm.toLowerCase();
  let found: { cred: DigestCredentials; index: number } | null = null;
  for (let i = 0; i < fields.length; i++) {
    const p = parseCredentials(fields[i]!);
    if (p.kind === "malformed") return { malformed: p.reason };
    if (p.kind === "digest" && found === null && p.cred.realm.toLowerCase() === want) found = { cred: p.cred, index: i };
  }
  return found;
}

/**
 * Digest verification against the subscriber table (RFC 3261 §22.4, RFC 7616 §3.4.1/§3.4.5).
 * Unknown users and wrong passwords cost the same work (a digest over a dummy HA1 is computed and
 * compared) and differ only in the returned code, never in the answer the UA sees.
 */
export class DigestAuthenticator {
  private readonly dummyPassword = randomBytes(16).toString("hex");

  constructor(private readonly opts: AuthenticatorOptions) {}

  private ha1For(s: Subscriber | null, cred: DigestCredentials, alg: AlgorithmInfo, realm: string): string {
    if (s !== null) {
      if (this.opts.calculateHa1 && s.password !== null) return computeHa1(alg, cred.username, realm, s.password);
      const stored = cred.userDomain !== null ? s.ha1b : s.ha1;
      if (stored !== null && stored.length === alg.hexLen) return stored;
    }
    // unknown user, or no hash usable for this algorithm: same work, certain mismatch
    return computeHa1(alg, cred.username, realm, this.dummyPassword);
  }

  /** Verifies the request's credentials for `realm` in header `hdr`. Never throws. */
  authenticate(msg: SipMessageView, realm: string, hdr: CredentialsHeader, table: SubscriberTable): AuthResult {
    const method = msg.method;
    if (method === "ACK" || method === "CANCEL" || method === "PRACK") return result(AuthCode.OK, "skipped", realm);
    const f = findCredentials(msg, hdr, realm);
    if (f === null) return result(AuthCode.NO_CREDENTIALS, "no-credentials", realm);
    if ("malformed" in f) return result(AuthCode.ERROR, "malformed", realm, { header: hdr, detail: f.malformed });
    const { cred, index } = f;
    const base = { username: cred.username, header: hdr, headerIndex: index, credentials: cred } as const;
    const alg = algorithmInfo(cred.algorithm);
    if (alg === null) return result(AuthCode.ERROR, "unsupported-algorithm", realm, { ...base, detail: cred.algorithm });
    const nc = this.opts.nonces.check(cred.nonce);
    if (nc.status === "invalid") return result(AuthCode.ERROR, "invalid-nonce", realm, { ...base, detail: nc.reason });

    // userhash (RFC 7616 §3.4.4) is not supported: such usernames are unknown
    const subscriber = cred.userhash ? null : table.find(cred.user, this.opts.useDomain ? realm : null);
    const ha1 = this.ha1For(subscriber, cred, alg, realm);
    let expected: string;
    try {
      expected = computeResponse(alg, ha1, {
        method,
        uri: cred.uri,
        nonce: cred.nonce,
        qop: cred.qop,
        nc: cred.nc,
        cnonce: cred.cnonce,
        body: cred.qop === "auth-int" ? msg.body : undefined,
      });
    } catch (e) {
      return result(AuthCode.ERROR, "error", realm, { ...base, detail: (e as Error).message });
    }
    const match = digestEquals(expected, cred.response);
    if (subscriber === null) return result(AuthCode.USER_UNKNOWN, "unknown-user", realm, base);
    if (!match) return result(AuthCode.INVALID_PASSWORD, "wrong-password", realm, base);
    if (nc.status === "stale") return result(AuthCode.NONCE_STALE, "stale-nonce", realm, { ...base, stale: true });
    const tracker = this.opts.tracker;
    if (tracker !== null) {
      const use = tracker.use(cred.nonce, nc.issued, nc.expires, cred.nc === null ? null : parseInt(cred.nc, 16), this.opts.oneTimeNonce);
      if (use === "replay") return result(AuthCode.NONCE_REUSED, "nonce-reused", realm, { ...base, stale: this.opts.oneTimeNonce });
      if (use === "forgotten") return result(AuthCode.NONCE_STALE, "stale-nonce", realm, { ...base, stale: true, detail: "nonce no longer tracked" });
    }
    return result(AuthCode.OK, "ok", realm, base);
  }
}
