/**
 * Reads a kind's tables as a TableSet (Kamailio column names, rows ordered by key) and computes the
 * cheap per-table change fingerprint used by the interval check (control-plane/README.md,
 * "Change detection").
 */
import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";
import type { TableRow, TableSet } from "../../data-plane/core/tables/registry.js";
import { tableInfo } from "../db/catalog.js";

/** A pool or one connection (inside a transaction). */
export type Queryable = Pool | PoolConnection;

const q = (name: string) => "`" + name.replace(/`/g, "``") + "`";

/** Normalises driver values: DATETIME strings stay strings, Buffers become strings, bigint → number. */
function normalizeValue(v: unknown): unknown {
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
