/**
 * Kamailio's routing tables, column for column as in Kamailio 5.6's MySQL scripts
 * (/usr/share/kamailio/mysql/{standard,dispatcher,lcr,drouting,carrierroute,mtree}-create.sql and
 * src/modules/prefix_route/prefix_route.sql). Names, types, defaults and unique keys are copied so
 * that a database created by Kamailio's own scripts and one created by Olelo's migrations are the
 * same, and kamctl/kamcli/Kamailio keep working on either.
 */
import { float, index, int, mysqlTable, smallint, tinyint, unique, varchar } from "drizzle-orm/mysql-core";

/** `version` (standard-create.sql): Kamailio checks `table_version` of each table it opens. */
export const version = mysqlTable(
  "version",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    table_name: varchar("table_name", { length: 32 }).notNull(),
    table_version: int("table_version", { unsigned: true }).notNull().default(0),
  },
  (t) => [unique("table_name_idx").on(t.table_name)],
);

/** `dispatcher` v4 (dispatcher-create.sql): one destination per row, grouped by setid. */
export const dispatcher = mysqlTable("dispatcher", {
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  setid: int("setid").notNull().default(0),
  destination: varchar("destination", { length: 192 }).notNull().default(""),
  flags: int("flags").notNull().default(0),
  priority: int("priority").notNull().default(0),
  attrs: varchar("attrs", { length: 128 }).notNull().default(""),
  description: varchar("description", { length: 64 }).notNull().default(""),
});

/** `lcr_gw` v3 (lcr-create.sql): LCR gateways; lcr_id 0 belongs to every instance. */
export const lcr_gw = mysqlTable(
  "lcr_gw",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    lcr_id: smallint("lcr_id", { unsigned: true }).notNull(),
    gw_name: varchar("gw_name", { length: 128 }),
    ip_addr: varchar("ip_addr", { length: 50 }),
    hostname: varchar("hostname", { length: 64 }),
    port: smallint("port", { unsigned: true }),
    params: varchar("params", { length: 64 }),
    uri_scheme: tinyint("uri_scheme", { unsigned: true }),
    transport: tinyint("transport", { unsigned: true }),
    strip: tinyint("strip", { unsigned: true }),
    prefix: varchar("prefix", { length: 16 }),
    tag: varchar("tag", { length: 64 }),
    flags: int("flags", { unsigned: true }).notNull().default(0),
    defunct: int("defunct", { unsigned: true }),
  },
  (t) => [index("lcr_id_idx").on(t.lcr_id)],
);

/** `lcr_rule_target` v1 (lcr-create.sql): which gateways a rule uses, with priority and weight. */
export const lcr_rule_target = mysqlTable(
  "lcr_rule_target",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    lcr_id: smallint("lcr_id", { unsigned: true }).notNull(),
    rule_id: int("rule_id", { unsigned: true }).notNull(),
    gw_id: int("gw_id", { unsigned: true }).notNull(),
    priority: tinyint("priority", { unsigned: true }).notNull(),
    weight: int("weight", { unsigned: true }).notNull().default(1),
  },
  (t) => [unique("rule_id_gw_id_idx").on(t.rule_id, t.gw_id), index("lcr_id_idx").on(t.lcr_id)],
);

/** `lcr_rule` v3 (lcr-create.sql): prefix / from_uri / request_uri match rules. */
export const lcr_rule = mysqlTable(
  "lcr_rule",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    lcr_id: smallint("lcr_id", { unsigned: true }).notNull(),
    prefix: varchar("prefix", { length: 16 }),
    from_uri: varchar("from_uri", { length: 64 }),
    request_uri: varchar("request_uri", { length: 64 }),
    mt_tvalue: varchar("mt_tvalue", { length: 128 }),
    stopper: int("stopper", { unsigned: true }).notNull().default(0),
    enabled: int("enabled", { unsigned: true }).notNull().default(1),
  },
  (t) => [unique("lcr_id_prefix_from_uri_idx").on(t.lcr_id, t.prefix, t.from_uri)],
);

/** `dr_gateways` v3 (drouting-create.sql). Primary key is `gwid`. */
export const dr_gateways = mysqlTable("dr_gateways", {
  gwid: int("gwid", { unsigned: true }).autoincrement().primaryKey().notNull(),
  type: int("type", { unsigned: true }).notNull().default(0),
  address: varchar("address", { length: 128 }).notNull(),
  strip: int("strip", { unsigned: true }).notNull().default(0),
  pri_prefix: varchar("pri_prefix", { length: 64 }),
  attrs: varchar("attrs", { length: 255 }),
  description: varchar("description", { length: 128 }).notNull().default(""),
});

/** `dr_rules` v3 (drouting-create.sql). Primary key is `ruleid`. */
export const dr_rules = mysqlTable("dr_rules", {
  ruleid: int("ruleid", { unsigned: true }).autoincrement().primaryKey().notNull(),
  groupid: varchar("groupid", { length: 255 }).notNull(),
  prefix: varchar("prefix", { length: 64 }).notNull(),
  timerec: varchar("timerec", { length: 255 }).notNull(),
  priority: int("priority").notNull().default(0),
  routeid: varchar("routeid", { length: 64 }).notNull(),
  gwlist: varchar("gwlist", { length: 255 }).notNull(),
  description: varchar("description", { length: 128 }).notNull().default(""),
});

/** `dr_gw_lists` v1 (drouting-create.sql): gateway lists referenced as `#id` from dr_rules.gwlist. */
export const dr_gw_lists = mysqlTable("dr_gw_lists", {
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  gwlist: varchar("gwlist", { length: 255 }).notNull(),
  description: varchar("description", { length: 128 }).notNull().default(""),
});

/** `dr_groups` v2 (drouting-create.sql): caller user@domain → routing group. */
export const dr_groups = mysqlTable("dr_groups", {
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  username: varchar("username", { length: 64 }).notNull(),
  domain: varchar("domain", { length: 128 }).notNull().default(""),
  groupid: int("groupid", { unsigned: true }).notNull().default(0),
  description: varchar("description", { length: 128 }).notNull().default(""),
});

/** `carrierroute` v3 (carrierroute-create.sql). */
export const carrierroute = mysqlTable("carrierroute", {
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  carrier: int("carrier", { unsigned: true }).notNull().default(0),
  domain: int("domain", { unsigned: true }).notNull().default(0),
  scan_prefix: varchar("scan_prefix", { length: 64 }).notNull().default(""),
  flags: int("flags", { unsigned: true }).notNull().default(0),
  mask: int("mask", { unsigned: true }).notNull().default(0),
  prob: float("prob").notNull().default(0),
  strip: int("strip", { unsigned: true }).notNull().default(0),
  rewrite_host: varchar("rewrite_host", { length: 255 }).notNull().default(""),
  rewrite_prefix: varchar("rewrite_prefix", { length: 64 }).notNull().default(""),
  rewrite_suffix: varchar("rewrite_suffix", { length: 64 }).notNull().default(""),
  description: varchar("description", { length: 255 }),
});

/** `carrierfailureroute` v2 (carrierroute-create.sql). */
export const carrierfailureroute = mysqlTable("carrierfailureroute", {
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  carrier: int("carrier", { unsigned: true }).notNull().default(0),
  domain: int("domain", { unsigned: true }).notNull().default(0),
  scan_prefix: varchar("scan_prefix", { length: 64 }).notNull().default(""),
  host_name: varchar("host_name", { length: 255 }).notNull().default(""),
  reply_code: varchar("reply_code", { length: 3 }).notNull().default(""),
  flags: int("flags", { unsigned: true }).notNull().default(0),
  mask: int("mask", { unsigned: true }).notNull().default(0),
  next_domain: int("next_domain", { unsigned: true }).notNull().default(0),
  description: varchar("description", { length: 255 }),
});

/** `carrier_name` v1 (carrierroute-create.sql): carrier id → name. */
export const carrier_name = mysqlTable("carrier_name", {
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  carrier: varchar("carrier", { length: 64 }),
});

/** `domain_name` v1 (carrierroute-create.sql): routing domain id → name. */
export const domain_name = mysqlTable("domain_name", {
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  domain: varchar("domain", { length: 64 }),
});

/** `mtree` v1 (mtree-create.sql): single tree, tprefix unique. */
export const mtree = mysqlTable(
  "mtree",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    tprefix: varchar("tprefix", { length: 32 }).notNull().default(""),
    tvalue: varchar("tvalue", { length: 128 }).notNull().default(""),
  },
  (t) => [unique("tprefix_idx").on(t.tprefix)],
);

/** `mtrees` v2 (mtree-create.sql): many trees in one table, keyed by tname. */
export const mtrees = mysqlTable(
  "mtrees",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    tname: varchar("tname", { length: 128 }).notNull().default(""),
    tprefix: varchar("tprefix", { length: 32 }).notNull().default(""),
    tvalue: varchar("tvalue", { length: 128 }).notNull().default(""),
  },
  (t) => [unique("tname_tprefix_tvalue_idx").on(t.tname, t.tprefix, t.tvalue)],
);

/**
 * `prefix_route` (src/modules/prefix_route/prefix_route.sql). Kamailio ships no MySQL script and no
 * `version` row for it, and the table has no id column: Olelo keys its rows by `prefix`.
 */
export const prefix_route = mysqlTable("prefix_route", {
  prefix: varchar("prefix", { length: 64 }).notNull().default(""),
  route: varchar("route", { length: 64 }).notNull().default(""),
  comment: varchar("comment", { length: 64 }).notNull().default(""),
});
