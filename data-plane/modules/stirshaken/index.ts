import { randomUUID } from "node:crypto";
import { registerLiveTable } from "../../core/kit/index.js";
import { defineModule, type RequestContext, type RequestState } from "../../core/api.js";
import { AttestTable, compileStirAttest, type AttestPolicy } from "../../../tables/stir-attest/attest-table.js";
import { createAddressPolicy } from "./address-policy.js";
import { CertCache, type CertCacheOptions } from "./cert-cache.js";
import { loadCredentials, type CredentialFiles, type CredentialStore } from "./credentials.js";
import { canonicalTn, formatIdentity, uriUser } from "./identity-header.js";
import { stirshakenParams, type StirshakenParams } from "./params.js";
import { signPassport } from "./passport.js";
import { stirshakenRpcMethods } from "./rpc.js";
import { applyVerstat } from "./verstat.js";
import { VERIFY_CODES, verifyIdentity, type VerifyOutcome } from "./verify.js";

export type { VerifyOutcome, VerifyResult, Verstat } from "./verify.js";
export type { AttestPolicy } from "../../../tables/stir-attest/attest-table.js";

/** req.vars key of the last verification's outcome (the script reads it with `result(req)`). */
export const RESULT_VAR = "stirshaken:result";

/** Overrides for signing; everything defaults from the request and the policy table. */
export interface SignOptions {
  /** Caller TN (default: P-Asserted-Identity user, else From user). */
  readonly origTn?: string;
  /** Callee TN (default: To user, else R-URI user). */
  readonly destTn?: string;
  /** A, B or C; default: the olelo_stir_attest row, else default_attest. */
  readonly attest?: "A" | "B" | "C";
  /** origid UUID; default: the row's, else a new one. */
  readonly origid?: string;
  /** Credential name (default: the row's, else "default"). */
  readonly credential?: string;
  /** Account to match (default: From user@domain). */
  readonly account?: string;
  /** Trunk name to match (a dispatcher set, socket name, gateway tag). */
  readonly trunk?: string;
}

export interface CheckOptions {
  /** Overrides on_failure for this call. */
  readonly onFailure?: "reject" | "mark" | "pass";
}

/**
 * The STIR/SHAKEN script API (Kamailio's stirshaken / secsipid functions).
 *
 * @example
 *   // originating side: sign calls of our customers
 *   if (ss.stirshaken_add_identity(req, { trunk: "pbx-1" }) < 0) req.log.warn("not signed");
 *   // terminating side: verify (the transaction stays suspended while this awaits)
 *   const rc = await ss.stirshaken_check_identity(req); // 1 passed; < 0 see README; rejected already when on_failure is reject
 *   if (rc < 0 && ss.result(req)?.result !== "no_identity") req.log.info("identity failed");
 */
export interface StirshakenApi {
  readonly params: StirshakenParams;
  /** Builds, signs and adds the Identity header. 1 added, -1 no TN, -2 no attestation, -3 no credential. */
  stirshaken_add_identity(req: RequestContext, opts?: SignOptions): number;
  /**
   * Verifies the Identity header, sets verstat on P-Asserted-Identity (else From) and applies
   * on_failure. 1 passed, -1 no Identity, -2 invalid, -3 unsupported, -4 x5u unusable, -5 untrusted
   * chain, -6 bad signature, -7 stale iat, -8 TN mismatch, -9 timeout; -10 when it replied (reject).
   */
  stirshaken_check_identity(req: RequestContext, opts?: CheckOptions): Promise<number>;
  /** The outcome of the last check on this request, or null. */
  result(req: RequestState): VerifyOutcome | null;
  /** The attestation policy row for a request (account, trunk, source), or null. */
  attestFor(req: RequestState, trunk?: string | null, account?: string | null): AttestPolicy | null;
}

const RESULTS = Object.keys(VERIFY_CODES);
const COUNTERS = ["signed", "sign_failed", ...RESULTS, "rejected"];
const GAUGES = ["x5u_fetches", "x5u_cache_hits"];
const RPCS = ["stirshaken.reload", "stirshaken.status", "stirshaken.cache_list", "stirshaken.cache_clear", "stirshaken.check"];

function credentialFiles(p: StirshakenParams, resolve: (s: string) => string): CredentialFiles {
  const specs = [...p.credentials];
  if (p.key_file || p.x5u) {
    if (!p.key_file || !p.x5u) throw new Error("stirshaken: key_file and x5u go together");
    specs.unshift({ name: "default", key_file: p.key_file, x5u: p.x5u, ...(p.cert_file ? { cert_file: p.cert_file } : {}) });
  }
  return {
    specs: specs.map((s) => ({ ...s, key_file: resolve(s.key_file), ...(s.cert_file ? { cert_file: resolve(s.cert_file) } : {}) })),
    caFiles: p.ca_file.map(resolve),
    fetchCaFile: p.x5u_tls_ca_file ? resolve(p.x5u_tls_ca_file) : null,
  };
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

const callerUser = (req: RequestState): string | null => {
  const pai = req.msg.headerValues("P-Asserted-Identity");
  for (const v of pai) {
    const u = uriUser(v);
    if (canonicalTn(u)) return u;
  }
  return uriUser(req.msg.from.uriText);
};

/**
 * stirshaken: STIR/SHAKEN signing (authentication service) and verification (RFC 8224, 8225,
 * 8588; ATIS-1000074) with the attestation policy of table kind stir_attest.
 */
export default defineModule<StirshakenApi, StirshakenParams>({
  name: "stirshaken",
  doc: "STIR/SHAKEN: sign (Identity header, PASSporT ES256) and verify (x5u, chain, iat, TN, verstat)",
  params: stirshakenParams,
  rpc: RPCS,
  stats: { group: "stirshaken", counters: [...COUNTERS, ...GAUGES] },
  tables: ["stir_attest"],
  async init(host) {
    const p = host.config;
    const files = credentialFiles(p, (s) => host.resolvePath(s));
    let store: CredentialStore = await loadCredentials(files);
    const policy = createAddressPolicy(p.x5u_allow);
    const cacheOpts = (): CertCacheOptions => ({ ttlMs: p.cache_expire * 1000, maxEntries: p.cache_size, maxBytes: p.x5u_max_bytes, timeoutMs: p.timeout * 1000, policy, ca: store.fetchCa });
    const certs = new CertCache(cacheOpts());
    const stats = host.stats.group("stirshaken", COUNTERS);
    stats.gauge("x5u_fetches", () => certs.fetches, true);
    stats.gauge("x5u_cache_hits", () => certs.hits, true);
    const table = registerLiveTable(host.tables, "stir_attest", AttestTable.empty(), compileStirAttest);

    const attestFor = (req: RequestState, trunk?: string | null, account?: string | null): AttestPolicy | null => {
      let user: string | null = null;
      let domain: string | null = null;
      if (account) [user, domain] = account.includes("@") ? (account.split("@", 2) as [string, string]) : [account, null];
      else {
        const f = req.msg.from.uri;
        user = f?.user ? safeDecode(f.user) : null;
        domain = f?.host || null;
      }
      return table().lookup({ user, domain, trunk: trunk ?? null, source: req.source.address });
    };

    const verify = async (req: RequestState): Promise<VerifyOutcome> => {
      const to = canonicalTn(uriUser(req.msg.to.uriText));
      const ru = canonicalTn(req.ruriUser);
      const dest = [to, ru].filter((x): x is string => x !== null);
      return verifyIdentity(
        { identities: req.msg.headerAll("Identity"), origTn: canonicalTn(callerUser(req)), destTns: p.check_dest ? dest : null },
        { certs, anchors: store.anchors, freshnessS: p.expire, timeoutMs: p.verify_timeout_ms },
      );
    };

    host.rpc.registerAll(
      stirshakenRpcMethods({
        reload: async () => {
          store = await loadCredentials(files);
          certs.setOptions(cacheOpts());
          certs.clear();
          host.events.publish("stirshaken.reloaded", { credentials: store.credentials.size, anchors: store.anchors.length });
          return store;
        },
        store: () => store,
        certs,
        table,
        stats: () => Object.fromEntries([...COUNTERS, ...GAUGES].map((c) => [c, stats.get(c) ?? 0])),
      }),
    );

    return {
      params: p,
      attestFor,
      result: (req) => (req.vars.get(RESULT_VAR) as VerifyOutcome | undefined) ?? null,
      stirshaken_add_identity(req, opts = {}) {
        const origTn = canonicalTn(opts.origTn ?? callerUser(req));
        const destTn = canonicalTn(opts.destTn ?? uriUser(req.msg.to.uriText) ?? req.ruriUser);
        if (!origTn || !destTn) {
          stats.inc("sign_failed");
          return -1;
        }
        const row = opts.attest && opts.origid && opts.credential ? null : attestFor(req, opts.trunk, opts.account);
        const attest = opts.attest ?? row?.attest ?? (p.default_attest ? (p.default_attest.toUpperCase() as "A" | "B" | "C") : null);
        if (!attest) {
          stats.inc("sign_failed");
          return -2;
        }
        const cred = store.credentials.get(opts.credential || row?.credential || "default");
        if (!cred) {
          stats.inc("sign_failed");
          return -3;
        }
        const origid = opts.origid || row?.origid || randomUUID();
        const jwt = signPassport(cred.key, { x5u: cred.x5u }, { attest, dest: { tn: [destTn] }, iat: Math.floor(Date.now() / 1000), orig: { tn: origTn }, origid });
        req.addHeader("Identity", formatIdentity(jwt, cred.x5u));
        stats.inc("signed");
        return 1;
      },
      async stirshaken_check_identity(req, opts = {}) {
        const out = await verify(req);
        req.vars.set(RESULT_VAR, out);
        stats.inc(out.result);
        const mode = opts.onFailure ?? p.on_failure;
        if (out.code < 0) {
          host.events.publish("stirshaken.verify_failed", { result: out.result, detail: out.detail, callid: req.msg.callId, source: req.source.address, x5u: out.x5u });
          if (mode === "reject" && (out.result !== "no_identity" || p.require_identity)) {
            stats.inc("rejected");
            req.reply(out.sipCode, out.sipReason);
            return -10;
          }
        }
        if (mode !== "pass") applyVerstat(req, out.verstat);
        return out.code;
      },
    };
  },
});
