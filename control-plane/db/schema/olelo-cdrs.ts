/**
 * `olelo_cdrs`: the billing API's CDRs (control-plane/README.md, "Billing API"). Rows arrive from the
 * data planes' CDR spools (`cdrs.ingest`, at least once) and are deduplicated by `cdr_id`
 * (INSERT IGNORE on its unique key). `seq` is the poller's cursor: it grows in commit order
 * because ingestion is serialised (one writer at a time, GET_LOCK), so "everything after seq X"
 * never skips a row committed later with a smaller seq.
 */
import { bigint, index, int, mysqlTable, smallint, text, uniqueIndex, varchar } from "drizzle-orm/mysql-core";

const ms = (name: string) => bigint(name, { mode: "number" });

export const olelo_cdrs = mysqlTable(
  "olelo_cdrs",
  {
    seq: bigint("seq", { mode: "number", unsigned: true }).autoincrement().primaryKey().notNull(),
    cdr_id: varchar("cdr_id", { length: 64 }).notNull(),
    call_id: varchar("call_id", { length: 255 }).notNull(),
    from_tag: varchar("from_tag", { length: 128 }).notNull().default(""),
    to_tag: varchar("to_tag", { length: 128 }).notNull().default(""),
    from_uri: varchar("from_uri", { length: 255 }).notNull().default(""),
    from_user: varchar("from_user", { length: 128 }).notNull().default(""),
    to_uri: varchar("to_uri", { length: 255 }).notNull().default(""),
    to_user: varchar("to_user", { length: 128 }).notNull().default(""),
    ruri: varchar("ruri", { length: 255 }).notNull().default(""),
    caller: varchar("caller", { length: 128 }).notNull().default(""),
    callee: varchar("callee", { length: 128 }).notNull().default(""),
    src_ip: varchar("src_ip", { length: 64 }).notNull().default(""),
    src_port: int("src_port", { unsigned: true }).notNull().default(0),
    proto: varchar("proto", { length: 8 }).notNull().default(""),
    node: varchar("node", { length: 64 }).notNull().default(""),
    gateway: varchar("gateway", { length: 255 }),
    gateway_addr: varchar("gateway_addr", { length: 128 }),
    account: varchar("account", { length: 128 }).notNull().default(""),
    start_ms: ms("start_ms").notNull(),
    answer_ms: ms("answer_ms"),
    end_ms: ms("end_ms").notNull(),
    duration_ms: ms("duration_ms").notNull().default(0),
    billsec: int("billsec", { unsigned: true }).notNull().default(0),
    sip_code: smallint("sip_code", { unsigned: true }).notNull().default(0),
    sip_reason: varchar("sip_reason", { length: 128 }).notNull().default(""),
    ended_by: varchar("ended_by", { length: 16 }).notNull().default(""),
    end_reason: varchar("end_reason", { length: 32 }).notNull().default(""),
    disposition: varchar("disposition", { length: 16 }).notNull().default(""),
    vars: text("vars"),
    received_ms: ms("received_ms").notNull(),
  },
  (t) => [
    uniqueIndex("olelo_cdrs_cdr_id_idx").on(t.cdr_id),
    index("olelo_cdrs_start_idx").on(t.start_ms),
    index("olelo_cdrs_account_idx").on(t.account, t.start_ms),
    index("olelo_cdrs_call_id_idx").on(t.call_id),
  ],
);

/** Webhook delivery state: per webhook URL the seq of the last CDR delivered (or dead-lettered). */
export const olelo_cdr_webhook = mysqlTable(
  "olelo_cdr_webhook",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    url: varchar("url", { length: 255 }).notNull(),
    last_seq: bigint("last_seq", { mode: "number", unsigned: true }).notNull().default(0),
  },
  (t) => [uniqueIndex("olelo_cdr_webhook_url_idx").on(t.url)],
);

/** CDRs a webhook never accepted after every attempt (the dead-letter list, `cdrs.dead_letters`). */
export const olelo_cdr_dead = mysqlTable(
  "olelo_cdr_dead",
  {
    id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey().notNull(),
    url: varchar("url", { length: 255 }).notNull(),
    seq: bigint("seq", { mode: "number", unsigned: true }).notNull(),
    cdr_id: varchar("cdr_id", { length: 64 }).notNull(),
    attempts: int("attempts", { unsigned: true }).notNull(),
    last_error: varchar("last_error", { length: 255 }).notNull().default(""),
    failed_ms: bigint("failed_ms", { mode: "number" }).notNull(),
  },
  (t) => [index("olelo_cdr_dead_url_idx").on(t.url, t.seq)],
);
