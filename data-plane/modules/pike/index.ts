import { defineModule, WindowCounters } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import type { RequestContext } from "../../core/api.js";
import { FloodGuard, htableBanStore, type BanStore, type FloodGuardOptions, type HtableLike } from "./flood-guard.js";
import { pikeParams, type PikeParams } from "./params.js";
import { PikeDetector, type PikeResult } from "./pike-detector.js";
import { RedisBanSync } from "./redis-bans.js";
import { pikeRpcMethods } from "./rpc.js";

export { FloodGuard, MemoryBanStore, htableBanStore } from "./flood-guard.js";
export type { BanStore, FloodVerdict, FloodGuardOptions, HtableLike } from "./flood-guard.js";
export { PikeDetector } from "./pike-detector.js";
export type { PikeResult, PikeOptions, PikeTopRow } from "./pike-detector.js";

/**
 * The pike script API.
 *
 * @example
 *   // REQINIT, Kamailio style
 *   if (pike.checkReq(req) < 0) { htable.setxi("ipban", req.source.address, 1, 300); return; }
 *   // or with the guard (bans, events, trusted exemption):
 *   if (pike.guard.check(req.source.address) !== "ok") return;
 */
export interface PikeApi {
  /** [pike_check_req] counts the request's source address: 1 ok, -1 known flooder, -2 newly detected. */
  checkReq(req: RequestContext): PikeResult;
  /** [pike_check_ip(ip)] same for any address text. */
  checkIp(ip: string): PikeResult;
  /** The module's detector (shared by checkReq/checkIp and pike.top). */
  readonly detector: PikeDetector;
  /**
   * The default ipban guard over the detector (ban_time seconds, in-memory bans). Wire it with
   * `guard.setStore(htableBanStore(htable.table("ipban")))` and `guard.setTrustCheck(permissions.isTrusted)`;
   * the core calls `guard.isBanned(ip)` before parsing.
   */
  readonly guard: FloodGuard;
  /** Another guard over the same detector (different ban time or store). */
  createFloodGuard(opts?: Partial<Omit<FloodGuardOptions, "detector">>): FloodGuard;
  /**
   * A ban store over an htable table (Kamailio's `ipban` htable), for `guard.setStore`, so scripts
   * need not import module files: `pike.guard.setStore(pike.htableBanStore(htable.table("ipban")))`.
   */
  htableBanStore(table: HtableLike): BanStore;
  /** Whether the guard drops banned sources before parsing (param `ipban` and a core with receive filters). */
  readonly preParse: boolean;
}

/**
 * Cleanup of each live instance (sweep timer, receive filter) by its API: destroy(api) stops that
 * instance only (two data planes in one process), destroy() every instance.
 */
const instances = new LiveInstances<PikeApi>();

/** pike: per-source request-density flood detection (Kamailio pike) and the ipban FloodGuard. */
export default defineModule<PikeApi, PikeParams>({
  name: "pike",
  doc: "Flood detection per source address and ban list (Kamailio pike + ipban)",
  params: pikeParams,
  rpc: ["pike.top", "pike.list", "pike.bans", "pike.unban"],
  stats: { group: "pike", counters: ["blocked", "banned", "dropped", "tracked", "untracked"] },
  init(host) {
    const p = host.config;
    const stats = host.stats.group("pike", ["blocked", "banned", "dropped"]);
    const detector = new PikeDetector(
      {
        samplingTimeUnit: p.sampling_time_unit,
        reqsDensityPerUnit: p.reqs_density_per_unit,
        removeLatency: p.remove_latency,
        maxEntries: p.max_entries,
        ipv6Prefix: p.ipv6_prefix,
      },
      () => Date.now(),
      stats,
    );
    if (host.node && host.node.count > 1) {
      // workers: one density per source address for the whole node (core/workers/README.md)
      const slots = Math.max(1024, Math.min(1 << 20, p.max_entries));
      detector.shared = new WindowCounters(host.node.sharedInt32("pike", WindowCounters.cells(slots)), slots);
    }
    stats.gauge("tracked", () => detector.size);
    stats.gauge("untracked", () => detector.untracked);
    const log = host.log;
    const mk = (opts: Partial<Omit<FloodGuardOptions, "detector">> = {}) =>
      new FloodGuard({
        detector,
        banSeconds: p.ban_time,
        events: host.events,
        log,
        stats,
        ipv6Prefix: p.ipv6_prefix,
        ...opts,
      });
    const guard = mk();
    const t = setInterval(
      () => {
        detector.sweep();
        guard.sweep();
      },
      Math.min(p.sampling_time_unit, p.remove_latency, 10) * 1000,
    );
    t.unref();
    host.rpc.registerAll(pikeRpcMethods(detector, guard));
    const sync = p.redis_url ? new RedisBanSync(p.redis_url, p.redis_prefix, host.events.node, guard, log) : null;
    let preParse = false;
    let off: (() => void) | undefined;
    if (p.ipban) {
      // ipban before parsing: one lookup per datagram / stream message and per TCP accept
      off = host.sip.addReceiveFilter?.((src) => guard.isBanned(src.address));
      if (off) {
        preParse = true;
      } else {
        log.warn("the core has no receive filter hook: banned sources are only dropped by guard.check() in the script");
      }
    }
    const api: PikeApi = {
      checkReq: (req) => detector.check(req.source.address),
      checkIp: (ip) => detector.check(ip),
      detector,
      guard,
      createFloodGuard: mk,
      htableBanStore: (table) => htableBanStore(table),
      preParse,
    };
    instances.add(api, () => {
      clearInterval(t);
      off?.();
      sync?.close();
    });
    return api;
  },
  destroy(api) {
    return instances.destroy(api);
  },
});
