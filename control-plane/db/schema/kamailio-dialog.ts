/**
 * Kamailio's dialog persistence tables (dialog-create.sql, Kamailio 5.6): `dialog` v7 and
 * `dialog_vars` v1, written by the data plane's dialog module (db_mode); the control plane creates
 * them and lists them read-only.
 */
import { index, int, mysqlTable, varchar } from "drizzle-orm/mysql-core";

const u = (name: string) => int(name, { unsigned: true });

/** `dialog` v7: one row per dialog that is up (db_mode 1: written at confirm, removed at end). */
export const dialog = mysqlTable(
  "dialog",
  {
    id: u("id").autoincrement().primaryKey().notNull(),
    hash_entry: u("hash_entry").notNull(),
    hash_id: u("hash_id").notNull(),
    callid: varchar("callid", { length: 255 }).notNull(),
    from_uri: varchar("from_uri", { length: 255 }).notNull(),
    from_tag: varchar("from_tag", { length: 128 }).notNull(),
    to_uri: varchar("to_uri", { length: 255 }).notNull(),
    to_tag: varchar("to_tag", { length: 128 }).notNull(),
    caller_cseq: varchar("caller_cseq", { length: 20 }).notNull(),
    callee_cseq: varchar("callee_cseq", { length: 20 }).notNull(),
    caller_route_set: varchar("caller_route_set", { length: 512 }),
    callee_route_set: varchar("callee_route_set", { length: 512 }),
    caller_contact: varchar("caller_contact", { length: 255 }).notNull(),
    callee_contact: varchar("callee_contact", { length: 255 }).notNull(),
    caller_sock: varchar("caller_sock", { length: 64 }).notNull(),
    callee_sock: varchar("callee_sock", { length: 64 }).notNull(),
    state: u("state").notNull(),
    start_time: u("start_time").notNull(),
    timeout: u("timeout").notNull().default(0),
    sflags: u("sflags").notNull().default(0),
    iflags: u("iflags").notNull().default(0),
    toroute_name: varchar("toroute_name", { length: 32 }),
    req_uri: varchar("req_uri", { length: 255 }).notNull(),
    xdata: varchar("xdata", { length: 512 }),
  },
  (t) => [index("hash_idx").on(t.hash_entry, t.hash_id)],
);

/** `dialog_vars` v1: the dialog's variables ($dlg_var), one row per key. */
export const dialog_vars = mysqlTable(
  "dialog_vars",
  {
    id: u("id").autoincrement().primaryKey().notNull(),
    hash_entry: u("hash_entry").notNull(),
    hash_id: u("hash_id").notNull(),
    dialog_key: varchar("dialog_key", { length: 128 }).notNull(),
    dialog_value: varchar("dialog_value", { length: 512 }).notNull(),
  },
  (t) => [index("hash_idx").on(t.hash_entry, t.hash_id)],
);
