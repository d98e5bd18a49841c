/**
 * Olelo's own tables, all prefixed `olelo_` so they never collide with Kamailio's.
 * - olelo_audit: who changed which row, when, before/after, and the kind version it produced.
 * - olelo_snapshots: each compiled kind version (content hash), with the gzipped rows of the
 *   latest good ones so a restart can serve the last good set even if the DB now holds a bad row.
 */
import { sql } from "drizzle-orm";
import { bigint, customType, datetime, index, int, json, mysqlTable, varchar } from "drizzle-orm/mysql-core";

/** MySQL LONGBLOB (drizzle has no builder for it); holds gzipped JSON. */
const longblob = customType<{ data: Buffer; driverData: Buffer }>({
  dataType() {
    return "longblob";
  },
});

/** Audit trail of every management-API change (gap 6 in peers.md: nobody else records this). */
export const olelo_audit = mysqlTable(
  "olelo_audit",
  {
    id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey().notNull(),
    ts: datetime("ts", { mode: "string", fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
    actor: varchar("actor", { length: 64 }).notNull(),
    action: varchar("action", { length: 32 }).notNull(),
    kind: varchar("kind", { length: 32 }),
    table_name: varchar("table_name", { length: 64 }).notNull(),
    row_id: varchar("row_id", { length: 255 }),
    before: json("before"),
    after: json("after"),
    version: varchar("version", { length: 64 }),
  },
  (t) => [index("olelo_audit_ts_idx").on(t.ts), index("olelo_audit_row_idx").on(t.table_name, t.row_id)],
);

/** Compiled kind versions; `data` is kept only for the newest few per kind. */
export const olelo_snapshots = mysqlTable(
  "olelo_snapshots",
  {
    id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey().notNull(),
    kind: varchar("kind", { length: 32 }).notNull(),
    version: varchar("version", { length: 64 }).notNull(),
    row_count: int("row_count", { unsigned: true }).notNull().default(0),
    fingerprint: varchar("fingerprint", { length: 255 }).notNull().default(""),
    reason: varchar("reason", { length: 255 }).notNull().default(""),
    created_at: datetime("created_at", { mode: "string", fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
    data: longblob("data"),
  },
  (t) => [index("olelo_snapshots_kind_idx").on(t.kind, t.id)],
);

/**
 * Change log filled by AFTER INSERT/UPDATE/DELETE triggers on every table a kind reads
 * (control-plane/db/cdc-triggers.ts); the control plane tails it by `id` (control-plane/compile/change-tail.ts).
 * `pk` is the changed row's key (id, gwid, ruleid or prefix); `op` is I, U or D.
 */
export const olelo_changes = mysqlTable(
  "olelo_changes",
  {
    id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey().notNull(),
    tbl: varchar("tbl", { length: 64 }).notNull(),
    op: varchar("op", { length: 1 }).notNull(),
    pk: varchar("pk", { length: 255 }),
    at: datetime("at", { mode: "string", fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
  },
  (t) => [index("olelo_changes_at_idx").on(t.at)],
);

/**
 * Fleet decisions that must outlive a control-plane restart (control-plane/push/fleet.ts): rollback
 * pins (`pin:<kind>`), versions a canary rolled back (`rejected:<kind>`), the soaking canary
 * (`canary`) and the canary id sequence (`canary.seq`). Migration 0012.
 */
export const olelo_fleet_state = mysqlTable("olelo_fleet_state", {
  name: varchar("name", { length: 80 }).primaryKey().notNull(),
  value: json("value").notNull(),
  updated_at: datetime("updated_at", { mode: "string", fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
});
