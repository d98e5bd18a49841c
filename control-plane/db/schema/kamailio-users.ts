/**
 * Kamailio's subscriber, permission, registrar, htable, alias and speed-dial tables, column for
 * column as in Kamailio 5.6's MySQL scripts (/usr/share/kamailio/mysql/{auth_db,permissions,
 * usrloc,htable,alias_db,speeddial}-create.sql).
 */
import { datetime, float, index, int, mysqlTable, smallint, unique, varchar } from "drizzle-orm/mysql-core";

/** `subscriber` v7 (auth_db-create.sql): ha1 = MD5(user:realm:pw), ha1b = MD5(user@domain:realm:pw). */
export const subscriber = mysqlTable(
  "subscriber",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    username: varchar("username", { length: 64 }).notNull().default(""),
    domain: varchar("domain", { length: 64 }).notNull().default(""),
    password: varchar("password", { length: 64 }).notNull().default(""),
    ha1: varchar("ha1", { length: 128 }).notNull().default(""),
    ha1b: varchar("ha1b", { length: 128 }).notNull().default(""),
  },
  (t) => [unique("account_idx").on(t.username, t.domain), index("username_idx").on(t.username)],
);

/** `trusted` v6 (permissions-create.sql): allow_trusted() peers. */
export const trusted = mysqlTable(
  "trusted",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    src_ip: varchar("src_ip", { length: 50 }).notNull(),
    proto: varchar("proto", { length: 4 }).notNull(),
    from_pattern: varchar("from_pattern", { length: 64 }),
    ruri_pattern: varchar("ruri_pattern", { length: 64 }),
    tag: varchar("tag", { length: 64 }),
    priority: int("priority").notNull().default(0),
  },
  (t) => [index("peer_idx").on(t.src_ip)],
);

/** `address` v6 (permissions-create.sql): allow_address() groups of IPs/subnets. */
export const address = mysqlTable("address", {
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  grp: int("grp", { unsigned: true }).notNull().default(1),
  ip_addr: varchar("ip_addr", { length: 50 }).notNull(),
  mask: int("mask").notNull().default(32),
  port: smallint("port", { unsigned: true }).notNull().default(0),
  tag: varchar("tag", { length: 64 }),
});

/** `location` v9 (usrloc-create.sql): registrar bindings (written by the data plane in db_mode 1-3). */
export const location = mysqlTable(
  "location",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    ruid: varchar("ruid", { length: 64 }).notNull().default(""),
    username: varchar("username", { length: 64 }).notNull().default(""),
    domain: varchar("domain", { length: 64 }),
    contact: varchar("contact", { length: 512 }).notNull().default(""),
    received: varchar("received", { length: 128 }),
    path: varchar("path", { length: 512 }),
    expires: datetime("expires", { mode: "string" }).notNull().default("2030-05-28 21:32:15"),
    q: float("q", { precision: 10, scale: 2 }).notNull().default(1.0),
    callid: varchar("callid", { length: 255 }).notNull().default("Default-Call-ID"),
    cseq: int("cseq").notNull().default(1),
    last_modified: datetime("last_modified", { mode: "string" }).notNull().default("2000-01-01 00:00:01"),
    flags: int("flags").notNull().default(0),
    cflags: int("cflags").notNull().default(0),
    user_agent: varchar("user_agent", { length: 255 }).notNull().default(""),
    socket: varchar("socket", { length: 64 }),
    methods: int("methods"),
    instance: varchar("instance", { length: 255 }),
    reg_id: int("reg_id").notNull().default(0),
    server_id: int("server_id").notNull().default(0),
    connection_id: int("connection_id").notNull().default(0),
    keepalive: int("keepalive").notNull().default(0),
    partition: int("partition").notNull().default(0),
  },
  (t) => [
    unique("ruid_idx").on(t.ruid),
    index("account_contact_idx").on(t.username, t.domain, t.contact),
    index("expires_idx").on(t.expires),
    index("tcpcon_idx").on(t.connection_id),
    index("connection_idx").on(t.server_id, t.connection_id),
  ],
);

/** `location_attrs` v1 (usrloc-create.sql): per-binding extra attributes. */
export const location_attrs = mysqlTable(
  "location_attrs",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    ruid: varchar("ruid", { length: 64 }).notNull().default(""),
    username: varchar("username", { length: 64 }).notNull().default(""),
    domain: varchar("domain", { length: 64 }),
    aname: varchar("aname", { length: 64 }).notNull().default(""),
    atype: int("atype").notNull().default(0),
    avalue: varchar("avalue", { length: 512 }).notNull().default(""),
    last_modified: datetime("last_modified", { mode: "string" }).notNull().default("2000-01-01 00:00:01"),
  },
  (t) => [
    index("account_record_idx").on(t.username, t.domain, t.ruid),
    index("last_modified_idx").on(t.last_modified),
  ],
);

/** `htable` v2 (htable-create.sql, Kamailio 5.6 sizes): rows loaded into a named hash table. */
export const htable = mysqlTable("htable", {
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  key_name: varchar("key_name", { length: 64 }).notNull().default(""),
  key_type: int("key_type").notNull().default(0),
  value_type: int("value_type").notNull().default(0),
  key_value: varchar("key_value", { length: 128 }).notNull().default(""),
  expires: int("expires").notNull().default(0),
});

/** `dbaliases` v1 (alias_db-create.sql): alias user@domain → canonical AoR. */
export const dbaliases = mysqlTable(
  "dbaliases",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    alias_username: varchar("alias_username", { length: 64 }).notNull().default(""),
    alias_domain: varchar("alias_domain", { length: 64 }).notNull().default(""),
    username: varchar("username", { length: 64 }).notNull().default(""),
    domain: varchar("domain", { length: 64 }).notNull().default(""),
  },
  (t) => [
    index("alias_user_idx").on(t.alias_username),
    index("alias_idx").on(t.alias_username, t.alias_domain),
    index("target_idx").on(t.username, t.domain),
  ],
);

/** `speed_dial` v2 (speeddial-create.sql): per-user short codes. */
export const speed_dial = mysqlTable(
  "speed_dial",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    username: varchar("username", { length: 64 }).notNull().default(""),
    domain: varchar("domain", { length: 64 }).notNull().default(""),
    sd_username: varchar("sd_username", { length: 64 }).notNull().default(""),
    sd_domain: varchar("sd_domain", { length: 64 }).notNull().default(""),
    new_uri: varchar("new_uri", { length: 255 }).notNull().default(""),
    fname: varchar("fname", { length: 64 }).notNull().default(""),
    lname: varchar("lname", { length: 64 }).notNull().default(""),
    description: varchar("description", { length: 64 }).notNull().default(""),
  },
  (t) => [unique("speed_dial_idx").on(t.username, t.domain, t.sd_domain, t.sd_username)],
);
