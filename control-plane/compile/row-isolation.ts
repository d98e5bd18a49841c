/**
 * Per-row isolation of a kind's compile: a bad row is refused alone (its table, key and reason
 * recorded) and the kind goes live without it, as Kamailio's modules skip a bad row on load and
 * keep the rest. The kind compile functions (tables/) throw a TableError naming the first bad row;
 * this drops that row and compiles again until the rest compiles, so rows that only failed through
 * a refused row (an lcr_rule_target naming a refused lcr_gw) are refused in turn, each with its
 * own reason.
 *
 * Policy per kind (`--row-policy kind=hold,...`, control-plane/README.md "Bad rows"):
 * - `skip` (default): refuse the bad rows, push the others. Deletions and disables are ordinary
 *   row changes and go live with them.
 * - `hold`: all-or-nothing. The kind stays at its last good version while any row is bad; rows
 *   deleted from the database since are still removed from it, and disables of its rows (see
 *   DISABLES) still applied to it, when that result compiles: deletions and disables always go live.
 *
 * A kind is held under either policy when an error names no row that can be found (a missing
 * table, a whole-kind error) or more than `MAX_REFUSED_ROWS` rows are bad.
 *
 * @example
 *   const r = compileIsolated(kindDef("subscriber")!, set, "skip");
 *   if (r.ok) push(r.set); // r.refused: [{ kind, table: "subscriber", key: "7", reason: "username is empty" }]
 */
import type { TableRow, TableSet } from "../../tables/rows.js";
import type { KindDef } from "./kinds.js";

export type RowPolicy = "skip" | "hold";
export const ROW_POLICIES: readonly RowPolicy[] = ["skip", "hold"];

/** More bad rows than this in one kind hold the kind instead (each costs one compile). */
export const MAX_REFUSED_ROWS = 200;

/** A row left out of the pushed version. */
export interface RefusedRow {
  kind: string;
  table: string;
  /** The row's key column value (id, or gwid/ruleid/prefix), as text. */
  key: string;
  /** The key as the compile error named it (number for numeric ids). */
  row: string | number;
  reason: string;
}

/** Why a whole kind was not compiled (same shape as CompileError). */
export interface KindFailure {
  kind: string;
  table: string;
  row: string | number | null;
  reason: string;
}

export type IsolatedResult =
  | { ok: true; set: TableSet; refused: RefusedRow[]; compiled: unknown }
  | { ok: false; error: KindFailure; refused: RefusedRow[] };

/** The key column of `table` in `def` ("id" when the descriptor names none). */
export function keyColumn(def: KindDef, table: string): string {
  return def.keys?.[table] ?? "id";
}

/**
 * Compiles `set` for `def`, dropping bad rows (skip) or failing at the first (hold). `toError`
 * turns what the compile threw into a KindFailure. The input set is never modified.
 */
export function compileIsolated(def: KindDef, set: TableSet, policy: RowPolicy, toError: (e: unknown) => KindFailure): IsolatedResult {
  const refused: RefusedRow[] = [];
  let cur = set;
  const copied = new Set<string>();
  for (;;) {
    let err: KindFailure;
    try {
      const compiled = def.compile(cur);
      return { ok: true, set: cur, refused, compiled };
    } catch (e) {
      err = toError(e);
    }
    const rows = cur[err.table];
    const col = keyColumn(def, err.table);
    const at = err.row === null || !Array.isArray(rows) ? -1 : rows.findIndex((r) => keyText(r[col]) === String(err.row));
    if (at < 0) return { ok: false, error: err, refused };
    refused.push({ kind: def.kind, table: err.table, key: String(err.row), row: err.row!, reason: err.reason });
    if (policy === "hold") return { ok: false, error: err, refused };
    if (refused.length > MAX_REFUSED_ROWS) {
      return { ok: false, error: { ...err, row: null, reason: `more than ${MAX_REFUSED_ROWS} bad rows (last: ${err.table} row ${err.row}: ${err.reason})` }, refused };
    }
    if (!copied.has(err.table)) {
      cur = { ...cur, [err.table]: rows!.slice() };
      copied.add(err.table);
    }
    cur[err.table]!.splice(at, 1);
  }
}

/**
 * Changes that only take a row out of service, per table: the column and whether old → new
 * disables. Under `hold` these go live on the held version (as deletions do).
 */
export const DISABLES: Readonly<Record<string, { column: string; disables(before: unknown, after: unknown): boolean }>> = {
  // flags bit 0 (inactive) or bit 2 (disabled by the admin) newly set
  dispatcher: { column: "flags", disables: (b, a) => (~Number(b ?? 0) & Number(a ?? 0) & 5) !== 0 && (Number(b ?? 0) & ~Number(a ?? 0) & 5) === 0 },
  // enabled 1 → 0
  lcr_rule: { column: "enabled", disables: (b, a) => Number(b ?? 1) !== 0 && Number(a) === 0 },
  // defunct (unix time the gateway is skipped until) raised
  lcr_gw: { column: "defunct", disables: (b, a) => Number(a ?? 0) > Number(b ?? 0) },
};

/**
 * For `hold`: the last good set without the rows whose key is no longer in the database set and
 * with the DISABLES of its rows taken from the database (deletions and disables go live under hold
 * too). Returns null when there is neither.
 */
export function withDeletionsAndDisables(def: KindDef, good: TableSet, db: TableSet): TableSet | null {
  let out: TableSet | null = null;
  for (const table of def.tables) {
    const col = keyColumn(def, table);
    const now = new Map((db[table] ?? []).map((r) => [keyText(r[col]), r]));
    const rows = good[table] ?? [];
    const d = DISABLES[table];
    let touched = false;
    const kept: TableRow[] = [];
    for (const r of rows) {
      const cur = now.get(keyText(r[col]));
      if (!cur) {
        touched = true;
        continue;
      }
      if (d && d.disables(r[d.column], cur[d.column]) && Object.keys(r).every((k) => k === d.column || sameValue(r[k], cur[k]))) {
        kept.push({ ...r, [d.column]: cur[d.column] });
        touched = true;
        continue;
      }
      kept.push(r);
    }
    if (touched) out = { ...(out ?? good), [table]: kept };
  }
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b || (a == null && b == null);
}

/** `set` without the `refused` rows (by table and key): a result of compileIsolated, rebuilt. */
export function withoutRows(def: KindDef, set: TableSet, refused: readonly RefusedRow[]): TableSet {
  const out: TableSet = { ...set };
  for (const table of new Set(refused.map((r) => r.table))) {
    const col = keyColumn(def, table);
    const gone = new Set(refused.filter((r) => r.table === table).map((r) => r.key));
    out[table] = (set[table] ?? []).filter((r) => !gone.has(keyText(r[col])));
  }
  return out;
}

export function keyText(v: TableRow[string]): string {
  if (v === null || v === undefined) return "";
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  return String(v);
}

/** Parses `kind=policy,kind=policy` (the --row-policy flag); throws Error naming the bad part. */
export function parseRowPolicies(spec: string, kinds: readonly string[]): Record<string, RowPolicy> {
  const out: Record<string, RowPolicy> = {};
  for (const part of spec.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z_]+)=([a-z]+)$/.exec(part);
    if (!m) throw new Error(`'${part}' is not KIND=skip|hold`);
    if (!kinds.includes(m[1]!)) throw new Error(`unknown kind '${m[1]}' (kinds: ${kinds.join(", ")})`);
    if (!(ROW_POLICIES as readonly string[]).includes(m[2]!)) throw new Error(`policy '${m[2]}' for ${m[1]} is not skip or hold`);
    out[m[1]!] = m[2] as RowPolicy;
  }
  return out;
}
