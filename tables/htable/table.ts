import { TableError, type TableRow, type TableSet } from "../rows.js";

/**
 * Pure compile of rows in Kamailio's `htable` DB table shape (id, key_name, key_type, value_type,
 * key_value, expires; table version 2) into items, shared by the MySQL loader and the table sink.
 * key_type 1 rows build arrays: `name[0]`, `name[1]` ... plus `name::size`, as Kamailio does.
 */
/** An htable value: an integer or a string (value_type 1 or 0). */
export type HtValue = string | number;

export interface HtRow {
  readonly key: string;
  readonly value: HtValue;
  /** Absolute expiry in Unix seconds from the `expires` column (0 = none). */
  readonly expires: number;
}

const INT_RE = /^\s*[-+]?\d+\s*$/;

function rowId(row: TableRow, i: number): string | number {
  const id = row.id;
  return typeof id === "number" || (typeof id === "string" && id !== "") ? id : i + 1;
}

function intCol(table: string, id: string | number, row: TableRow, col: string, def: number): number {
  const v = row[col];
  if (v === null || v === undefined || v === "") return def;
  const n = typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : typeof v === "string" && INT_RE.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new TableError(table, id, `column ${col} must be an integer, got ${JSON.stringify(String(v))}`);
  return n;
}

function textCol(table: string, id: string | number, row: TableRow, col: string): string | null {
  const v = row[col];
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  throw new TableError(table, id, `column ${col} must be text`);
}

/** Validates and compiles the rows of one `htable`-shaped table. Throws TableError on the first bad row. */
export function compileHtableRows(rows: readonly TableRow[], table = "htable"): HtRow[] {
  const out: HtRow[] = [];
  const arrays = new Map<string, number>(); // array name → next index
  rows.forEach((row, i) => {
    if (typeof row !== "object" || row === null) throw new TableError(table, i + 1, "row is not an object");
    const id = rowId(row, i);
    const name = textCol(table, id, row, "key_name");
    if (name === null || name === "") throw new TableError(table, id, "key_name is empty");
    const ktype = intCol(table, id, row, "key_type", 0);
    if (ktype !== 0 && ktype !== 1) throw new TableError(table, id, `key_type ${ktype} is not 0 (scalar) or 1 (array)`);
    const vtype = intCol(table, id, row, "value_type", 0);
    if (vtype !== 0 && vtype !== 1) throw new TableError(table, id, `value_type ${vtype} is not 0 (string) or 1 (integer)`);
    const raw = textCol(table, id, row, "key_value") ?? "";
    let value: HtValue = raw;
    if (vtype === 1) {
      const n = INT_RE.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) throw new TableError(table, id, `key_value '${raw}' is not an integer (value_type 1)`);
      value = n;
    }
    const expires = intCol(table, id, row, "expires", 0);
    if (expires < 0) throw new TableError(table, id, `expires ${expires} is negative`);
    if (ktype === 1) {
      const idx = arrays.get(name) ?? 0;
      arrays.set(name, idx + 1);
      out.push({ key: `${name}[${idx}]`, value, expires });
    } else {
      out.push({ key: name, value, expires });
    }
  });
  for (const [name, n] of arrays) out.push({ key: `${name}::size`, value: n, expires: 0 });
  return out;
}

/**
 * Table-sink compile for kind "htable": every table in the set must be the `dbtable` of at
 * least one configured htable; returns compiled rows per DB table name.
 */
export function compileHtableSet(set: TableSet, dbtables: ReadonlySet<string>): Map<string, HtRow[]> {
  const out = new Map<string, HtRow[]>();
  for (const [name, rows] of Object.entries(set)) {
    if (!dbtables.has(name)) throw new TableError(name, null, `no htable is defined with dbtable=${name}`);
    if (!Array.isArray(rows)) throw new TableError(name, null, "rows must be an array");
    out.set(name, compileHtableRows(rows, name));
  }
  return out;
}
