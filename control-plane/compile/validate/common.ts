/**
 * Small checks shared by the control plane's own row validators (used for kinds whose data-plane
 * module has no pure compile function yet). Every failure is a TableError naming table and row.
 */
import { TableError, type TableRow, type TableSet } from "../../../data-plane/core/tables/registry.js";

/** Rows of one table, or an empty list when the set lacks the table. */
export function rowsOf(set: TableSet, table: string): TableRow[] {
  const rows = set[table];
  if (rows === undefined) return [];
  if (!Array.isArray(rows)) throw new TableError(table, null, `'${table}' must be an array of rows`);
  return rows;
}

/** The row's identity for error messages: the key column, or its 1-based position. */
export function idOf(row: TableRow, key: string, index: number): string | number {
  const v = row[key];
  return typeof v === "number" || (typeof v === "string" && v !== "") ? v : index + 1;
}

/** A string column; null/undefined become "". */
export function str(row: TableRow, col: string): string {
  const v = row[col];
  return v === null || v === undefined ? "" : String(v);
}



/** Requires a non-empty string column. */
export function required(table: string, id: string | number, row: TableRow, col: string): string {
  const s = str(row, col).trim();
  if (s === "") throw new TableError(table, id, `${col} is empty`);
  return s;
}

/** Rejects a second row with the same key (the key function returns null to skip a row). */
export function unique(
  table: string,
  rows: readonly TableRow[],
  keyCol: string,
  key: (r: TableRow) => string | null,
  what: string,
): void {
  const seen = new Map<string, string | number>();
  rows.forEach((r, i) => {
    const k = key(r);
    if (k === null) return;
    const id = idOf(r, keyCol, i);
    const prev = seen.get(k);
    if (prev !== undefined) throw new TableError(table, id, `${what} already used by row ${prev}`);
    seen.set(k, id);
  });
}
