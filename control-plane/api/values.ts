/**
 * Checks one management-API input value against its column (type, range, length, NULL) and returns
 * the value to store, or throws `RpcError(-32602)` naming the parameter. Kamailio's tools send
 * numbers as strings, so numeric strings are accepted for numeric columns.
 *
 * @example
 *   coerceColumnValue(tableInfo("dispatcher").column.get("setid")!, "7") // 7
 */
import { RpcError } from "../../lib/rpc/errors.js";
import type { ColumnInfo } from "../db/catalog.js";

const INT_RE = /^\s*[-+]?\d+\s*$/;
const DATETIME_RE = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d{1,6})?(Z|[+-]00:?00)?$/;

/** Validates and converts one value for `col`. */
export function coerceColumnValue(col: ColumnInfo, v: unknown): unknown {
  const bad = (why: string) => RpcError.invalidParam(col.name, why);
  if (v === null) {
    if (col.notNull) throw bad("must not be null");
    return null;
  }
  switch (col.cls) {
    case "int": {
      const n = typeof v === "number" ? v : typeof v === "string" && INT_RE.test(v) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n)) throw bad(`expected an integer, got ${JSON.stringify(v)}`);
      if (col.min !== undefined && n < col.min) throw bad(`${n} is below ${col.min} (${col.sqlType})`);
      if (col.max !== undefined && n > col.max) throw bad(`${n} is above ${col.max} (${col.sqlType})`);
      return n;
    }
    case "float": {
      const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
      if (!Number.isFinite(n)) throw bad(`expected a number, got ${JSON.stringify(v)}`);
      return n;
    }
    case "string": {
      if (typeof v !== "string" && typeof v !== "number") throw bad(`expected a string, got ${JSON.stringify(v)}`);
      const s = String(v);
      if (col.maxLength !== undefined && [...s].length > col.maxLength) {
        throw bad(`longer than ${col.maxLength} characters (${col.sqlType})`);
      }
      return s;
    }
    case "datetime": {
      if (typeof v !== "string") throw bad(`expected a date-time string 'YYYY-MM-DD HH:MM:SS'`);
      const m = v.trim().match(DATETIME_RE);
      if (!m || Number.isNaN(Date.parse(`${m[1]}T${m[2]}Z`))) throw bad(`'${v}' is not a date-time 'YYYY-MM-DD HH:MM:SS'`);
      return `${m[1]} ${m[2]}`;
    }
    case "json":
      return v;
    default:
      throw bad(`column type ${col.sqlType} cannot be written through the API`);
  }
}
