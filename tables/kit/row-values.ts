import { TableError, type TableRow } from "../rows.js";

/**
 * Column readers shared by the routing-table compilers (lcr, drouting, carrierroute,
 * prefix_route, mtree). Rows arrive with Kamailio's column names but with values typed by their
 * source: strings from CSV/table files, numbers (or bigint) from MySQL, numbers or strings from
 * JSON. Every reader coerces carefully and throws a TableError naming the table, the row and the
 * column, so that the control plane and the proxy reject a bad row with the same message.
 *
 * NULL is `null`, `undefined` or the MySQL CSV marker `\N`; an empty string also counts as NULL
 * for numeric columns.
 *
 * @example
 *   const id = rowIdOf(row, "id", i);
 *   const port = readInt(row, "lcr_gw", id, "port", { min: 0, max: 65535, nullable: true });
 */

/** The id used in error messages: the row's id column, or `#<position>` (1-based) without one. */
export function rowIdOf(row: TableRow, idColumn: string | null, index: number): string | number {
  if (idColumn !== null) {
    const v = row[idColumn];
    if (typeof v === "number" || typeof v === "string") return v;
    if (typeof v === "bigint") return Number(v);
  }
  return `#${index + 1}`;
}

function isNull(v: unknown): boolean {
  return v === null || v === undefined || v === "\\N";
}

export interface IntOptions {
  readonly min?: number;
  readonly max?: number;
  /** Value used when the column is NULL; without it (and without `nullable`) NULL is an error. */
  readonly def?: number;
}

/** Parses an integer column; throws TableError for NULL (without default), non-integers, range. */
export function readInt(row: TableRow, table: string, id: string | number, column: string, opts: IntOptions = {}): number {
  const v = readIntOrNull(row, table, id, column, opts);
  if (v === null) {
    if (opts.def !== undefined) return opts.def;
    throw new TableError(table, id, `${column} must not be NULL`);
  }
  return v;
}

/** Like readInt, but NULL (or empty) gives null. */
export function readIntOrNull(row: TableRow, table: string, id: string | number, column: string, opts: IntOptions = {}): number | null {
  const v = row[column];
  if (isNull(v) || v === "") return null;
  let n: number;
  if (typeof v === "number") {
    n = v;
  } else if (typeof v === "bigint") {
    n = Number(v);
  } else if (typeof v === "boolean") {
    n = v ? 1 : 0;
  } else if (typeof v === "string" && /^\s*[-+]?\d+\s*$/.test(v)) {
    n = Number(v.trim());
  } else {
    throw new TableError(table, id, `${column} ${describe(v)} is not an integer`);
  }
  if (!Number.isSafeInteger(n)) throw new TableError(table, id, `${column} ${describe(v)} is not an integer`);
  if (opts.min !== undefined && n < opts.min) throw new TableError(table, id, `${column} ${n} is below ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw new TableError(table, id, `${column} ${n} is above ${opts.max}`);
  return n;
}

export interface FloatOptions {
  readonly min?: number;
  readonly max?: number;
  readonly def?: number;
}

/** Parses a FLOAT/DOUBLE column (carrierroute.prob). */
export function readFloat(row: TableRow, table: string, id: string | number, column: string, opts: FloatOptions = {}): number {
  const v = row[column];
  let n: number;
  if (isNull(v) || v === "") {
    if (opts.def !== undefined) return opts.def;
    throw new TableError(table, id, `${column} must not be NULL`);
  }
  if (typeof v === "number") n = v;
  else if (typeof v === "bigint") n = Number(v);
  else if (typeof v === "string" && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) n = Number(v.trim());
  else throw new TableError(table, id, `${column} ${describe(v)} is not a number`);
  if (!Number.isFinite(n)) throw new TableError(table, id, `${column} ${describe(v)} is not a number`);
  if (opts.min !== undefined && n < opts.min) throw new TableError(table, id, `${column} ${n} is below ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw new TableError(table, id, `${column} ${n} is above ${opts.max}`);
  return n;
}

export interface StrOptions {
  /** Longest allowed value (the column width where it carries meaning). */
  readonly maxLength?: number;
  /** NULL is an error instead of "". */
  readonly required?: boolean;
  /** "" is an error as well (implies required). */
  readonly nonEmpty?: boolean;
}

/** Reads a string column; NULL gives "" unless `required`. Numbers are turned into strings. */
export function readStr(row: TableRow, table: string, id: string | number, column: string, opts: StrOptions = {}): string {
  const v = readStrOrNull(row, table, id, column, opts);
  if (v === null) {
    if (opts.required || opts.nonEmpty) throw new TableError(table, id, `${column} must not be NULL`);
    return "";
  }
  if (opts.nonEmpty && v === "") throw new TableError(table, id, `${column} must not be empty`);
  return v;
}

/** Like readStr but keeps NULL apart from "" (lcr: NULL hostname vs NULL ip_addr). */
export function readStrOrNull(row: TableRow, table: string, id: string | number, column: string, opts: StrOptions = {}): string | null {
  const v = row[column];
  if (isNull(v)) return null;
  let s: string;
  if (typeof v === "string") s = v;
  else if (typeof v === "number" || typeof v === "bigint") s = String(v);
  else throw new TableError(table, id, `${column} ${describe(v)} is not a string`);
  if (opts.maxLength !== undefined && s.length > opts.maxLength) {
    throw new TableError(table, id, `${column} is longer than ${opts.maxLength} characters`);
  }
  return s;
}

/** Rows of one table, or [] when the set does not carry it; throws when it is not an array. */
export function tableRows(set: Readonly<Record<string, unknown>>, table: string): readonly TableRow[] {
  const rows = set[table];
  if (rows === undefined || rows === null) return [];
  if (!Array.isArray(rows)) throw new TableError(table, null, "expected an array of rows");
  rows.forEach((r, i) => {
    if (r === null || typeof r !== "object" || Array.isArray(r)) throw new TableError(table, `#${i + 1}`, "row is not an object");
  });
  return rows as TableRow[];
}

function describe(v: unknown): string {
  if (typeof v === "string") return `'${v}'`;
  if (typeof v === "object") return JSON.stringify(v) ?? String(v);
  return String(v);
}

/**
 * Rows of one table without looking at them yet (for sliced compiles, which check each row in
 * their own loop with `rowAt`, so a 1M-row table is not walked twice in one go); [] when the
 * set does not carry the table; throws when it is not an array.
 */
export function tableArray(set: Readonly<Record<string, unknown>>, table: string): readonly unknown[] {
  const rows = set[table];
  if (rows === undefined || rows === null) return [];
  if (!Array.isArray(rows)) throw new TableError(table, null, "expected an array of rows");
  return rows;
}

/** Row `i` of `rows` (from tableArray), or TableError naming it (`#<i+1>`) when it is not an object. */
export function rowAt(rows: readonly unknown[], i: number, table: string): TableRow {
  const r = rows[i];
  if (r === null || typeof r !== "object" || Array.isArray(r)) throw new TableError(table, `#${i + 1}`, "row is not an object");
  return r as TableRow;
}
