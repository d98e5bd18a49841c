/**
 * The billing API (control-plane/README.md, "Billing API"): `cdrs.ingest` (the data planes' CDR
 * spools deliver here, at least once; duplicates by cdr_id are ignored), and the read-only
 * `cdrs.list` / `cdrs.get` / `cdrs.export` over `olelo_cdrs`. Accounting and dialog tables
 * (acc, missed_calls, acc_cdrs, dialog, dialog_vars) keep list/get only; their create/update/delete
 * answer 403 with the reason.
 *
 * Cursor: `seq` (AUTO_INCREMENT). Every ingest batch is one INSERT under the server-wide lock
 * GET_LOCK('olelo_cdrs_ingest'), so seq order is commit order even with several control planes:
 * a poller that asks `{after: lastSeq}` gets every CDR exactly once.
 *
 * @example
 *   {"jsonrpc":"2.0","method":"cdrs.list","params":{"after":0,"limit":500,"account":"1001"},"id":1}
 *   // → { rows: [{seq, cdr_id, call_id, ...}], next_cursor: 500, more: true }
 */
import type { Pool, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { RpcCode, RpcError } from "../../lib/rpc/errors.js";
import type { RpcMethod, RpcParam } from "../../lib/rpc/registry.js";
import { tableInfo } from "../db/catalog.js";
import { coerceColumnValue } from "./values.js";

const T = tableInfo("olelo_cdrs");
/** Columns a data plane sends (seq and received_ms are the control plane's). */
export const CDR_INGEST_COLUMNS = T.columns.map((c) => c.name).filter((c) => c !== "seq" && c !== "received_ms");
const ALL = T.columns.map((c) => c.name);
const MAX_LIMIT = 10000;
const MAX_BATCH = 1000;
/** Tables written only by the data planes. */
export const DATA_PLANE_TABLES = ["acc", "missed_calls", "acc_cdrs", "dialog", "dialog_vars"] as const;

const q = (s: string) => `\`${s}\``;

function checkCdr(raw: unknown, i: number): unknown[] {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw RpcError.invalidParam(`cdrs[${i}]`, "must be an object");
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!CDR_INGEST_COLUMNS.includes(k)) throw RpcError.invalidParam(`cdrs[${i}].${k}`, "unknown CDR field");
  }
  return CDR_INGEST_COLUMNS.map((name) => {
    const col = T.column.get(name)!;
    let v = r[name];
    if (name === "vars" && v !== undefined && v !== null && typeof v === "object") v = JSON.stringify(v);
    if (v === undefined) {
      if (col.notNull && !col.hasDefault) throw RpcError.invalidParam(`cdrs[${i}].${name}`, "is required");
      return col.notNull ? defaultOf(col.cls) : null;
    }
    try {
      return coerceColumnValue(col, v);
    } catch (e) {
      throw e instanceof RpcError ? new RpcError(e.code, `cdrs[${i}]: ${e.message}`, e.data) : e;
    }
  });
}

function defaultOf(cls: string): unknown {
  return cls === "int" ? 0 : "";
}

const filterParams: RpcParam[] = [
  { name: "after", type: "int", optional: true, doc: "cursor: only CDRs with seq > after, in commit order (default 0)" },
  { name: "from_ms", type: "int", optional: true, doc: "start_ms >= from_ms (epoch ms)" },
  { name: "to_ms", type: "int", optional: true, doc: "start_ms < to_ms (epoch ms)" },
  { name: "account", type: "string", optional: true },
  { name: "gateway", type: "string", optional: true },
  { name: "node", type: "string", optional: true },
  { name: "call_id", type: "string", optional: true },
  { name: "limit", type: "int", optional: true, doc: `rows (default 100, at most ${MAX_LIMIT})` },
];

async function select(pool: Pool, args: Record<string, unknown>): Promise<{ rows: Record<string, unknown>[]; next_cursor: number; more: boolean }> {
  const where: string[] = [];
  const vals: unknown[] = [];
  const after = (args.after as number | undefined) ?? 0;
  if (after < 0) throw RpcError.invalidParam("after", "must be >= 0");
  where.push("`seq` > ?");
  vals.push(after);
  if (args.from_ms !== undefined) {
    where.push("`start_ms` >= ?");
    vals.push(args.from_ms);
  }
  if (args.to_ms !== undefined) {
    where.push("`start_ms` < ?");
    vals.push(args.to_ms);
  }
  for (const k of ["account", "gateway", "node", "call_id"]) {
    if (args[k] === undefined) continue;
    where.push(`${q(k)} = ?`);
    vals.push(args[k]);
  }
  const limit = (args.limit as number | undefined) ?? 100;
  if (limit < 1 || limit > MAX_LIMIT) throw RpcError.invalidParam("limit", `must be 1..${MAX_LIMIT}`);
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT ${ALL.map(q).join(", ")} FROM \`olelo_cdrs\` WHERE ${where.join(" AND ")} ORDER BY \`seq\` LIMIT ?`,
    [...vals, limit + 1],
  );
  const more = rows.length > limit;
  const page = rows.slice(0, limit).map((r) => ({ ...r }));
  return { rows: page, next_cursor: page.length ? Number(page[page.length - 1]!.seq) : after, more };
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV of CDR rows: a header line with every column, then one line per row (RFC 4180 quoting). */
export function cdrsCsv(rows: readonly Record<string, unknown>[]): string {
  return [ALL.join(","), ...rows.map((r) => ALL.map((c) => csvCell(r[c])).join(","))].join("\r\n") + "\r\n";
}

/** Inserts a batch (INSERT IGNORE on cdr_id) under the ingest lock; returns how many were new. */
export async function ingestCdrs(pool: Pool, rows: readonly unknown[][]): Promise<number> {
  if (rows.length === 0) return 0;
  const conn = await pool.getConnection();
  try {
    const [lock] = await conn.query<RowDataPacket[]>("SELECT GET_LOCK('olelo_cdrs_ingest', 10) AS ok");
    if (Number(lock[0]!.ok) !== 1) throw new RpcError(RpcCode.Unavailable, "CDR ingest lock busy; retry");
    try {
      const now = Date.now();
      const [res] = await conn.query<ResultSetHeader>(
        `INSERT IGNORE INTO \`olelo_cdrs\` (${[...CDR_INGEST_COLUMNS, "received_ms"].map(q).join(", ")}) VALUES ?`,
        [rows.map((r) => [...r, now])],
      );
      return res.affectedRows;
    } finally {
      await conn.query("SELECT RELEASE_LOCK('olelo_cdrs_ingest')").catch(() => undefined);
    }
  } finally {
    conn.release();
  }
}

/** cdrs.* methods and the refusals for data-plane-owned tables. */
export function cdrsMethods(pool: Pool): RpcMethod[] {
  const refusals: RpcMethod[] = DATA_PLANE_TABLES.flatMap((t) =>
    (["create", "update", "delete"] as const).map((op) => ({
      name: `${t}.${op}`,
      doc: `Refused: ${t} is written by the data planes only (read it with ${t}.list).`,
      params: tableInfo(t).columns.map((c) => ({ name: c.name, type: "any" as const, optional: true })),
      handler: () => {
        throw new RpcError(RpcCode.Forbidden, `${t} is read-only through the management API: its rows are written by the data planes (${t}.list reads them)`, { table: t });
      },
    })),
  );
  return [
    ...refusals,
    {
      name: "cdrs.ingest",
      doc: "Data planes deliver spooled CDRs here (at least once). A CDR whose cdr_id is already stored is ignored.",
      params: [{ name: "cdrs", type: "array", doc: `CDR objects (${CDR_INGEST_COLUMNS.join(", ")}); at most ${MAX_BATCH}` }],
      returns: "{ accepted, duplicates }",
      async handler(args) {
        const list = args.cdrs as unknown[];
        if (list.length > MAX_BATCH) throw RpcError.invalidParam("cdrs", `at most ${MAX_BATCH} per call`);
        const rows = list.map((c, i) => checkCdr(c, i));
        const accepted = await ingestCdrs(pool, rows);
        return { accepted, duplicates: rows.length - accepted };
      },
    },
    {
      name: "cdrs.list",
      doc: "CDRs in commit order after a cursor (seq), with filters. Poll with after = the previous next_cursor to get every CDR exactly once.",
      params: filterParams,
      returns: `{ rows: [{${ALL.join(", ")}}], next_cursor, more }`,
      handler: (args) => select(pool, args),
    },
    {
      name: "cdrs.get",
      doc: "One CDR by cdr_id; 404 when absent.",
      params: [{ name: "cdr_id", type: "string" }],
      returns: `{${ALL.join(", ")}}`,
      async handler(args) {
        const [rows] = await pool.query<RowDataPacket[]>(`SELECT ${ALL.map(q).join(", ")} FROM \`olelo_cdrs\` WHERE \`cdr_id\` = ?`, [args.cdr_id]);
        if (!rows[0]) throw new RpcError(RpcCode.NotFound, `CDR ${String(args.cdr_id)} not found`, { cdr_id: args.cdr_id });
        return { ...rows[0] };
      },
    },
    {
      name: "cdrs.dead_letters",
      doc: "CDRs the webhook (--cdr-webhook) never got accepted after every attempt, newest first.",
      params: [
        { name: "url", type: "string", optional: true, doc: "only this webhook URL" },
        { name: "limit", type: "int", optional: true, doc: "rows (default 100, at most 10000)" },
      ],
      returns: "[{ id, url, seq, cdr_id, attempts, last_error, failed_ms }]",
      async handler(args) {
        const limit = (args.limit as number | undefined) ?? 100;
        if (limit < 1 || limit > MAX_LIMIT) throw RpcError.invalidParam("limit", `must be 1..${MAX_LIMIT}`);
        const w = args.url === undefined ? "" : " WHERE url = ?";
        const [rows] = await pool.query<RowDataPacket[]>(`SELECT * FROM \`olelo_cdr_dead\`${w} ORDER BY id DESC LIMIT ?`, [...(args.url === undefined ? [] : [args.url]), limit]);
        return rows.map((r) => ({ ...r }));
      },
    },
    {
      name: "cdrs.export",
      doc: "The same selection as cdrs.list as CSV (header line, RFC 4180 quoting).",
      params: filterParams,
      returns: "{ csv, rows, next_cursor, more }",
      async handler(args) {
        const r = await select(pool, args);
        return { csv: cdrsCsv(r.rows), rows: r.rows.length, next_cursor: r.next_cursor, more: r.more };
      },
    },
  ];
}
