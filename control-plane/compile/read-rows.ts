/**
 * Reads a kind's tables as a TableSet (Kamailio column names, rows ordered by key) and computes the
 * cheap per-table change fingerprint used by the interval check (control-plane/README.md,
 * "Change detection").
 */
import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";
import type { TableRow, TableSet } from "../../tables/rows.js";
import { tableInfo } from "../db/catalog.js";

/** A pool or one connection (inside a transaction). */
export type Queryable = Pool | PoolConnection;

const q = (name: string) => "`" + name.replace(/`/g, "``") + "`";

/** Normalises driver values: DATETIME strings stay strings, Buffers become strings, bigint → number. */
export function normalizeValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return Number(v);
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  if (v instanceof Date) return v.toISOString();
  return v;
}

/** Reads every known column of one table, ordered by its key. */
export async function readTable(conn: Queryable, table: string): Promise<TableRow[]> {
  const info = tableInfo(table);
  const cols = info.columns.map((c) => q(c.name)).join(", ");
  const [rows] = await conn.query<RowDataPacket[]>({
    sql: `SELECT ${cols} FROM ${q(table)} ORDER BY ${q(info.pk)}`,
    dateStrings: true,
  });
  return rows.map((r) => {
    const out: TableRow = {};
    for (const c of info.columns) out[c.name] = normalizeValue(r[c.name]);
    return out;
  });
}

/** Reads several tables into one TableSet. */
export async function readTables(conn: Queryable, tables: readonly string[]): Promise<TableSet> {
  const set: TableSet = {};
  for (const t of tables) set[t] = await readTable(conn, t);
  return set;
}

/**
 * SQL computing one table's fingerprint: row count, max key, and XOR and SUM of a CRC32 per row over
 * all known columns (NULL kept distinct from ''). One full scan inside MySQL, one row returned.
 */
export function fingerprintSql(table: string): string {
  const info = tableInfo(table);
  const parts = info.columns.map((c) => `IFNULL(${q(c.name)}, 0x00)`).join(", ");
  const h = `CRC32(CONCAT_WS(0x1f, ${parts}))`;
  return (
    `SELECT '${table}' AS t, COUNT(*) AS n, IFNULL(MAX(${q(info.pk)}), '') AS mx, ` +
    `IFNULL(BIT_XOR(${h}), 0) AS x, IFNULL(SUM(${h}), 0) AS s FROM ${q(table)}`
  );
}

/** Fingerprints of the given tables in one round trip: table → "count:max:xor:sum" ("missing" if absent). */
export async function readFingerprints(conn: Queryable, tables: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (tables.length === 0) return out;
  try {
    const [rows] = await conn.query<RowDataPacket[]>({ sql: tables.map(fingerprintSql).join(" UNION ALL "), supportBigNumbers: true, bigNumberStrings: true });
    for (const r of rows) out.set(String(r.t), `${r.n}:${r.mx}:${r.x}:${r.s}`);
  } catch (e) {
    if ((e as { code?: string }).code !== "ER_NO_SUCH_TABLE") throw e;
    // One table is missing: fall back to one query per table so the others still get a value.
    for (const t of tables) {
      try {
        const [rows] = await conn.query<RowDataPacket[]>({ sql: fingerprintSql(t), supportBigNumbers: true, bigNumberStrings: true });
        const r = rows[0]!;
        out.set(t, `${r.n}:${r.mx}:${r.x}:${r.s}`);
      } catch (e2) {
        if ((e2 as { code?: string }).code !== "ER_NO_SUCH_TABLE") throw e2;
        out.set(t, "missing");
      }
    }
  }
  return out;
}

/** A kind's fingerprint: its tables' fingerprints joined in table order. */
export function kindFingerprint(tables: readonly string[], fps: ReadonlyMap<string, string>): string {
  return tables.map((t) => `${t}=${fps.get(t) ?? "?"}`).join(";");
}

/** Counters of the change checker (shown by `status`). */
export interface ChangeCheckStats {
  /** Tables fingerprinted with a full scan. */
  scanned: number;
  /** Big tables skipped because information_schema.UPDATE_TIME showed no write since the last scan. */
  skipped: number;
}

export interface ChangeChecker {
  /** Current fingerprints of all tables (cached ones for unchanged big tables). */
  fingerprints(): Promise<Map<string, string>>;
  stats(): ChangeCheckStats;
}

/**
 * The interval change check. Small tables are fingerprinted every time (one scan each). Tables
 * above `bigTableRows` (InnoDB's row estimate) are rescanned only when
 * information_schema.TABLES.UPDATE_TIME differs from what it was at their last scan. InnoDB sets it
 * at commit with one-second resolution, keeps it in memory (NULL until the first write after a
 * server start), so the shortcut also requires: the same server start as at the last scan, the
 * last write strictly before the second the last scan began, and at most `fullEvery` skipped
 * checks in a row (a safety net, e.g. for MySQL 8, which caches UPDATE_TIME for
 * information_schema_stats_expiry seconds; MariaDB does not cache it).
 */
export function createChangeChecker(
  pool: Queryable,
  tables: readonly string[],
  opts: { bigTableRows?: number; fullEvery?: number } = {},
): ChangeChecker {
  const big = opts.bigTableRows ?? 50_000;
  const fullEvery = opts.fullEvery ?? 12;
  const cache = new Map<string, { fp: string; updateTime: string | null; scannedAt: string; started: number; checks: number }>();
  const stats: ChangeCheckStats = { scanned: 0, skipped: 0 };
  return {
    stats: () => ({ ...stats }),
    async fingerprints() {
      const [meta] = await pool.query<RowDataPacket[]>({
        sql:
          "SELECT TABLE_NAME AS t, UPDATE_TIME AS u, TABLE_ROWS AS n, NOW() AS now, UNIX_TIMESTAMP() AS ts FROM information_schema.TABLES " +
          "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)",
        values: [tables],
        dateStrings: true,
      });
      const info = new Map(meta.map((r) => [String(r.t), { u: r.u === null ? null : String(r.u), n: Number(r.n ?? 0), now: String(r.now) }]));
      const [up] = await pool.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Uptime'");
      const started = Number(meta[0]?.ts ?? 0) - Number(up[0]?.Value ?? 0);
      const out = new Map<string, string>();
      const scan: string[] = [];
      for (const t of tables) {
        const m = info.get(t);
        const c = cache.get(t);
        const reuse =
          m !== undefined &&
          c !== undefined &&
          m.n >= big &&
          m.u === c.updateTime &&
          (m.u === null || m.u < c.scannedAt) &&
          Math.abs(started - c.started) <= 2 &&
          c.checks < fullEvery;
        if (reuse) {
          c.checks++;
          stats.skipped++;
          out.set(t, c.fp);
        } else scan.push(t);
      }
      if (scan.length) {
        const fps = await readFingerprints(pool, scan);
        for (const t of scan) {
          const fp = fps.get(t) ?? "missing";
          const m = info.get(t);
          // scannedAt is the server time read before the scan: a write in that same second rescans next time
          cache.set(t, { fp, updateTime: m?.u ?? null, scannedAt: m?.now ?? "", started, checks: 0 });
          out.set(t, fp);
          stats.scanned++;
        }
      }
      return out;
    },
  };
}
