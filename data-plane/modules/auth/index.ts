import { defineModule } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import { createAuthApi, type AuthApi } from "./auth-api.js";
import { DigestAuthenticator } from "./authenticate.js";
import { NonceManager, randomSecret } from "./nonce.js";
import { NonceTracker, type NonceUses } from "./nonce-tracker.js";
import { SharedNonceTracker } from "./shared-nonce-tracker.js";

/** With workers, the shared replay table holds at most this many nonces (8 cells each: 16 MiB of the 64 MiB arena). */
const SHARED_NONCES_MAX = 1 << 19;

/**
 * The node's random secret in shared memory (cell 0: 0 unset, 1 being written, 2 set; then 8
 * words): the first worker to start writes it, the others wait for it; a restarted worker reads it.
 */
function nodeSecret(cells: Int32Array): Buffer {
  if (Atomics.compareExchange(cells, 0, 0, 1) === 0) {
    const b = randomSecret();
    for (let i = 0; i < 8; i++) cells[1 + i] = b.readInt32LE(i * 4);
    Atomics.store(cells, 0, 2);
    Atomics.notify(cells, 0);
  } else {
    while (Atomics.load(cells, 0) !== 2) Atomics.wait(cells, 0, 1, 100);
  }
  const out = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) out.writeInt32LE(Atomics.load(cells, 1 + i), i * 4);
  return out;
}
import { authParams, type AuthParams } from "./params.js";
import { SubscriberTable } from "../../../tables/subscriber/table.js";
import { createSubscriberSink } from "./subscriber-sink.js";

export type { AuthApi } from "./auth-api.js";
export { AUTH_RESULT_VAR, AuthCheckFlag } from "./auth-api.js";
export { AuthCode } from "./authenticate.js";
export type { AuthResult, AuthOutcome, CredentialsHeader } from "./authenticate.js";
export { ChallengeFlag } from "./challenge.js";
export { AuthFailureLimiter, MemoryCounterStore } from "./failure-limiter.js";
export type { CounterStore, FailureLimiterOptions } from "./failure-limiter.js";
export { compileSubscriberRows, compileSubscriberSet } from "../../../tables/subscriber/table.js";
export { parseCredentials } from "../../core/kit/index.js";
export type { CredentialsParse, DigestCredentials } from "../../core/kit/index.js";

/** Nonce-tracker sweep timer of each live instance by its API (destroy(api) stops one, destroy() all). */
const timers = new LiveInstances<AuthApi>();

/**
 * auth: SIP Digest authentication (Kamailio auth + auth_db): credentials checks against the
 * `subscriber` table (table kind "subscriber"), stateless HMAC nonces shared by every node with
 * the same secret, replay protection by nc tracking, challenges with MD5 / SHA-256 / SHA-512-256.
 */
export default defineModule<AuthApi, AuthParams>({
  name: "auth",
  doc: "SIP Digest authentication against the subscriber table (Kamailio auth/auth_db)",
  params: authParams,
  stats: { group: "auth", counters: ["success", "failure", "challenges", "stale", "malformed", "subscribers", "tracked_nonces"] },
  tables: ["subscriber"],
  init(host) {
    const p = host.config;
    if (p.secret === null) {
      host.log.warn("no auth secret configured: using a random one; nonces will not work across nodes or restarts");
    }
    const node = host.node && host.node.count > 1 ? host.node : null;
    // workers: one random secret for the node (shared memory), one replay table for the node
    const secret = p.secret ?? (node ? nodeSecret(node.sharedInt32("auth-secret", 9)) : randomSecret());
    const nonces = new NonceManager({ secret, expireSec: p.nonce_expire, maxDriftSec: p.nonce_auth_max_drift });
    const slots = Math.min(p.max_tracked_nonces, SHARED_NONCES_MAX);
    const tracker: NonceUses | null = !(p.nonce_count || p.one_time_nonce)
      ? null
      : node
        ? new SharedNonceTracker(node.sharedInt32("auth-nonces", SharedNonceTracker.cells(slots)), slots)
        : new NonceTracker(p.max_tracked_nonces);
    const authenticator = new DigestAuthenticator({
      nonces,
      tracker,
      oneTimeNonce: p.one_time_nonce,
      calculateHa1: p.calculate_ha1,
      useDomain: p.use_domain,
    });
    let tables = new Map<string, SubscriberTable>([["subscriber", SubscriberTable.empty()]]);
    const subscribers = createSubscriberSink({
      log: host.log,
      needPassword: p.algorithms.filter((a) => a.hash !== "md5").map((a) => a.token),
      onApply: (t) => {
        tables = new Map([["subscriber", t]]);
      },
    });
    host.tables.register(subscribers.sink);
    const stats = host.stats.group("auth", ["success", "failure", "challenges", "stale", "malformed"]);
    stats.gauge("subscribers", () => tables.get("subscriber")?.size ?? 0);
    stats.gauge("tracked_nonces", () => tracker?.size ?? 0);
    const api = createAuthApi({
      authenticator,
      nonces,
      tables: () => tables,
      algorithms: p.algorithms,
      useDomain: p.use_domain,
      events: host.events,
      log: host.log,
      stats,
    });
    if (tracker) {
      const t = setInterval(() => tracker.sweep(), 30_000);
      t.unref();
      timers.add(api, () => clearInterval(t));
    }
    return api;
  },
  destroy(api) {
    return timers.destroy(api);
  },
});
