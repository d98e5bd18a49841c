/**
 * Computes the delta between two compiled versions of a kind (xDS incremental: upserted rows and
 * removed keys), keyed per Kamailio table by the same key column as the operator's diff
 * (control-plane/compile/diff.ts: `id`, `gwid`, `ruleid`, `prefix`). Each upserted row gets its
 * position in the new table, so the data plane's result equals the new version row for row,
 * order included. The new version's RowDigest is derived from the base's digest in O(changed
 * rows). A delta is refused (the caller sends the whole version) when keys are missing or
 * duplicated, or when more than `maxChangedRows` rows change.
 *
 * @example
 *   const r = computeKindDelta(base, next, baseDigest, { maxChangedRows: next.rows / 4 });
 *   if (r.ok) encodeKindDelta(r.delta);
 */
import type { TableRow } from "../../data-plane/core/tables/registry.js";
import { keyTypeOf, type KindDelta, type RowKey, type TableChangeSet } from "../../data-plane/sync/wire/delta-chunks.js";
import { RowDigest } from "../../data-plane/sync/wire/row-digest.js";
import { kindPlan } from "../../data-plane/sync/wire/table-kinds.js";
import { keyColumnOf } from "../compile/diff.js";
import type { PushSnapshot } from "./push-source.js";

/** Outcome of `computeKindDelta`. */
export type DeltaComputation =
  | { ok: true; delta: KindDelta; changedRows: number; resultRows: number }
  | { ok: false; reason: string };

/** Limits of a delta. */
export interface DeltaLimits {
  /** Upserted + removed rows above this refuse the delta (checked while walking, so it stops early). */
  maxChangedRows: number;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

function sameRow(a: TableRow, b: TableRow, columns: readonly string[]): boolean {
  if (a === b) return true;
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    if (!sameValue(a[c], b[c])) return false;
  }
  return true;
}

/** The key as the data plane compares it (string / integer), or undefined when the row has none. */
function typedKey(v: unknown, type: "string" | "int"): RowKey | undefined {
  if (v === null || v === undefined) return undefined;
  if (type === "string") return typeof v === "string" ? v : typeof v === "number" || typeof v === "bigint" ? String(v) : undefined;
  const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : typeof v === "bigint" ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Delta from `base` to `next` (same kind); `baseDigest` is the RowDigest of `base`'s rows. */
export function computeKindDelta(base: PushSnapshot, next: PushSnapshot, baseDigest: string, limits: DeltaLimits): DeltaComputation {
  const plan = kindPlan(next.kind);
  if (!plan || base.kind !== next.kind) return { ok: false, reason: `kind ${next.kind} has no delta form` };
  const digest = RowDigest.from(baseDigest);
  const tables: TableChangeSet[] = [];
  let changed = 0;
  let resultRows = 0;
  for (const t of plan.tables) {
    const keyColumn = keyColumnOf(t.name);
    let keyType: "string" | "int";
    try {
      keyType = keyTypeOf(plan, t.name, keyColumn);
    } catch (e) {
      return { ok: false, reason: e instanceof Error ? e.message : String(e) };
    }
    const baseRows = base.set[t.name] ?? [];
    const nextRows = next.set[t.name] ?? [];
    const change: TableChangeSet = { table: t.name, keyColumn, resultRows: nextRows.length, upserts: [], positions: [], removed: [] };
    tables.push(change);
    resultRows += nextRows.length;
    if (baseRows === nextRows) continue;
    const index = new Map<RowKey, number>();
    for (let i = 0; i < baseRows.length; i++) {
      const k = typedKey(baseRows[i]![keyColumn], keyType);
      if (k === undefined) return { ok: false, reason: `${t.name} base row ${i + 1} has no ${keyColumn}` };
      if (index.has(k)) return { ok: false, reason: `${t.name} base has ${keyColumn} ${k} twice` };
      index.set(k, i);
    }
    const matched = new Uint8Array(baseRows.length);
    const added = new Set<RowKey>();
    const columns = t.codec.columns;
    // Rows kept in place must keep their relative order; a row that moved is sent again.
    let lastKept = -1;
    for (let j = 0; j < nextRows.length; j++) {
      const row = nextRows[j]!;
      const k = typedKey(row[keyColumn], keyType);
      if (k === undefined) return { ok: false, reason: `${t.name} row ${j + 1} has no ${keyColumn}` };
      const i = index.get(k);
      if (i === undefined) {
        if (added.has(k)) return { ok: false, reason: `${t.name} has ${keyColumn} ${k} twice` };
        added.add(k);
        change.upserts.push(row);
        change.positions.push(j);
        digest.addRow(t, row, 1, j);
      } else {
        if (matched[i]) return { ok: false, reason: `${t.name} has ${keyColumn} ${k} twice` };
        matched[i] = 1;
        const old = baseRows[i]!;
        if (i > lastKept && sameRow(old, row, columns)) {
          lastKept = i;
          continue;
        }
        change.upserts.push(row);
        change.positions.push(j);
        digest.addRow(t, old, -1, i);
        digest.addRow(t, row, 1, j);
      }
      if (++changed > limits.maxChangedRows) return { ok: false, reason: `more than ${limits.maxChangedRows} rows changed` };
    }
    for (let i = 0; i < baseRows.length; i++) {
      if (matched[i]) continue;
      const old = baseRows[i]!;
      change.removed.push(typedKey(old[keyColumn], keyType)!);
      digest.addRow(t, old, -1, i);
      if (++changed > limits.maxChangedRows) return { ok: false, reason: `more than ${limits.maxChangedRows} rows changed` };
    }
  }
  return { ok: true, delta: { kind: next.kind, baseVersion: base.version, resultDigest: digest.toString(), tables }, changedRows: changed, resultRows };
}
