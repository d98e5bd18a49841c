/**
 * Olelo's call-forwarding tables (table kind `callfwd`), exactly as the data plane's callfwd
 * module documents them (data-plane/modules/callfwd/README.md, "Tables"). Kamailio has no such
 * tables (it builds forwarding from avpops/sqlops scripts), so they carry the `olelo_` prefix and
 * have no `version` row. `cf_type` / `list_type` are VARCHAR like the module's DDL; their values
 * (unconditional | busy | noanswer | unavailable, deny | allow) are checked by the module's compile
 * function, which the control plane runs on every write (a bad value is a 422 naming the row).
 */
import { int, mysqlTable, tinyint, unique, varchar } from "drizzle-orm/mysql-core";

/** `olelo_callfwd`: one forwarding rule per user (and domain, '' = any) and type. */
export const olelo_callfwd = mysqlTable(
  "olelo_callfwd",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    username: varchar("username", { length: 64 }).notNull().default(""),
    domain: varchar("domain", { length: 64 }).notNull().default(""),
    cf_type: varchar("cf_type", { length: 16 }).notNull(),
    target: varchar("target", { length: 255 }).notNull(),
    timeout: int("timeout", { unsigned: true }).notNull().default(0),
    enabled: tinyint("enabled").notNull().default(1),
    description: varchar("description", { length: 64 }).notNull().default(""),
  },
  (t) => [unique("callfwd_idx").on(t.username, t.domain, t.cf_type)],
);

/** `olelo_callblock`: a user's caller deny / allow list entries (user, user@domain, prefix*, *). */
export const olelo_callblock = mysqlTable(
  "olelo_callblock",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    username: varchar("username", { length: 64 }).notNull().default(""),
    domain: varchar("domain", { length: 64 }).notNull().default(""),
    list_type: varchar("list_type", { length: 8 }).notNull(),
    caller: varchar("caller", { length: 128 }).notNull(),
    description: varchar("description", { length: 64 }).notNull().default(""),
  },
  (t) => [unique("callblock_idx").on(t.username, t.domain, t.list_type, t.caller)],
);
