/**
 * Row-level difference between two table sets of one kind, keyed by each table's key column
 * (id / gwid / ruleid / prefix): the "plan" shown before a push (peers.md gap 2).
 */
import type { TableRow, TableSet } from "../../tables/rows.js";
import { TABLES } from "../db/catalog.js";
import { canonicalRow } from "./version-hash.js";

export interface RowRef {
  table: string;
  id: string | number;
  row: TableRow;
}

export interface RowChange {
  table: string;
  id: string | number;
  /** Columns whose value differs. */
  columns: string[];
  before: TableRow;
  after: TableRow;
}

export interface SetDiff {
  added: RowRef[];
  removed: RowRef[];
  changed: RowChange[];
}

/** The column that identifies a row of `table` (catalog primary key; `prefix` for prefix_route); used by diffs and push deltas. */
export function keyColumnOf(table: string): string {
  return TABLES.get(table)?.pk ?? "id";
}

/** Compares `before` (undefined = nothing pushed yet) with `after` for the given tables. */
export function diffSets(tables: readonly string[], before: TableSet | undefined, after: TableSet): SetDiff {
  const out: SetDiff = { added: [], removed: [], changed: [] };
  for (const t of tables) {
    const pk = keyColumnOf(t);
    const old = new Map<string, TableRow>();
    for (const r of before?.[t] ?? []) old.set(String(r[pk]), r);
    for (const r of after[t] ?? []) {
      const id = r[pk] as string | number;
      const prev = old.get(String(id));
      if (!prev) {
        out.added.push({ table: t, id, row: r });
        continue;
      }
      old.delete(String(id));
      if (canonicalRow(t, prev) !== canonicalRow(t, r)) {
        const cols = [...new Set([...Object.keys(prev), ...Object.keys(r)])].filter(
          (c) => JSON.stringify(prev[c] ?? null) !== JSON.stringify(r[c] ?? null),
        );
        out.changed.push({ table: t, id, columns: cols, before: prev, after: r });
      }
    }
    for (const [, r] of old) out.removed.push({ table: t, id: r[pk] as string | number, row: r });
  }
  return out;
}
