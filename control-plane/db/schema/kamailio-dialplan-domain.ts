/**
 * Kamailio's dialplan and domain module tables, column for column as in Kamailio 5.6's MySQL
 * scripts (/usr/share/kamailio/mysql/{dialplan,domain}-create.sql). Table kinds `dialplan` and
 * `domain` (domain + domain_attrs); migration 0005_kamailio_dialplan_domain. `domain_name`
 * (carrierroute's routing domains) is a different table, in kamailio-routing.ts.
 */
import { datetime, index, int, mysqlTable, unique, varchar } from "drizzle-orm/mysql-core";

/** `dialplan` v2 (dialplan-create.sql): translation rules; match_op 0 equal, 1 regex, 2 fnmatch. */
export const dialplan = mysqlTable("dialplan", {
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  dpid: int("dpid").notNull(),
  pr: int("pr").notNull(),
  match_op: int("match_op").notNull(),
  match_exp: varchar("match_exp", { length: 64 }).notNull(),
  match_len: int("match_len").notNull(),
  subst_exp: varchar("subst_exp", { length: 64 }).notNull(),
  repl_exp: varchar("repl_exp", { length: 256 }).notNull(),
  attrs: varchar("attrs", { length: 64 }).notNull(),
});

/** `domain` v2 (domain-create.sql): the local domains; did NULL = the domain itself. */
export const domain = mysqlTable(
  "domain",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    domain: varchar("domain", { length: 64 }).notNull(),
    did: varchar("did", { length: 64 }),
    last_modified: datetime("last_modified", { mode: "string" }).notNull().default("2000-01-01 00:00:01"),
  },
  (t) => [unique("domain_idx").on(t.domain)],
);

/** `domain_attrs` v1 (domain-create.sql): attributes of a did; type 0 integer, 2 string. */
export const domain_attrs = mysqlTable(
  "domain_attrs",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    did: varchar("did", { length: 64 }).notNull(),
    name: varchar("name", { length: 32 }).notNull(),
    type: int("type", { unsigned: true }).notNull(),
    value: varchar("value", { length: 255 }).notNull(),
    last_modified: datetime("last_modified", { mode: "string" }).notNull().default("2000-01-01 00:00:01"),
  },
  (t) => [index("domain_attrs_idx").on(t.did, t.name)],
);
