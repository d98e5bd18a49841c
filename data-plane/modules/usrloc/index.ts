import { defineModule } from "../../core/api.js";
import type { UsrlocApi } from "./api.js";
import { MysqlLocationStore } from "./mysql-store.js";
import { type UsrlocParams, usrlocParams } from "./params.js";
import { RedisLocationStore } from "./redis-store.js";
import { usrlocRpcMethods } from "./rpc.js";
import type { LocationStore } from "./store.js";
import { Usrloc } from "./usrloc.js";

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
  rpc: ["ul.add", "ul.db_contacts", "ul.db_expired_contacts", "ul.db_users", "ul.dump", "ul.flush", "ul.lookup", "ul.rm", "ul.rm_contact"],
  stats: { group: "usrloc", counters: ["registered_users", "location-users", "location-contacts", "location-expires"] },
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
    const ul = new Usrloc({ params, events: host.events, log: host.log, store, stats: host.stats.group("usrloc"), node: host.node });
    try {
      for (const t of params.tables) ul.table(t);
      await ul.ready();
      redis?.start((msg, row, own) => ul.applyReplicated(msg, row, own));
      if (host.node && host.node.count > 1 && !redis) ul.joinWorkers(host.node);
    } catch (e) {
      await ul.close().catch(() => undefined);
      throw e;
    }
    host.rpc.registerAll(usrlocRpcMethods(ul));
    host.stats.families.gauge("olelo_usrloc_bindings", "Registered contacts (bindings) per location table", () =>
      ul.tables().map((t) => ({ labels: { table: t.name }, value: t.contactCount })),
    );
    running.push(ul);
    return ul;
  },
  async destroy() {
    await running.shift()?.close();
  },
});

export * from "./api.js";
export { Usrloc, REGISTRATION_EVENTS } from "./usrloc.js";
export { rowOf, infoOfRow, LOCATION_COLUMNS } from "./location-row.js";
export type { LocationRow } from "./location-row.js";
export { MysqlLocationStore } from "./mysql-store.js";
export { RedisLocationStore } from "./redis-store.js";
export { dumpContact, usrlocRpcMethods } from "./rpc.js";
