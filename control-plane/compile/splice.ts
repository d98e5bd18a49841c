/**
 * Splices changed rows into a kind's last snapshot instead of re-reading the whole kind (the change
 * capture path, change-tail.ts): the changed keys are read again (`readRowsByKey`), a key that is
 * gone is removed, a key that is there replaces the old row or is inserted at its key position, so
 * the result is what `readTable` (ORDER BY key) would return and hashes to the same version.
 * Rows that did not change are shared with the old snapshot, never copied.
 *
 * @example
 *   const fresh = await readRowsByKey(pool, "dispatcher", ["7", "9"]);
 *   const rows = spliceRows("dispatcher", old.set.dispatcher, new Set(["7", "9"]), fresh);
 */
import type { RowDataPacket } from "mysql2/promise";
import type { TableRow } from "../../tables/rows.js";
import { tableInfo } from "../db/catalog.js";
import { normalizeValue, type Queryable } from "./read-rows.js";

const q = (name: string) => "`" + name.replace(/`/g, "``") + "`";

/** Reads the current rows of `table` with these keys (missing keys: deleted rows). */
export async function readRowsByKey(conn: Queryable, table: string, keys: readonly string[]): Promise<TableRow[]> {
  if (keys.length === 0) return [];
  const info = tableInfo(table);
  const cols = info.columns.map((c) => q(c.name)).join(", ");
  const [rows] = await conn.query<RowDataPacket[]>({
    sql: `SELECT ${cols} FROM ${q(table)} WHERE ${q(info.pk)} IN (?) ORDER BY ${q(info.pk)}`,
    values: [keys],
    dateStrings: true,
  });
  return rows.map((r) => {
    const out: TableRow = {};
    for (const c of info.columns) out[c.name] = normalizeValue(r[c.name]);
    return out;
  });
}

/** Key order of readTable: numbers numerically, text by code point (digits, the usual prefixes). */
function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Index of the first row whose key is >= key (rows sorted by key). */
function lowerBound(rows: readonly TableRow[], pk: string, key: unknown): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(rows[mid]![pk], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The table's rows after the change: `changed` keys (as strings) are removed, `fresh` rows (the
 * changed keys that still exist) are put in key order. Returns a new array; `old` is not touched.
 */
export function spliceRows(table: string, old: readonly TableRow[], changed: ReadonlySet<string>, fresh: readonly TableRow[], removedOut?: TableRow[]): TableRow[] {
  const pk = tableInfo(table).pk;
  const out = old.slice();
  // few changed keys: find each by binary search instead of a scan (1M rows)
  const sorted = knownSorted.has(old) || isSorted(out, pk);
  for (const key of changed) {
    const i = sorted ? findKey(out, pk, key) : out.findIndex((r) => String(r[pk]) === key);
    if (i < 0) continue;
    const [gone] = out.splice(i, 1);
    if (removedOut) removedOut.push(gone!);
  }
  for (const row of fresh) {
    const at = sorted ? lowerBound(out, pk, row[pk]) : out.length;
    out.splice(at, 0, row);
  }
  // rows put at their lower bound keep a sorted array sorted: the next splice skips the O(n) check
  if (sorted) knownSorted.add(out);
  return out;
}

/** Arrays spliceRows made from a sorted array (sorted too; never mutated afterwards). */
const knownSorted = new WeakSet<readonly TableRow[]>();

function findKey(rows: readonly TableRow[], pk: string, key: string): number {
  const asNum = rows.length > 0 && typeof rows[0]![pk] === "number" ? Number(key) : key;
  const i = lowerBound(rows, pk, asNum);
  if (i < rows.length && String(rows[i]![pk]) === key) return i;
  // numeric keys are in exact order: not there means absent (a new row), no scan of 1M rows
  if (typeof asNum === "number" && String(asNum) === key) return -1;
  // text keys whose SQL collation order differs from code point order: fall back to a scan
  return rows.findIndex((r) => String(r[pk]) === key);
}

/** Sorted in compareKeys order (checked once per splice; an O(n) pass without allocation). */
function isSorted(rows: readonly TableRow[], pk: string): boolean {
  for (let i = 1; i < rows.length; i++) if (compareKeys(rows[i - 1]![pk], rows[i]![pk]) > 0) return false;
  return true;
}
