import { defineModule } from "../../core/api.js";
import type { LocationTable } from "./location-table.js";
import { MysqlLocationStore } from "./mysql-store.js";
import { type UsrlocParams, usrlocParams } from "./params.js";
import { RedisLocationStore } from "./redis-store.js";
import { usrlocRpcMethods } from "./rpc.js";
import type { LocationStore } from "./store.js";
import { Usrloc } from "./usrloc.js";

/**
 * What other modules (registrar, nathelper) and routing scripts get from usrloc: the location
 * tables and the AoR rules. Changes made through a table are written to storage and published
 * as `registration.*` events by the module.
 */
export interface UsrlocApi {
  readonly params: UsrlocParams;
  /** The named table, created on first use (Kamailio registers one udomain per table name). */
  table(name: string): LocationTable;
  /** An existing table, or undefined. */
  existing(name: string): LocationTable | undefined;
  tables(): LocationTable[];
  /** AoR of an RPC argument (rpc_fix_aor), or null when a domain is required but missing. */
  normalizeAor(aor: string): string | null;
  /** Branch-flag mask of NATed contacts (nat_bflag), 0 when unset. */
  readonly natMask: number;
  /** Resolves once the tables are loaded from storage. */
  ready(): Promise<void>;
  /** Writes pending changes now. */
  flush(): Promise<void>;
}

/**
 * Running instances, oldest first. `destroy()` gets no argument from the core, so with several
 * data planes in one process (tests) the oldest instance is closed first.
 */
const running: Usrloc[] = [];

/**
 * usrloc: the location service (Kamailio usrloc) — in-memory location tables with an expiry heap,
 * MySQL write-through/write-back (db_mode 1/2) or a Redis store shared by a fleet of data planes,
 * ul.* RPCs, `usrloc:*` statistics and `registration.*` events. See README.md.
 */
export default defineModule<UsrlocApi, UsrlocParams>({
  name: "usrloc",
  doc: "Location service: registered contacts in memory, MySQL or a Redis store shared by several nodes (Kamailio usrloc)",
  params: usrlocParams,
  async init(host) {
    const params = host.config;
    let store: LocationStore | null = null;
    let redis: RedisLocationStore | null = null;
    if (params.backend === "mysql") {
      store = new MysqlLocationStore(params.db_url!, { mode: params.db_mode as 1 | 2, useDomain: params.use_domain, timerIntervalS: params.timer_interval, log: host.log });
    } else if (params.backend === "redis") {
      redis = await RedisLocationStore.connect(params.db_url!, { prefix: params.redis_prefix, useDomain: params.use_domain, log: host.log });
      store = redis;
    }
    const ul = new Usrloc({ params, events: host.events, log: host.log, store, stats: host.stats.group("usrloc") });
    try {
      for (const t of params.tables) ul.table(t);
      await ul.ready();
      redis?.start((msg, row, own) => ul.applyReplicated(msg, row, own));
    } catch (e) {
      await ul.close().catch(() => undefined);
      throw e;
    }
    host.rpc.registerAll(usrlocRpcMethods(ul));
    running.push(ul);
    return ul;
  },
  async destroy() {
    await running.shift()?.close();
  },
});

export { Binding, ALL_METHODS, Q_UNSPECIFIED, ContactFlag, METHOD_BITS, methodBit, parseMethods, allowsMethod, formatQ, parseQ } from "./binding.js";
export type { BindingInfo } from "./binding.js";
export { LocationTable, nowSeconds } from "./location-table.js";
export type { ChangeKind, ChangeOrigin } from "./location-table.js";
export { MatchCode, matchContact } from "./match-contact.js";
export type { MatchQuery, MatchResult } from "./match-contact.js";
export { parseUsrlocParams } from "./params.js";
export type { UsrlocParams } from "./params.js";
export { Usrloc, REGISTRATION_EVENTS } from "./usrloc.js";
export { rowOf, infoOfRow, LOCATION_COLUMNS } from "./location-row.js";
export type { LocationRow } from "./location-row.js";
export { MysqlLocationStore } from "./mysql-store.js";
export { RedisLocationStore } from "./redis-store.js";
export { dumpContact, usrlocRpcMethods } from "./rpc.js";
