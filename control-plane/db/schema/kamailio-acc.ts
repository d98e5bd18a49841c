/**
 * Kamailio's accounting tables (acc-create.sql, Kamailio 5.6): written by the data plane's acc
 * module; the control plane only creates and lists them. Extra `db_extra` columns an operator
 * added to an existing table are left alone.
 */
import { datetime, float, index, int, mysqlTable, varchar } from "drizzle-orm/mysql-core";

/** The columns of acc and missed_calls (fresh builders per table). */
const accColumns = () => ({
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  method: varchar("method", { length: 16 }).notNull().default(""),
  from_tag: varchar("from_tag", { length: 128 }).notNull().default(""),
  to_tag: varchar("to_tag", { length: 128 }).notNull().default(""),
  callid: varchar("callid", { length: 255 }).notNull().default(""),
  sip_code: varchar("sip_code", { length: 3 }).notNull().default(""),
  sip_reason: varchar("sip_reason", { length: 128 }).notNull().default(""),
  time: datetime("time", { mode: "string" }).notNull(),
});

/** `acc` v5: one row per accounted transaction. */
export const acc = mysqlTable("acc", accColumns(), (t) => [index("callid_idx").on(t.callid)]);

/** `acc_cdrs` v2: one row per call (dialog-based CDRs). */
export const acc_cdrs = mysqlTable(
  "acc_cdrs",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    start_time: datetime("start_time", { mode: "string" }).notNull().default("2000-01-01 00:00:00"),
    end_time: datetime("end_time", { mode: "string" }).notNull().default("2000-01-01 00:00:00"),
    duration: float("duration", { precision: 10, scale: 3 }).notNull().default(0),
  },
  (t) => [index("start_time_idx").on(t.start_time)],
);

/** `missed_calls` v4: same columns as acc, for negative final replies to local users. */
export const missed_calls = mysqlTable("missed_calls", accColumns(), (t) => [index("callid_idx").on(t.callid)]);
