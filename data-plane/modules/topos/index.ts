import { defineModule, defineRpc, RpcCode, RpcError } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import { Topos } from "./hide.js";
import { toposParams, type ToposParams } from "./params.js";
import type { ToposStore } from "./store.js";

export { Topos } from "./hide.js";
export type { DialogRecord, BranchRecord, ToposStore } from "./store.js";

/** The topos script API: nothing to call (the module works on the wire once loaded), state for tests and tools. */
export interface ToposApi {
  readonly engine: Topos;
  /** Waits until queued store writes are done. */
  flush(): Promise<void>;
}

export const TOPOS_COUNTERS = [
  "dialogs",
  "hidden_requests",
  "hidden_replies",
  "restored_requests",
  "restored_replies",
  "loaded",
  "not_found",
  "store_errors",
  "store_timeouts",
] as const;

const instances = new LiveInstances<ToposApi>();

/** topos: topology hiding with stored state (Kamailio topos, topos_redis). */
export default defineModule<ToposApi, ToposParams>({
  name: "topos",
  doc: "Topology hiding: Via, Record-Route, Contact (and Call-ID) of each side hidden from the other, state in memory, Redis or MySQL",
  params: toposParams,
  rpc: ["topos.info"],
  stats: { group: "topos", counters: [...TOPOS_COUNTERS] },
  async init(host) {
    const p = host.config;
    const stats = host.stats.group("topos", [...TOPOS_COUNTERS]);
    let store: ToposStore | null = null;
    if (p.storage === "redis") {
      const { ToposRedisStore } = await import("./redis-store.js");
      store = new ToposRedisStore(p.redis_url!, p.redis_prefix, host.log);
    } else if (p.storage === "db") {
      const { ToposDbStore } = await import("./db-store.js");
      store = new ToposDbStore(p.db_url!, host.log, p.dialog_expire);
    }
    const engine = new Topos(
      {
        maskCallId: p.mask_callid,
        branchExpireMs: p.branch_expire * 1000,
        dialogExpireMs: p.dialog_expire * 1000,
        contactHost: p.contact_host,
        loadTimeoutMs: p.load_timeout_ms,
      },
      store,
      stats,
      host.log,
    );
    // a host without a wire hook (unit tests' fake host) gets the engine unplugged
    const off = host.sip.setWireHook ? host.sip.setWireHook(engine) : () => {};
    const timer = setInterval(() => {
      engine.sweep();
      store?.clean(p.dialog_expire, p.branch_expire).catch((e: unknown) => host.log.warn("topos: clean failed", { error: (e as Error).message }));
    }, p.clean_interval * 1000);
    timer.unref();
    host.rpc.register(
      defineRpc({
        name: "topos.info",
        doc: "Storage, cached dialog count and store errors",
        params: [],
        returns: "{storage, mask_callid, dialogs_cached, store_errors}",
        handler: () => {
          if (!engine) throw new RpcError(RpcCode.ServerError, "topos not running");
          return { storage: p.storage, mask_callid: p.mask_callid ? 1 : 0, dialogs_cached: engine.dialogs.size, store_errors: store?.errors ?? 0 };
        },
      }),
    );
    const api: ToposApi = { engine, flush: () => store?.flush() ?? Promise.resolve() };
    instances.add(api, async () => {
      clearInterval(timer);
      off();
      await store?.close();
    });
    return api;
  },
  destroy(api) {
    return instances.destroy(api);
  },
});
