/**
 * Applies Olelo's migrations at control-plane start (drizzle's `migrate()`, journal in
 * `__drizzle_migrations`). The migrations are written so that they also run on a database that
 * Kamailio's own scripts created: they only CREATE ... IF NOT EXISTS and INSERT IGNORE (see
 * make-idempotent.ts), so existing Kamailio tables and `version` rows stay untouched.
 *
 * A server-wide named lock (GET_LOCK) keeps two control planes starting together from racing.
 *
 * @example
 *   const report = await migrateDatabase(db, pool);  // { applied: 2, created: [...], existing: [...] }
 */
import { migrate } from "drizzle-orm/mysql2/migrator";
import type { Pool, RowDataPacket } from "mysql2/promise";
import { KAMAILIO_TABLES, TABLES } from "./catalog.js";
import type { OleloDb } from "./connect.js";
import { MIGRATIONS_FOLDER } from "./make-idempotent.js";

/** What the migration found and did. */
export interface MigrationReport {
  /** Migration files applied by this run (0 on a second run). */
  applied: number;
  /** Tables this run created. */
  created: string[];
  /** Kamailio tables that already existed (left as they were). */
  existing: string[];
  /** Existing Kamailio tables lacking columns Olelo knows (an older Kamailio schema); never altered. */
  missingColumns: Array<{ table: string; columns: string[] }>;
}

async function tableNames(pool: Pool): Promise<Set<string>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
  );
  return new Set(rows.map((r) => String(r.t)));
}

async function countApplied(pool: Pool): Promise<number> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM `__drizzle_migrations`");
    return Number(rows[0]!.n);
  } catch (e) {
    if ((e as { code?: string }).code === "ER_NO_SUCH_TABLE") return 0;
    throw e;
  }
}

/** Runs the migrations (idempotent) and reports how the database looked. */
export async function migrateDatabase(
  db: OleloDb,
  pool: Pool,
  opts: { migrationsFolder?: string; lockTimeoutS?: number } = {},
): Promise<MigrationReport> {
  const lockConn = await pool.getConnection();
  try {
    const [lock] = await lockConn.query<RowDataPacket[]>("SELECT GET_LOCK('olelo_migrate', ?) AS ok", [
      opts.lockTimeoutS ?? 60,
    ]);
    if (Number(lock[0]!.ok) !== 1) throw new Error("timed out waiting for another control plane's migration (GET_LOCK olelo_migrate)");
    const before = await tableNames(pool);
    const appliedBefore = await countApplied(pool);
    await migrate(db, { migrationsFolder: opts.migrationsFolder ?? MIGRATIONS_FOLDER });
    const after = await tableNames(pool);
    const appliedAfter = await countApplied(pool);
    const existing = KAMAILIO_TABLES.filter((t) => before.has(t));
    const [cols] = await pool.query<RowDataPacket[]>(
      "SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
    );
    const have = new Map<string, Set<string>>();
    for (const r of cols) {
      const t = String(r.t);
      if (!have.has(t)) have.set(t, new Set());
      have.get(t)!.add(String(r.c));
    }
    const missingColumns: MigrationReport["missingColumns"] = [];
    for (const t of existing) {
      const info = TABLES.get(t)!;
      const missing = info.columns.map((c) => c.name).filter((c) => !have.get(t)?.has(c));
      if (missing.length) missingColumns.push({ table: t, columns: missing });
    }
    return {
      applied: appliedAfter - appliedBefore,
      created: [...after].filter((t) => !before.has(t)).sort(),
      existing,
      missingColumns,
    };
  } finally {
    await lockConn.query("SELECT RELEASE_LOCK('olelo_migrate')").catch(() => undefined);
    lockConn.release();
  }
}
