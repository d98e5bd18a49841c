/**
 * The stirshaken module's attestation policy (table kind `stir_attest`), exactly as the data
 * plane's module documents it (data-plane/modules/stirshaken/README.md, "Tables"). Kamailio keeps
 * the attestation in the script (secsipid_add_identity's attest argument), so the table carries
 * the `olelo_` prefix and has no `version` row. match_type / attest / origid are checked by the
 * kind's compile function on every write (a bad value is a 422 naming the row).
 */
import { int, mysqlTable, unique, varchar } from "drizzle-orm/mysql-core";

/** `olelo_stir_attest`: the attestation (A/B/C) and origid for calls of one account, trunk or source. */
export const olelo_stir_attest = mysqlTable(
  "olelo_stir_attest",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    match_type: varchar("match_type", { length: 16 }).notNull(),
    match_value: varchar("match_value", { length: 128 }).notNull(),
    attest: varchar("attest", { length: 1 }).notNull(),
    origid: varchar("origid", { length: 64 }).notNull().default(""),
    credential: varchar("credential", { length: 64 }).notNull().default(""),
    description: varchar("description", { length: 64 }).notNull().default(""),
  },
  (t) => [unique("stir_attest_idx").on(t.match_type, t.match_value)],
);
