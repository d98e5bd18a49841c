/**
 * The table kinds, written once: per kind its name (the field of the `tables` oneof in
 * olelo.control.v1.StreamTablesResponse), its Kamailio tables in push order (referenced tables
 * first) with their key columns, and the pure compile function that validates and compiles the
 * rows (throws TableError naming table and row). The control plane validates with these very
 * functions; the data-plane sinks apply them. kinds.test.ts checks the list against the proto.
 *
 * Four kinds compile with options, the data plane's module params that change which rows are
 * valid (carrierroute match_mode, mtree tree types / char list / duplicates, htable dbtable names,
 * lcr lcr_count): `compile(set, options)` is the very call the module's sink makes with its
 * options, which it reports in its Hello (kind-options.ts); the control plane compiles a version
 * with each distinct option set of its connected nodes, so it refuses what any of them would NACK.
 * Without options they compile with the module defaults. speed_dial compiles without params
 * (use_domain only keys the valid rows: indexSpeedDial).
 *
 * @example
 *   tableKind("lcr")!.compile({ lcr_gw: [...], lcr_rule: [...], lcr_rule_target: [...] }); // throws TableError
 */
import { compileAliasTable } from "./alias-db/alias-table.js";
import { compileCallFwd } from "./callfwd/callfwd-table.js";
import { compileRtpengine } from "./rtpengine/rtpengine-table.js";
import { compileCarrierrouteTables } from "./carrierroute/table.js";
import { compileDialplan } from "./dialplan/dialplan-table.js";
import { compileDomain } from "./domain/domain-table.js";
import { compileDispatcherTables } from "./dispatcher/table.js";
import { compileDroutingTables, type CompiledDrouting } from "./drouting/table.js";
import { applyDroutingChanges } from "./drouting/delta.js";
import { compileHtableRows, compileHtableSet } from "./htable/table.js";
import type { HtableCompileOptions } from "./kind-options.js";
import type { CarrierrouteCompileOptions } from "./carrierroute/table.js";
import type { LcrCompileOptions } from "./lcr/table.js";
import type { MtreeCompileOptions } from "./mtree/table.js";
import { compileLcrTables } from "./lcr/table.js";
import { compileMtreeTables } from "./mtree/table.js";
import { compileAddressSet, compileTrustedSet } from "./permissions/table.js";
import { compilePlPipes } from "./pl-pipes/pl-pipes-table.js";
import { compilePrefixRouteTables, type CompiledPrefixRoutes } from "./prefix-route/table.js";
import { applyPrefixRouteChanges } from "./prefix-route/delta.js";
import type { TableRow, TableSet } from "./rows.js";
import { compileSpeedDialRows } from "./speed-dial/speed-dial-table.js";
import { compileStirAttest } from "./stir-attest/attest-table.js";
import { compileSubscriberSet, type SubscriberTable } from "./subscriber/table.js";
import { applySubscriberChanges } from "./subscriber/delta.js";
import { compileUacReg } from "./uacreg/uacreg-table.js";

/** One Kamailio table of a kind and the column that identifies its rows (diffs, deltas). */
export interface TableDef {
  readonly name: string;
  readonly key: string;
}

/** One table kind. */
export interface TableKind {
  /** Kind name: the proto oneof field and the data plane's TableSink.kind. */
  readonly kind: string;
  /** Kamailio tables of this kind, in push order (referenced tables first). */
  readonly tables: readonly TableDef[];
  /**
   * Validates and compiles the rows; throws TableError naming table and row. Pure. `options`: the
   * compile options (kind-options.ts, read with `readKindOptions`) of the four kinds that take
   * them; the module defaults when absent. The other kinds ignore it.
   */
  compile(set: TableSet, options?: unknown): unknown;
  /** Where the compile function lives (shown by the control plane's `status` method). */
  readonly source: string;
  /**
   * Optional: the compiled result of `set` from the compiled result of its base (`prev`, what
   * `compile` or an earlier `compileDelta` returned) and the rows that changed, per table, in
   * O(changed rows); null when it cannot (compile the whole set). Throws TableError like `compile`.
   */
  compileDelta?(prev: unknown, changes: ReadonlyMap<string, { readonly removed: readonly TableRow[]; readonly added: readonly TableRow[] }>, set: TableSet): unknown;
}

const ids = (...names: string[]): TableDef[] => names.map((name) => ({ name, key: "id" }));

/** The built-in kinds, in the control plane's listing order. */
export const TABLE_KINDS: readonly TableKind[] = [
  { kind: "dispatcher", tables: ids("dispatcher"), compile: compileDispatcherTables, source: "tables/dispatcher/table.ts compileDispatcherTables" },
  // lcr_count defaults to the highest lcr_id in the rows, as the module does without the param.
  { kind: "lcr", tables: ids("lcr_gw", "lcr_rule", "lcr_rule_target"), compile: (set, o) => compileLcrTables(set, o as LcrCompileOptions | undefined), source: "tables/lcr/table.ts compileLcrTables" },
  {
    kind: "drouting",
    tables: [{ name: "dr_gateways", key: "gwid" }, { name: "dr_gw_lists", key: "id" }, { name: "dr_rules", key: "ruleid" }, { name: "dr_groups", key: "id" }],
    compile: compileDroutingTables,
    // dr_rules-only changes go into a per-group prefix overlay; other tables: the full compile (null)
    compileDelta: (prev, changes, set) => applyDroutingChanges(prev as CompiledDrouting, changes, set),
    source: "tables/drouting/table.ts compileDroutingTables",
  },
  {
    kind: "carrierroute",
    tables: ids("carrier_name", "domain_name", "carrierroute", "carrierfailureroute"),
    // Default options (match_mode 10 = digits, default_tree "default").
    compile: (set, o) => compileCarrierrouteTables(set, o as CarrierrouteCompileOptions | undefined),
    source: "tables/carrierroute/table.ts compileCarrierrouteTables",
  },
  {
    kind: "prefix_route",
    tables: [{ name: "prefix_route", key: "prefix" }],
    compile: (set) => compilePrefixRouteTables(set),
    compileDelta: (prev, changes, set) => applyPrefixRouteChanges(prev as CompiledPrefixRoutes, changes.get("prefix_route") ?? { removed: [], added: [] }, set),
    source: "tables/prefix-route/table.ts compilePrefixRouteTables",
  },
  // Without options: tree type 0, char_list digits.
  { kind: "mtree", tables: ids("mtree", "mtrees"), compile: (set, o) => compileMtreeTables(set, o as MtreeCompileOptions | undefined), source: "tables/mtree/table.ts compileMtreeTables" },
  {
    kind: "subscriber",
    tables: ids("subscriber"),
    compile: compileSubscriberSet,
    // changed subscribers go into an overlay over the live maps (kamctl add / rm / passwd)
    compileDelta: (prev, changes, set) => applySubscriberChanges(prev as SubscriberTable, changes.get("subscriber") ?? { removed: [], added: [] }, set),
    source: "tables/subscriber/table.ts compileSubscriberSet",
  },
  { kind: "address", tables: ids("address"), compile: compileAddressSet, source: "tables/permissions/table.ts compileAddressSet" },
  { kind: "trusted", tables: ids("trusted"), compile: compileTrustedSet, source: "tables/permissions/table.ts compileTrustedSet" },
  // With options, each table must be the dbtable of one of the node's htables (compileHtableSet).
  {
    kind: "htable",
    tables: ids("htable"),
    compile: (set, o) => (o === undefined ? compileHtableRows(set.htable ?? [], "htable") : compileHtableSet(set, new Set((o as HtableCompileOptions).dbtables))),
    source: "tables/htable/table.ts compileHtableSet",
  },
  // The module's default `tables` param (["dbaliases"]); its row checks do not depend on params.
  { kind: "alias_db", tables: ids("dbaliases"), compile: (set) => compileAliasTable(set, "dbaliases"), source: "tables/alias-db/alias-table.ts compileAliasTable" },
  // No params: use_domain only keys the rows (indexSpeedDial, on the data plane).
  { kind: "speed_dial", tables: ids("speed_dial"), compile: (set) => compileSpeedDialRows(set, "speed_dial"), source: "tables/speed-dial/speed-dial-table.ts compileSpeedDialRows" },
  { kind: "callfwd", tables: ids("olelo_callfwd", "olelo_callblock"), compile: compileCallFwd, source: "tables/callfwd/callfwd-table.ts compileCallFwd" },
  { kind: "rtpengine", tables: ids("rtpengine"), compile: (set) => compileRtpengine(set), source: "tables/rtpengine/rtpengine-table.ts compileRtpengine" },
  // Every regex is compiled with RE2 (linear time); a pattern RE2 refuses refuses its row.
  { kind: "dialplan", tables: ids("dialplan"), compile: (set) => compileDialplan(set), source: "tables/dialplan/dialplan-table.ts compileDialplan" },
  { kind: "domain", tables: ids("domain", "domain_attrs"), compile: compileDomain, source: "tables/domain/domain-table.ts compileDomain" },
  { kind: "stir_attest", tables: ids("olelo_stir_attest"), compile: compileStirAttest, source: "tables/stir-attest/attest-table.ts compileStirAttest" },
  { kind: "pl_pipes", tables: ids("pl_pipes"), compile: (set) => compilePlPipes(set, "pl_pipes"), source: "tables/pl-pipes/pl-pipes-table.ts compilePlPipes" },
  { kind: "uacreg", tables: ids("uacreg"), compile: (set) => compileUacReg(set), source: "tables/uacreg/uacreg-table.ts compileUacReg" },
];

const byKind = new Map(TABLE_KINDS.map((k) => [k.kind, k]));

/** The descriptor of `kind`, or undefined. */
export function tableKind(kind: string): TableKind | undefined {
  return byKind.get(kind);
}

/** The table names of `kind` in push order (throws for an unknown kind: a programming error). */
export function tableNamesOf(kind: string): string[] {
  const k = byKind.get(kind);
  if (!k) throw new Error(`unknown table kind '${kind}'`);
  return k.tables.map((t) => t.name);
}
