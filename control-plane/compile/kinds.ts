/**
 * The table kinds the control plane compiles and pushes: kind → Kamailio tables + the PURE compile
 * function that validates them (the data plane's own function where it exists, so the control plane
 * rejects exactly what a proxy would NACK). Kinds are named as the data plane's TableSink kinds
 * (data-plane/core/tables/registry.ts).
 *
 * Every kind's compile function is the data-plane module's own (no control-plane stand-ins).
 *
 * @example
 *   kindDef("lcr").compile({ lcr_gw: [...], lcr_rule: [...], lcr_rule_target: [...] }); // throws TableError
 */
import { TableError, type TableSet } from "../../tables/rows.js";
import { compileAliasTable } from "../../data-plane/modules/alias-db/alias-table.js";
import { compileSubscriberSet } from "../../data-plane/modules/auth/table.js";
import { compileCallFwd } from "../../data-plane/modules/callfwd/callfwd-table.js";
import { compileCarrierrouteTables } from "../../data-plane/modules/carrierroute/table.js";
import { compileDispatcherTables } from "../../data-plane/modules/dispatcher/table.js";
import { compileDroutingTables } from "../../data-plane/modules/drouting/table.js";
import { compileHtableRows } from "../../data-plane/modules/htable/table.js";
import { compileLcrTables } from "../../data-plane/modules/lcr/table.js";
import { compileMtreeTables } from "../../data-plane/modules/mtree/table.js";
import { compileAddressSet, compileTrustedSet } from "../../data-plane/modules/permissions/table.js";
import { compilePrefixRouteTables } from "../../data-plane/modules/prefix-route/table.js";
import { compileSpeedDial } from "../../data-plane/modules/speed-dial/speed-dial-table.js";

export interface KindDef {
  /** Kind name, as the data plane registers it (TableSink.kind). */
  readonly kind: string;
  /** Kamailio tables that make up this kind, in push order (referenced tables first). */
  readonly tables: readonly string[];
  /** Validates (and compiles) the rows; throws TableError naming table and row. Must be pure. */
  compile(set: TableSet): unknown;
  /** Where the validation comes from (shown by the `status` management method). */
  readonly validator: string;
}

/** The built-in kinds. Order is the order of `kinds()` and of pushes. */
export const KINDS: readonly KindDef[] = [
  {
    kind: "dispatcher",
    tables: ["dispatcher"],
    compile: compileDispatcherTables,
    validator: "data-plane/modules/dispatcher/table.ts compileDispatcherTables",
  },
  {
    kind: "lcr",
    tables: ["lcr_gw", "lcr_rule", "lcr_rule_target"],
    // lcr_count defaults to the highest lcr_id in the rows, as the module does without the param.
    compile: (set) => compileLcrTables(set),
    validator: "data-plane/modules/lcr/table.ts compileLcrTables",
  },
  {
    kind: "drouting",
    tables: ["dr_gateways", "dr_gw_lists", "dr_rules", "dr_groups"],
    compile: compileDroutingTables,
    validator: "data-plane/modules/drouting/table.ts compileDroutingTables",
  },
  {
    kind: "carrierroute",
    tables: ["carrier_name", "domain_name", "carrierroute", "carrierfailureroute"],
    // Default options (match_mode 10 = digits, default_tree "default"): the data plane's params are not known here.
    compile: (set) => compileCarrierrouteTables(set),
    validator: "data-plane/modules/carrierroute/table.ts compileCarrierrouteTables (default options)",
  },
  {
    kind: "prefix_route",
    tables: ["prefix_route"],
    compile: (set) => rowPositionToKey(set, "prefix_route", "prefix", () => compilePrefixRouteTables(set)),
    validator: "data-plane/modules/prefix-route/table.ts compilePrefixRouteTables",
  },
  {
    kind: "mtree",
    tables: ["mtree", "mtrees"],
    // Default tree options (type 0, char_list digits): the data plane's mtree params are not known here.
    compile: (set) => compileMtreeTables(set),
    validator: "data-plane/modules/mtree/table.ts compileMtreeTables (default options)",
  },
  {
    kind: "subscriber",
    tables: ["subscriber"],
    compile: compileSubscriberSet,
    validator: "data-plane/modules/auth/table.ts compileSubscriberSet",
  },
  {
    kind: "address",
    tables: ["address"],
    compile: compileAddressSet,
    validator: "data-plane/modules/permissions/table.ts compileAddressSet",
  },
  {
    kind: "trusted",
    tables: ["trusted"],
    compile: compileTrustedSet,
    validator: "data-plane/modules/permissions/table.ts compileTrustedSet",
  },
  {
    kind: "htable",
    tables: ["htable"],
    // The module's compileHtableSet also needs the data plane's htable definitions (dbtable=...),
    // which the control plane does not know; the row compile is the same check per table.
    compile: (set) => compileHtableRows(set.htable ?? [], "htable"),
    validator: "data-plane/modules/htable/table.ts compileHtableRows",
  },
  {
    kind: "alias_db",
    tables: ["dbaliases"],
    // The module's default `tables` param (["dbaliases"]); its row checks do not depend on params.
    compile: (set) => compileAliasTable(set, "dbaliases"),
    validator: "data-plane/modules/alias-db/alias-table.ts compileAliasTable",
  },
  {
    kind: "speed_dial",
    tables: ["speed_dial"],
    // use_domain 0 (the module's default): it only changes the lookup keys, not which rows are valid.
    compile: (set) => compileSpeedDial(set, 0, "speed_dial"),
    validator: "data-plane/modules/speed-dial/speed-dial-table.ts compileSpeedDial (default options)",
  },
  {
    kind: "callfwd",
    tables: ["olelo_callfwd", "olelo_callblock"],
    compile: compileCallFwd,
    validator: "data-plane/modules/callfwd/callfwd-table.ts compileCallFwd",
  },
];

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
