/**
 * Turns one batch of the change log (change-tail.ts) into new row sets per kind: for a kind with a
 * current snapshot and a modest number of changed keys, the changed rows are read by key and
 * spliced in (splice.ts); a kind without a snapshot, a whole-table change or a large batch is
 * re-read whole (`reread`). Tables that belong to no kind are ignored.
 *
 * @example
 *   const plan = await applyTableChanges(pool, new Map([["dispatcher", new Set(["7"])]]), (k) => current(k)?.set);
 *   // { spliced: [{ kind: "dispatcher", set: {...} }], reread: [] }
 */
import type { Pool } from "mysql2/promise";
import type { TableRow, TableSet } from "../../tables/rows.js";
import type { TableChanges } from "./change-tail.js";
import { kindOfTable } from "./kinds.js";
import { readRowsByKey, spliceRows } from "./splice.js";

/** More changed keys than this in one kind and batch: re-read the kind instead. */
export const MAX_SPLICE_KEYS = 2000;

export interface ChangePlan {
  /** `changes`: per table, the base rows taken out (removed or replaced) and the rows read back. */
  spliced: Array<{ kind: string; set: TableSet; changes: Map<string, { removed: TableRow[]; added: TableRow[] }> }>;
  reread: string[];
}

export async function applyTableChanges(pool: Pool, changes: TableChanges, currentSet: (kind: string) => TableSet | undefined): Promise<ChangePlan> {
  const byKind = new Map<string, Map<string, Set<string> | null>>();
  for (const [table, keys] of changes) {
    const def = kindOfTable(table);
    if (!def) continue;
    let m = byKind.get(def.kind);
    if (!m) byKind.set(def.kind, (m = new Map()));
    m.set(table, keys);
  }
  const plan: ChangePlan = { spliced: [], reread: [] };
  for (const [kind, tables] of byKind) {
    const base = currentSet(kind);
    const keyCount = [...tables.values()].reduce((n, k) => n + (k ? k.size : Infinity), 0);
    if (!base || keyCount > MAX_SPLICE_KEYS) {
      plan.reread.push(kind);
      continue;
    }
    const set: TableSet = { ...base };
    const changes = new Map<string, { removed: TableRow[]; added: TableRow[] }>();
    for (const [table, keys] of tables) {
      const fresh = await readRowsByKey(pool, table, [...keys!]);
      const removed: TableRow[] = [];
      set[table] = spliceRows(table, base[table] ?? [], keys!, fresh, removed);
      changes.set(table, { removed, added: fresh });
    }
    plan.spliced.push({ kind, set, changes });
  }
  return plan;
}
