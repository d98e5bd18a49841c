/**
 * The table kinds the control plane compiles and pushes: kind → Kamailio tables + the PURE compile
 * function that validates them: the descriptors of tables/kinds.ts, whose compile functions the
 * data-plane sinks apply too, so the control plane rejects what a proxy would NACK: the four kinds
 * with compile options (lcr, carrierroute, mtree, htable) compile once per option set of the
 * connected nodes (fleet-options.ts). Kinds are named as the data plane's TableSink kinds.
 *
 * @example
 *   kindDef("lcr").compile({ lcr_gw: [...], lcr_rule: [...], lcr_rule_target: [...] }); // throws TableError
 */
import { TABLE_KINDS, type TableKind } from "../../tables/kinds.js";
import { FLEET_OPTIONS } from "./fleet-options.js";
import { TableError, type TableRow, type TableSet } from "../../tables/rows.js";

export interface KindDef {
  /** Kind name, as the data plane registers it (TableSink.kind). */
  readonly kind: string;
  /** Kamailio tables that make up this kind, in push order (referenced tables first). */
  readonly tables: readonly string[];
  /** Validates (and compiles) the rows; throws TableError naming table and row. Must be pure. */
  compile(set: TableSet): unknown;
  /** Where the validation comes from (shown by the `status` management method). */
  readonly validator: string;
  /** Key column per table (default "id"): names a refused row (row-isolation.ts). */
  readonly keys?: Readonly<Record<string, string>>;
  /** Optional incremental compile for spliced change-capture batches (tables/kinds.ts `compileDelta`). */
  compileDelta?(prev: unknown, changes: ReadonlyMap<string, { readonly removed: readonly TableRow[]; readonly added: readonly TableRow[] }>, set: TableSet): unknown;
}

/** The built-in kinds (tables/kinds.ts). Order is the order of `kinds()` and of pushes. */
export const KINDS: readonly KindDef[] = TABLE_KINDS.map((k) => ({
  kind: k.kind,
  tables: k.tables.map((t) => t.name),
  compile: k.kind === "prefix_route" ? (set: TableSet) => rowPositionToKey(set, "prefix_route", "prefix", () => k.compile(set)) : (set: TableSet) => compileForFleet(k, set),
  validator: k.source,
  keys: Object.fromEntries(k.tables.map((t) => [t.name, t.key])),
  ...(k.compileDelta ? { compileDelta: k.compileDelta } : {}),
}));

/**
 * Compiles with each distinct option set the connected nodes report for the kind (fleet-options.ts),
 * so a row any of them would NACK is refused here with its reason; with the module defaults when
 * none does. Returns the first set's result.
 */
function compileForFleet(k: TableKind, set: TableSet): unknown {
  const sets = FLEET_OPTIONS.sets(k.kind);
  if (sets.length === 0) return k.compile(set);
  let first: unknown;
  sets.forEach((s, i) => {
    const c = k.compile(set, s.options);
    if (i === 0) first = c;
  });
  return first;
}

/**
 * prefix_route has no id column, so module compiles name a bad row by its 1-based position (`#2`
 * or 2); the control plane keys those rows by prefix, so the error is re-issued with the prefix.
 */
function rowPositionToKey<T>(set: TableSet, table: string, key: string, compile: () => T): T {
  try {
    return compile();
  } catch (e) {
    if (!(e instanceof TableError) || e.table !== table || e.row === null) throw e;
    const pos = typeof e.row === "number" ? e.row : /^#(\d+)$/.test(e.row) ? Number(e.row.slice(1)) : NaN;
    const row = set[table]?.[pos - 1];
    if (row && row[key] !== undefined && row[key] !== null) throw new TableError(table, String(row[key]), e.reason);
    throw e;
  }
}

const byKind = new Map(KINDS.map((k) => [k.kind, k]));
const byTable = new Map(KINDS.flatMap((k) => k.tables.map((t) => [t, k] as const)));

/** The kind definition by name, or undefined. */
export function kindDef(kind: string): KindDef | undefined {
  return byKind.get(kind);
}

/** The kind a table belongs to (undefined for location, acc, version, ...: not pushed). */
export function kindOfTable(table: string): KindDef | undefined {
  return byTable.get(table);
}
