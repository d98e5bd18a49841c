/**
 * Kamailio's presence and msilo tables (presence-create.sql / msilo-create.sql, Kamailio 5.6):
 * `presentity` v5, `active_watchers` v12, `watchers` v3 and `silo` v8, column for column. They
 * hold runtime state the data planes' presence and msilo modules write (publications,
 * subscription dialogs, authorisation decisions, stored messages); the control plane creates
 * them (migration 0011) and lists them read-only. Not a pushed table kind.
 */
import { customType, index, int, mysqlTable, text, unique, varchar } from "drizzle-orm/mysql-core";

const blob = customType<{ data: Buffer; driverData: Buffer }>({
  dataType() {
    return "blob";
  },
});

/** `presentity` v5: one row per publication (publisher × presentity × event). */
export const presentity = mysqlTable(
  "presentity",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    username: varchar("username", { length: 64 }).notNull(),
    domain: varchar("domain", { length: 64 }).notNull(),
    event: varchar("event", { length: 64 }).notNull(),
    etag: varchar("etag", { length: 128 }).notNull(),
    expires: int("expires").notNull(),
    received_time: int("received_time").notNull(),
    body: blob("body").notNull(),
    sender: varchar("sender", { length: 255 }).notNull(),
    priority: int("priority").notNull().default(0),
    ruid: varchar("ruid", { length: 64 }),
  },
  (t) => [
    unique("presentity_idx").on(t.username, t.domain, t.event, t.etag),
    unique("ruid_idx").on(t.ruid),
    index("presentity_expires").on(t.expires),
    index("account_idx").on(t.username, t.domain, t.event),
  ],
);

/** `active_watchers` v12: one row per subscription dialog. */
export const active_watchers = mysqlTable(
  "active_watchers",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    presentity_uri: varchar("presentity_uri", { length: 255 }).notNull(),
    watcher_username: varchar("watcher_username", { length: 64 }).notNull(),
    watcher_domain: varchar("watcher_domain", { length: 64 }).notNull(),
    to_user: varchar("to_user", { length: 64 }).notNull(),
    to_domain: varchar("to_domain", { length: 64 }).notNull(),
    event: varchar("event", { length: 64 }).notNull().default("presence"),
    event_id: varchar("event_id", { length: 64 }),
    to_tag: varchar("to_tag", { length: 128 }).notNull(),
    from_tag: varchar("from_tag", { length: 128 }).notNull(),
    callid: varchar("callid", { length: 255 }).notNull(),
    local_cseq: int("local_cseq").notNull(),
    remote_cseq: int("remote_cseq").notNull(),
    contact: varchar("contact", { length: 255 }).notNull(),
    record_route: text("record_route"),
    expires: int("expires").notNull(),
    status: int("status").notNull().default(2),
    reason: varchar("reason", { length: 64 }),
    version: int("version").notNull().default(0),
    socket_info: varchar("socket_info", { length: 64 }).notNull(),
    local_contact: varchar("local_contact", { length: 255 }).notNull(),
    from_user: varchar("from_user", { length: 64 }).notNull(),
    from_domain: varchar("from_domain", { length: 64 }).notNull(),
    updated: int("updated").notNull(),
    updated_winfo: int("updated_winfo").notNull(),
    flags: int("flags").notNull().default(0),
    user_agent: varchar("user_agent", { length: 255 }).default(""),
  },
  (t) => [
    unique("active_watchers_idx").on(t.callid, t.to_tag, t.from_tag),
    index("active_watchers_expires").on(t.expires),
    index("active_watchers_pres").on(t.presentity_uri, t.event),
    index("updated_idx").on(t.updated),
    index("updated_winfo_idx").on(t.updated_winfo, t.presentity_uri),
  ],
);

/** `watchers` v3: one authorisation decision per presentity × watcher × event. */
export const watchers = mysqlTable(
  "watchers",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    presentity_uri: varchar("presentity_uri", { length: 255 }).notNull(),
    watcher_username: varchar("watcher_username", { length: 64 }).notNull(),
    watcher_domain: varchar("watcher_domain", { length: 64 }).notNull(),
    event: varchar("event", { length: 64 }).notNull().default("presence"),
    status: int("status").notNull(),
    reason: varchar("reason", { length: 64 }),
    inserted_time: int("inserted_time").notNull(),
  },
  (t) => [unique("watcher_idx").on(t.presentity_uri, t.watcher_username, t.watcher_domain, t.event)],
);

/** `silo` v8 (msilo-create.sql): one stored MESSAGE for an offline user. */
export const silo = mysqlTable(
  "silo",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    src_addr: varchar("src_addr", { length: 255 }).notNull().default(""),
    dst_addr: varchar("dst_addr", { length: 255 }).notNull().default(""),
    username: varchar("username", { length: 64 }).notNull().default(""),
    domain: varchar("domain", { length: 64 }).notNull().default(""),
    inc_time: int("inc_time").notNull().default(0),
    exp_time: int("exp_time").notNull().default(0),
    snd_time: int("snd_time").notNull().default(0),
    ctype: varchar("ctype", { length: 32 }).notNull().default("text/plain"),
    body: blob("body"),
    extra_hdrs: text("extra_hdrs"),
    callid: varchar("callid", { length: 128 }).notNull().default(""),
    status: int("status").notNull().default(0),
  },
  (t) => [index("account_idx").on(t.username, t.domain)],
);
