/**
 * Change capture by triggers (control-plane/push/README.md, "Change capture"): every table a kind
 * reads gets AFTER INSERT / UPDATE / DELETE triggers that append the row's key to `olelo_changes`
 * (migration 0003) inside the writer's own transaction, so a change row commits exactly when the
 * data does, whoever wrote it (kamctl, kamcli, the management API, a hand-typed UPDATE).
 *
 * The trigger list is generated from the kinds' tables (control-plane/compile/kinds.ts), so a new
 * kind gets triggers without a new migration. `installCdcTriggers` is idempotent: a trigger that
 * exists with the same body is left alone, one with another body is replaced, a table that does
 * not exist is skipped (reported). It runs at control-plane start after the migrations.
 *
 * @example
 *   const r = await installCdcTriggers(pool, ["dispatcher", "subscriber"]);
 *   // { created: ["olelo_cdc_dispatcher_ai", ...], kept: [], missingTables: [] }
 */
import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";
import { tableInfo } from "./catalog.js";

const q = (name: string) => "`" + name.replace(/`/g, "``") + "`";
const lit = (s: string) => "'" + s.replace(/\\/g, "\\\\").replace(/'/g, "''") + "'";

/** One trigger: its name, table and the statement after FOR EACH ROW. */
export interface CdcTrigger {
  name: string;
  table: string;
  timing: "INSERT" | "UPDATE" | "DELETE";
  body: string;
}

/** The triggers for one table (key column from the catalog). */
export function triggersFor(table: string): CdcTrigger[] {
  const pk = q(tableInfo(table).pk);
  const ins = (op: string, ref: string) => `INSERT INTO \`olelo_changes\` (\`tbl\`, \`op\`, \`pk\`) VALUES (${lit(table)}, '${op}', ${ref}.${pk})`;
  const base = `olelo_cdc_${table}`.slice(0, 60);
  return [
    { name: `${base}_ai`, table, timing: "INSERT", body: ins("I", "NEW") },
    {
      name: `${base}_au`,
      table,
      timing: "UPDATE",
      // a key change is a removal of the old key and an upsert of the new one
      body:
        `INSERT INTO \`olelo_changes\` (\`tbl\`, \`op\`, \`pk\`) SELECT ${lit(table)}, 'U', NEW.${pk} ` +
        `UNION ALL SELECT ${lit(table)}, 'U', OLD.${pk} FROM DUAL WHERE NOT (OLD.${pk} <=> NEW.${pk})`,
    },
    { name: `${base}_ad`, table, timing: "DELETE", body: ins("D", "OLD") },
  ];
}

/** What `installCdcTriggers` did. */
export interface TriggerReport {
  created: string[];
  replaced: string[];
  kept: string[];
  /** Kind tables that do not exist in the database (no triggers; the kind reports the table missing). */
  missingTables: string[];
}

/** Creates or updates the change-capture triggers on `tables` (idempotent). */
export async function installCdcTriggers(pool: Pool, tables: readonly string[]): Promise<TriggerReport> {
  // two control planes starting together must not drop each other's fresh triggers
  const conn = await pool.getConnection();
  try {
    const [lock] = await conn.query<RowDataPacket[]>("SELECT GET_LOCK('olelo_cdc_triggers', 30) AS ok");
    if (Number(lock[0]!.ok) !== 1) throw new Error("timed out waiting for another control plane installing the triggers (GET_LOCK olelo_cdc_triggers)");
    return await install(conn, tables);
  } finally {
    await conn.query("SELECT RELEASE_LOCK('olelo_cdc_triggers')").catch(() => undefined);
    conn.release();
  }
}

async function install(pool: PoolConnection, tables: readonly string[]): Promise<TriggerReport> {
  const report: TriggerReport = { created: [], replaced: [], kept: [], missingTables: [] };
  const [have] = await pool.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)",
    [[...tables, "olelo_changes"]],
  );
  const existing = new Set(have.map((r) => String(r.t)));
  if (!existing.has("olelo_changes")) throw new Error("table olelo_changes does not exist (run the migrations: migration 0003)");
  const [trg] = await pool.query<RowDataPacket[]>(
    "SELECT TRIGGER_NAME AS n, ACTION_STATEMENT AS s, EVENT_OBJECT_TABLE AS t FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME LIKE 'olelo\\_cdc\\_%'",
  );
  const bodies = new Map(trg.map((r) => [String(r.n), { body: String(r.s), table: String(r.t) }]));
  for (const table of [...new Set(tables)]) {
    if (!existing.has(table)) {
      report.missingTables.push(table);
      continue;
    }
    for (const t of triggersFor(table)) {
      const cur = bodies.get(t.name);
      if (cur && cur.table === t.table && cur.body.trim() === t.body) {
        report.kept.push(t.name);
        continue;
      }
      if (cur) await pool.query(`DROP TRIGGER IF EXISTS ${q(t.name)}`);
      await pool.query(`CREATE TRIGGER ${q(t.name)} AFTER ${t.timing} ON ${q(t.table)} FOR EACH ROW ${t.body}`);
      (cur ? report.replaced : report.created).push(t.name);
    }
  }
  return report;
}

/** Drops every olelo_cdc_* trigger (`--no-cdc` leaves them; this is for tests and uninstalls). */
export async function dropCdcTriggers(pool: Pool): Promise<number> {
  const [trg] = await pool.query<RowDataPacket[]>(
    "SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME LIKE 'olelo\\_cdc\\_%'",
  );
  for (const r of trg) await pool.query(`DROP TRIGGER IF EXISTS ${q(String(r.n))}`);
  return trg.length;
}
