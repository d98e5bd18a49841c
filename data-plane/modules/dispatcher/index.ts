import { defineModule } from "../../core/api.js";
import type { DispatcherApi } from "./api.js";
import { startDispatcher, type DispatcherModule } from "./dispatcher.js";
import { dispatcherParams, type DispatcherParams } from "./params.js";

/**
 * Olelo's dispatcher: Kamailio's load balancer (destination sets, algorithms 0–15 and 64,
 * failover lists, keepalive probing, RPCs) with the fixes users asked for — serialised reloads,
 * runtime state kept across reloads, events for destinations that start down, per-destination
 * counters. See README.md in this folder.
 *
 * @example
 *   // olelo.yaml: modules: { dispatcher: { list_file: "dispatcher.list", ping_interval: 10, probing_mode: 1 } }
 *   const ds = modules.dispatcher as DispatcherApi;
 *   if (!ds.selectDst(req, 1, 4)) req.reply(404, "No destination");
 */
let current: DispatcherModule | null = null;

export default defineModule<DispatcherApi, DispatcherParams>({
  name: "dispatcher",
  doc: "Load balancing and failover over destination sets, with keepalive probing (Kamailio dispatcher)",
  params: dispatcherParams,
  rpc: ["dispatcher.add", "dispatcher.hash", "dispatcher.list", "dispatcher.oclist", "dispatcher.ping_active", "dispatcher.reload", "dispatcher.remove", "dispatcher.set_duid_state", "dispatcher.set_state", "dispatcher.stats"],
  stats: { group: "dispatcher", counters: ["selected", "no_destination", "failovers", "probes_sent", "probe_failures", "state_changes", "reloads", "reload_failures"] },
  tables: ["dispatcher"],
  async init(host) {
    current = await startDispatcher(host, host.config);
    return current.api;
  },
  destroy() {
    current?.destroy();
    current = null;
  },
});

export type { DispatcherApi, SelectOptions, CurrentDst, SetSummary } from "./api.js";
export { compileDispatcherTables, type CompiledDispatcher, type DispatcherRow } from "../../../tables/dispatcher/table.js";
export { parseListFile } from "./parse-list-file.js";
export { createDispatcher, startDispatcher, type DispatcherModule, type DispatcherDeps } from "./dispatcher.js";
export { ALG } from "./select/select.js";
