import type { EventBus } from "../../core/api.js";
import type { Logger } from "../../core/api.js";
import type { RequestContext } from "../../core/api.js";
import { AuthCode, type AuthResult, type CredentialsHeader, type DigestAuthenticator, findCredentials } from "./authenticate.js";
import { buildChallenges } from "./challenge.js";
import { algorithmInfo, type AlgorithmInfo, parseCredentials } from "../../core/kit/index.js";
import { AuthFailureLimiter, type FailureLimiterOptions } from "./failure-limiter.js";
import type { NonceManager } from "./nonce.js";
import type { SubscriberTable } from "../../../tables/subscriber/table.js";

/** Request variable holding the last AuthResult of the request (used by challenge and consume). */
export const AUTH_RESULT_VAR = "auth:result";

/** auth_check flag bits (Kamailio auth_db). */
export const AuthCheckFlag = {
  /** The auth username must equal the From user (REGISTER/PUBLISH: the To user, and From = To). */
  IDENTITY: 1,
  /** With IDENTITY: skip the user comparison for INVITE, BYE, PRACK, UPDATE, MESSAGE. */
  SKIP_FORWARDED: 2,
} as const;

const FAILURES = new Set(["malformed", "unsupported-algorithm", "invalid-nonce", "unknown-user", "wrong-password", "nonce-reused", "user-mismatch"]);
const SKIP_FWD = new Set(["INVITE", "BYE", "PRACK", "UPDATE", "MESSAGE"]);

/**
 * The auth script API (Kamailio auth + auth_db functions).
 *
 * @example
 *   // AUTH block of the default script
 *   if (req.method === "REGISTER" || fromLocalDomain) {
 *     const r = auth.verify(req, fromDomain, { flags: 1 });
 *     if (r.outcome === "malformed") { req.reply(400, "Bad Request"); return; }
 *     if (r.code < 0) { auth.challenge(req, fromDomain, 1); return; }
 *     if (req.method !== "REGISTER" && req.method !== "PUBLISH") auth.consumeCredentials(req);
 *   }
 */
export interface AuthApi {
  /** Kamailio's return codes. */
  readonly codes: typeof AuthCode;
  /**
   * [auth_check(realm, table, flags)] Authorization for REGISTER, Proxy-Authorization otherwise.
   * Returns 1 or a negative code (-1 also for malformed credentials; see `verify` for the detail).
   */
  check(req: RequestContext, realm: string, table?: string, flags?: number): number;
  /** Like check, returning the full result (outcome "malformed" → answer 400). */
  verify(req: RequestContext, realm: string, opts?: { table?: string; flags?: number; header?: CredentialsHeader }): AuthResult;
  /** [www_authorize(realm, table)] Authorization header. */
  wwwAuthorize(req: RequestContext, realm: string, table?: string): number;
  /** [proxy_authorize(realm, table)] Proxy-Authorization header. */
  proxyAuthorize(req: RequestContext, realm: string, table?: string): number;
  /**
   * [auth_challenge(realm, flags[, algorithms])] replies 401 (REGISTER) or 407 with one
   * WWW-/Proxy-Authenticate header per algorithm. flags: 1 qop=auth, 2 qop=auth-int, 16 stale=true
   * (stale is also set when the last check found a genuine but expired nonce).
   */
  challenge(req: RequestContext, realm: string, flags?: number, algorithms?: readonly string[]): boolean;
  /** [www_challenge] always 401 + WWW-Authenticate. */
  wwwChallenge(req: RequestContext, realm: string, flags?: number, algorithms?: readonly string[]): boolean;
  /** [proxy_challenge] always 407 + Proxy-Authenticate. */
  proxyChallenge(req: RequestContext, realm: string, flags?: number, algorithms?: readonly string[]): boolean;
  /** [consume_credentials] removes the credentials field that authorized the request. */
  consumeCredentials(req: RequestContext): boolean;
  /** [has_credentials(realm)] whether Digest credentials for `realm` are present. */
  hasCredentials(req: RequestContext, realm: string): boolean;
  /** [$au] username of the credentials for `realm` (or of the first credentials), unverified. */
  credentialsUser(req: RequestContext, realm?: string): string | null;
  /** Per-user / per-IP failure counting with a block time (the `$au::auth_count` pattern). */
  createFailureLimiter(opts: FailureLimiterOptions): AuthFailureLimiter;
}

/** What the auth API needs from the module: authenticator, nonces, tables, events, stats. */
export interface AuthApiDeps {
  readonly authenticator: DigestAuthenticator;
  readonly nonces: NonceManager;
  /** Subscriber tables by name (the "subscriber" kind). */
  tables(): ReadonlyMap<string, SubscriberTable>;
  readonly algorithms: readonly AlgorithmInfo[];
  readonly useDomain: boolean;
  readonly events: EventBus;
  readonly log: Logger;
  readonly stats: { inc(name: string): void };
}

/** Builds the auth script API over the module's authenticator and live subscriber tables. */
export function createAuthApi(d: AuthApiDeps): AuthApi {
  const identity = (req: RequestContext, r: AuthResult, flags: number): AuthResult => {
    if (r.code !== AuthCode.OK || r.outcome !== "ok" || !(flags & AuthCheckFlag.IDENTITY) || !r.credentials) return r;
    const m = req.method;
    const mismatch = (detail: string): AuthResult => ({ ...r, code: AuthCode.USER_MISMATCH, outcome: "user-mismatch", detail });
    try {
      const from = req.msg.from.uri;
      const to = m === "REGISTER" || m === "PUBLISH" ? req.msg.to.uri : null;
      if (!from || ((m === "REGISTER" || m === "PUBLISH") && !to)) return { ...r, code: AuthCode.ERROR, outcome: "error", detail: "unparsable From/To URI" };
      const ref = to ?? from;
      if (!((flags & AuthCheckFlag.SKIP_FORWARDED) && SKIP_FWD.has(m)) && r.credentials.user !== (ref.user ?? "")) {
        return mismatch(`auth user ${r.credentials.user} != ${to ? "To" : "From"} user ${ref.user ?? ""}`);
      }
      if (to) {
        if ((from.user ?? "") !== (to.user ?? "")) return mismatch("From user != To user");
        if (d.useDomain && from.host !== to.host) return mismatch("From domain != To domain");
        if (m === "PUBLISH") {
          if ((from.user ?? "") !== (req.ruriUser ?? "")) return mismatch("From user != R-URI user");
          if (d.useDomain && from.host !== req.ruriHost.toLowerCase()) return mismatch("From domain != R-URI domain");
        }
      }
    } catch (e) {
      return { ...r, code: AuthCode.ERROR, outcome: "error", detail: (e as Error).message };
    }
    return r;
  };

  const run = (req: RequestContext, realm: string, hdr: CredentialsHeader, table: string, flags: number): AuthResult => {
    let r: AuthResult;
    const t = d.tables().get(table);
    if (realm === "") {
      r = { code: AuthCode.ERROR, outcome: "error", stale: false, username: null, realm, header: null, headerIndex: -1, detail: "empty realm", credentials: null };
    } else if (!t) {
      d.log.error("unknown subscriber table", { table });
      r = { code: AuthCode.ERROR, outcome: "error", stale: false, username: null, realm, header: null, headerIndex: -1, detail: `no table ${table}`, credentials: null };
    } else {
      r = identity(req, d.authenticator.authenticate(req.msg, realm, hdr, t), flags);
    }
    req.vars.set(AUTH_RESULT_VAR, r);
    if (r.outcome === "ok") {
      d.stats.inc("success");
      req.vars.set("auth:username", r.credentials!.username);
      req.vars.set("auth:realm", realm);
    } else if (FAILURES.has(r.outcome)) {
      d.stats.inc("failure");
      if (r.outcome === "malformed") d.stats.inc("malformed");
      d.events.publish("security.auth_failed", {
        user: r.username,
        realm,
        source: req.source.address,
        port: req.source.port,
        method: req.method,
        reason: r.outcome,
      });
    } else if (r.outcome === "stale-nonce") {
      d.stats.inc("stale");
    }
    return r;
  };

  const send = (req: RequestContext, realm: string, flags: number, algs: readonly string[] | undefined, www: boolean): boolean => {
    let list = d.algorithms;
    if (algs && algs.length > 0) {
      const parsed = algs.map((a) => algorithmInfo(a)).filter((a): a is AlgorithmInfo => a !== null && !a.sess);
      if (parsed.length > 0) list = parsed;
    }
    const last = req.vars.get(AUTH_RESULT_VAR) as AuthResult | undefined;
    const stale = last !== undefined && last.stale && last.realm === realm;
    const values = buildChallenges(realm, d.nonces.issue(), list, flags, stale);
    const name = www ? "WWW-Authenticate" : "Proxy-Authenticate";
    d.stats.inc("challenges");
    return req.reply(www ? 401 : 407, www ? "Unauthorized" : "Proxy Authentication Required", {
      headers: values.map((v) => [name, v] as const),
    });
  };

  return {
    codes: AuthCode,
    check: (req, realm, table = "subscriber", flags = 0) =>
      run(req, realm, req.method === "REGISTER" ? "Authorization" : "Proxy-Authorization", table, flags).code,
    verify: (req, realm, opts = {}) =>
      run(req, realm, opts.header ?? (req.method === "REGISTER" ? "Authorization" : "Proxy-Authorization"), opts.table ?? "subscriber", opts.flags ?? 0),
    wwwAuthorize: (req, realm, table = "subscriber") => run(req, realm, "Authorization", table, 0).code,
    proxyAuthorize: (req, realm, table = "subscriber") => run(req, realm, "Proxy-Authorization", table, 0).code,
    challenge: (req, realm, flags = 1, algs) => send(req, realm, flags, algs, req.method === "REGISTER"),
    wwwChallenge: (req, realm, flags = 1, algs) => send(req, realm, flags, algs, true),
    proxyChallenge: (req, realm, flags = 1, algs) => send(req, realm, flags, algs, false),
    consumeCredentials(req) {
      const last = req.vars.get(AUTH_RESULT_VAR) as AuthResult | undefined;
      if (!last || last.header === null || last.headerIndex < 0 || last.code !== AuthCode.OK) return false;
      // only the field that authorized the request goes; credentials for other realms stay in place
      return req.removeHeaderAt(last.header, last.headerIndex);
    },
    hasCredentials(req, realm) {
      for (const h of ["Authorization", "Proxy-Authorization"] as const) {
        const f = findCredentials(req.msg, h, realm);
        if (f !== null && "cred" in f) return true;
      }
      return false;
    },
    credentialsUser(req, realm) {
      for (const h of ["Authorization", "Proxy-Authorization"] as const) {
        for (const v of req.msg.headerAll(h)) {
          const m = /^\s*digest\s/i.test(v) ? findUser(v, realm) : null;
          if (m !== null) return m;
        }
      }
      return null;
    },
    createFailureLimiter: (opts) => new AuthFailureLimiter(opts),
  };
}

function findUser(value: string, realm: string | undefined): string | null {
  const p = parseCredentials(value);
  if (p.kind !== "digest") return null;
  if (realm !== undefined && p.cred.realm.toLowerCase() !== realm.toLowerCase()) return null;
  return p.cred.username;
}
