/**
 * Small but real TableSinks for protocol tests, fixtures and the push benchmark: each compiles its
 * rows into a lookup structure (Map by key) to one side, validates one column like a module would
 * (throws TableError naming table and row), and swaps the structure in on apply.
 *
 * @example
 *   const { tables, live } = createFakeTables(["dispatcher", "prefix_route"]);
 *   live.get("dispatcher")?.version;
 */
import { TableError, TableRegistry, type TableRow, type TableSet, type TableSink } from "../../core/tables/registry.js";
import { kindPlan } from "../../../tables/wire/table-kinds.js";

/** What a fake sink holds after apply. */
export interface LiveTable {
  version: string;
  /** table → key → row */
  maps: Map<string, Map<string | number, TableRow>>;
  rows: number;
  applies: number;
}

/** Rows whose first text column contains this marker are rejected (to provoke a NACK). */
export const BAD_ROW_MARKER = "!bad";

function keyOf(row: TableRow, i: number): string | number {
  const k = row.id ?? row.gwid ?? row.ruleid ?? row.prefix;
  return typeof k === "string" || typeof k === "number" ? k : i + 1;
}

/** A sink for `kind` built from the protocol's table list. */
export function createFakeSink(kind: string, live: Map<string, LiveTable>): TableSink<LiveTable> {
  const plan = kindPlan(kind);
  if (!plan) throw new Error(`no plan for ${kind}`);
  return {
    kind,
    tables: plan.tables.map((t) => t.name),
    compile(set: TableSet): LiveTable {
      const maps = new Map<string, Map<string | number, TableRow>>();
      let rows = 0;
      for (const t of plan.tables) {
        const m = new Map<string | number, TableRow>();
        const list = set[t.name] ?? [];
        const columns = t.codec.columns;
        for (let i = 0; i < list.length; i++) {
          const row = list[i]!;
          const key = keyOf(row, i);
          for (let c = 0; c < columns.length; c++) {
            const v = row[columns[c]!];
            if (typeof v === "string" && v.includes(BAD_ROW_MARKER)) throw new TableError(t.name, key, `value '${v}' is not allowed`);
          }
          if (m.has(key)) throw new TableError(t.name, key, "duplicate key");
          m.set(key, row);
        }
        rows += list.length;
        maps.set(t.name, m);
      }
      return { version: "", maps, rows, applies: 0 };
    },
    apply(compiled: LiveTable, version: string): void {
      const prev = live.get(kind);
      compiled.version = version;
      compiled.applies = (prev?.applies ?? 0) + 1;
      live.set(kind, compiled);
    },
  };
}

/** A TableRegistry with fake sinks for the given kinds, and the map of what is live. */
export function createFakeTables(kinds: readonly string[]): { tables: TableRegistry; live: Map<string, LiveTable> } {
  const tables = new TableRegistry();
  const live = new Map<string, LiveTable>();
  for (const k of kinds) tables.register(createFakeSink(k, live));
  return { tables, live };
}
