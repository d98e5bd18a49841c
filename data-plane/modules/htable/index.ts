import { replicateTables } from "./workers.js";
import { defineModule } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import type { TableSink } from "../../core/api.js";
import { createHtableApi, type HtableApi } from "./htable-api.js";
import { HtableManager } from "./htable-manager.js";
import { htableParams, type HtableParams } from "./params.js";
import { htableRpcMethods } from "./rpc.js";
import { compileHtableSet, type HtRow } from "../../../tables/htable/table.js";

export type { HtableApi } from "./htable-api.js";
export type { HashTable, HtValue, HtItem, HtMatchOp, HtableDefinition } from "./hash-table.js";
export { HTABLE_EXPIRED_EVENT } from "./htable-manager.js";
export { compileHtableRows } from "../../../tables/htable/table.js";
export { parseHtableDefinition } from "./params.js";

/**
 * Manager of each live instance by its API, closed by destroy(api) (timer cleared, dbmode=1 written
 * back, pool closed); destroy() closes every instance.
 */
const live = new LiveInstances<HtableApi>();

/**
 * htable: named in-memory key/value tables (Kamailio htable module) — counters, ban lists, caches —
 * with per-item expiry, an expiry sweep publishing `htable.expired`, optional MySQL load/store in
 * Kamailio's `htable` table shape, and table kind "htable" for rows pushed by the control plane.
 */
export default defineModule<HtableApi, HtableParams>({
  name: "htable",
  doc: "Named in-memory key/value tables with expiry (Kamailio htable)",
  params: htableParams,
  rpc: ["htable.get", "htable.delete", "htable.sets", "htable.seti", "htable.setex", "htable.setxs", "htable.setxi", "htable.dump", "htable.flush", "htable.listTables", "htable.reload", "htable.store", "htable.stats"],
  stats: { group: "htable", counters: ["tables", "items"] },
  tables: ["htable"],
  async init(host) {
    const params = host.config;
    const mgr = new HtableManager(params, host.events, host.log);
    const stats = host.stats.group("htable", []);
    stats.gauge("tables", () => mgr.tables.size);
    stats.gauge("items", () => {
      let n = 0;
      for (const t of mgr.tables.values()) n += t.storedCount;
      return n;
    });

    const dbtables = mgr.dbtables();
    const sink: TableSink<Map<string, HtRow[]>> = {
      kind: "htable",
      tables: dbtables.size > 0 ? [...dbtables] : ["htable"],
      compile: (set) => compileHtableSet(set, dbtables),
      // what the control plane validates a pushed version with (tables/kinds.ts, kind "htable")
      options: { dbtables: [...dbtables].sort() },
      apply(compiled) {
        for (const [dbtable, rows] of compiled) mgr.applyRows(dbtable, rows);
      },
    };
    host.tables.register(sink);

    try {
      await mgr.loadAll();
    } catch (e) {
      await mgr.close();
      throw new Error(`htable: loading from the database failed: ${(e as Error).message}`);
    }
    if (host.node && host.node.count > 1) replicateTables(host.node, mgr.tables);
    mgr.start();
    host.rpc.registerAll(htableRpcMethods(mgr, () => host.tables.sourceOf("htable")));
    const api = createHtableApi(mgr);
    live.add(api, () => mgr.close());
    return api;
  },
  destroy(api) {
    return live.destroy(api);
  },
});
