/**
 * Generic `<table>.list/get/create/update/delete` management methods for every Kamailio table (and
 * the writable olelo_* tables olelo_callfwd / olelo_callblock),
 * described as RpcMethod descriptors (lib/rpc/registry.ts) so parameters bind by name
 * or position and `system.methodHelp` documents them. Column names are Kamailio's.
 *
 * @example
 *   {"jsonrpc":"2.0","method":"dispatcher.create","params":{"setid":1,"destination":"sip:10.0.0.1:5060"},"id":1}
 */
import type { Pool, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { RpcCode, RpcError } from "../../lib/rpc/errors.js";
import type { RpcCallInfo, RpcMethod, RpcParam } from "../../lib/rpc/registry.js";
import type { TableRow } from "../../tables/rows.js";
import type { TableInfo } from "../db/catalog.js";
import type { DbSnapshotSource } from "../compile/source.js";
import { coerceColumnValue } from "./values.js";
import { q, runWrite, selectRow } from "./write.js";

/** Call info as the management server fills it: who is calling. */
export interface ApiCallInfo extends RpcCallInfo {
  readonly actor: string;
}

/** The caller's name for the audit log ("local" on an unauthenticated loopback server). */
export function actorOf(call: RpcCallInfo): string {
  return (call as Partial<ApiCallInfo>).actor ?? "local";
}

export interface CrudDeps {
  pool: Pool;
  source: DbSnapshotSource;
}

const MAX_LIMIT = 10000;

/** A 404 for a missing row. */
export function notFound(table: TableInfo, id: unknown): RpcError {
  return new RpcError(RpcCode.NotFound, `${table.name} row ${String(id)} not found`, { table: table.name, [table.pk]: id });
}

/** Checks and converts the column params of a create/update call. */
export function columnValues(table: TableInfo, args: Record<string, unknown>, skip: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (skip.has(k) || v === undefined) continue;
    const col = table.column.get(k);
    if (!col) throw new RpcError(RpcCode.InvalidParams, `unknown parameter '${k}'`, { param: k });
    out[k] = coerceColumnValue(col, v);
  }
  return out;
}

function colParams(table: TableInfo, opt: (name: string) => boolean): RpcParam[] {
  return table.columns.map((c) => ({
    name: c.name,
    type: "any" as const,
    optional: opt(c.name),
    doc: `${c.sqlType}${c.notNull ? "" : ", may be null"}`,
  }));
}

function pkParam(table: TableInfo): RpcParam {
  return { name: table.pk, type: "any", doc: `row key (${table.column.get(table.pk)!.sqlType})` };
}

/** Inserts a row of `table` with the given (already checked) values; returns the stored row. */
export function insertRow(table: TableInfo, values: Record<string, unknown>) {
  return async (conn: import("mysql2/promise").PoolConnection) => {
    if (!table.pkAuto) {
      if (await selectRow(conn, table, values[table.pk], true)) {
        throw new RpcError(RpcCode.Conflict, `duplicate ${table.name} row: ${table.pk} '${String(values[table.pk])}' already exists`, {
          table: table.name,
          key: table.pk,
          columns: [table.pk],
          value: values[table.pk],
        });
      }
    }
    const cols = Object.keys(values);
    const [res] = await conn.query<ResultSetHeader>(
      `INSERT INTO ${q(table.name)} (${cols.map(q).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
      cols.map((c) => values[c]),
    );
    const id = (values[table.pk] as string | number | undefined) ?? res.insertId;
    return { id, before: null, after: await selectRow(conn, table, id) };
  };
}

/** Updates one row; 404 when it does not exist. */
export function updateRow(table: TableInfo, id: unknown, values: Record<string, unknown>) {
  return async (conn: import("mysql2/promise").PoolConnection) => {
    const before = await selectRow(conn, table, id, true);
    if (!before) throw notFound(table, id);
    const cols = Object.keys(values);
    await conn.query(`UPDATE ${q(table.name)} SET ${cols.map((c) => `${q(c)} = ?`).join(", ")} WHERE ${q(table.pk)} = ?`, [
      ...cols.map((c) => values[c]),
      id,
    ]);
    return { id: id as string | number, before, after: await selectRow(conn, table, id) };
  };
}

/** The list/get/create/update/delete descriptors of one table (list/get only when read-only). */
export function crudMethods(table: TableInfo, deps: CrudDeps): RpcMethod[] {
  const t = table.name;
  const pkCol = table.column.get(table.pk)!;
  const pkValue = (v: unknown) => coerceColumnValue(pkCol, v);
  const methods: RpcMethod[] = [
    {
      name: `${t}.list`,
      doc: `Lists ${t} rows. Column params filter by equality (null matches NULL); 'like' maps columns to SQL LIKE patterns.`,
      params: [
        ...colParams(table, () => true),
        { name: "like", type: "object", optional: true, doc: "{column: pattern} with % and _ wildcards" },
        { name: "limit", type: "int", optional: true, doc: `rows to return (default 100, at most ${MAX_LIMIT})` },
        { name: "offset", type: "int", optional: true, doc: "rows to skip (default 0)" },
        { name: "order", type: "string", optional: true, doc: `column to sort by, '-' prefix for descending (default ${table.pk})` },
      ],
      returns: `{ total, limit, offset, rows: [{${table.columns.map((c) => c.name).join(", ")}}] }`,
      async handler(args) {
        const where: string[] = [];
        const vals: unknown[] = [];
        for (const c of table.columns) {
          if (args[c.name] === undefined) continue;
          const v = coerceColumnValue({ ...c, notNull: false }, args[c.name]);
          if (v === null) where.push(`${q(c.name)} IS NULL`);
          else {
            where.push(`${q(c.name)} = ?`);
            vals.push(v);
          }
        }
        const like = (args.like ?? {}) as Record<string, unknown>;
        for (const [k, v] of Object.entries(like)) {
          if (!table.column.has(k)) throw new RpcError(RpcCode.InvalidParams, `invalid parameter 'like': unknown column '${k}'`, { param: "like" });
          if (typeof v !== "string") throw new RpcError(RpcCode.InvalidParams, `invalid parameter 'like': pattern for '${k}' must be a string`, { param: "like" });
          where.push(`${q(k)} LIKE ?`);
          vals.push(v);
        }
        const limit = (args.limit as number | undefined) ?? 100;
        const offset = (args.offset as number | undefined) ?? 0;
        if (limit < 0 || limit > MAX_LIMIT) throw RpcError.invalidParam("limit", `must be 0..${MAX_LIMIT}`);
        if (offset < 0) throw RpcError.invalidParam("offset", "must not be negative");
        let order = (args.order as string | undefined) ?? table.pk;
        const desc = order.startsWith("-");
        if (desc) order = order.slice(1);
        if (!table.column.has(order)) throw RpcError.invalidParam("order", `unknown column '${order}'`);
        const w = where.length ? ` WHERE ${where.join(" AND ")}` : "";
        const [cnt] = await deps.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${q(t)}${w}`, vals);
        const [rows] = await deps.pool.query<RowDataPacket[]>({
          sql: `SELECT ${table.columns.map((c) => q(c.name)).join(", ")} FROM ${q(t)}${w} ORDER BY ${q(order)}${desc ? " DESC" : ""}${
            order !== table.pk ? `, ${q(table.pk)}` : ""
          } LIMIT ? OFFSET ?`,
          values: [...vals, limit, offset],
          dateStrings: true,
        });
        return { total: Number(cnt[0]!.n), limit, offset, rows: rows.map((r) => ({ ...r }) as TableRow) };
      },
    },
    {
      name: `${t}.get`,
      doc: `Returns one ${t} row by ${table.pk}; 404 when absent.`,
      params: [pkParam(table)],
      returns: `{${table.columns.map((c) => c.name).join(", ")}}`,
      async handler(args) {
        const id = pkValue(args[table.pk]);
        const row = await selectRow(deps.pool, table, id);
        if (!row) throw notFound(table, id);
        return row;
      },
    },
  ];
  if (!table.writable) return methods;
  const required = (name: string) =>
    name === table.pk ? table.pkAuto : !(table.column.get(name)!.notNull && !table.column.get(name)!.hasDefault);
  methods.push(
    {
      name: `${t}.create`,
      doc: `Adds a ${t} row. Rejected with 422 if the table's kind would no longer compile, 409 on a duplicate key.`,
      params: colParams(table, required),
      returns: "{ row, kind, version }",
      async handler(args, call) {
        const values = columnValues(table, args, new Set());
        const res = await runWrite(deps.pool, deps.source, { actor: actorOf(call), action: "create", table, apply: insertRow(table, values) });
        return { row: res.row, kind: res.kind, version: res.version, ...(res.warning ? { warning: res.warning } : {}) };
      },
    },
    {
      name: `${t}.update`,
      doc: `Changes columns of one ${t} row (by ${table.pk}). 404 when absent, 422 if the kind would no longer compile.`,
      params: [pkParam(table), ...colParams(table, () => true).filter((p) => p.name !== table.pk)],
      returns: "{ row, kind, version }",
      async handler(args, call) {
        const id = pkValue(args[table.pk]);
        const values = columnValues(table, args, new Set([table.pk]));
        if (Object.keys(values).length === 0) throw new RpcError(RpcCode.InvalidParams, `nothing to update: give at least one column of ${t}`);
        const res = await runWrite(deps.pool, deps.source, { actor: actorOf(call), action: "update", table, apply: updateRow(table, id, values) });
        return { row: res.row, kind: res.kind, version: res.version, ...(res.warning ? { warning: res.warning } : {}) };
      },
    },
    {
      name: `${t}.delete`,
      doc: `Deletes one ${t} row (by ${table.pk}). 404 when absent, 422 if the kind would no longer compile (e.g. a gateway still referenced).`,
      params: [pkParam(table)],
      returns: "{ deleted, kind, version }",
      async handler(args, call) {
        const id = pkValue(args[table.pk]);
        const res = await runWrite(deps.pool, deps.source, {
          actor: actorOf(call),
          action: "delete",
          table,
          apply: async (conn) => {
            const before = await selectRow(conn, table, id, true);
            if (!before) throw notFound(table, id);
            await conn.query(`DELETE FROM ${q(t)} WHERE ${q(table.pk)} = ?`, [id]);
            return { id: id as string | number, before, after: null };
          },
        });
        return { deleted: res.before, kind: res.kind, version: res.version, ...(res.warning ? { warning: res.warning } : {}) };
      },
    },
  );
  return methods;
}
