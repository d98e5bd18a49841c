/**
 * The one path every management-API write takes: lock the kind, run the change in a transaction,
 * compile the kind's candidate rows inside that transaction, and commit only if they compile (else
 * roll back and answer 422 naming table/row/reason). The audit row is written in the same
 * transaction, so a change and its audit record commit together. After the commit the kind is
 * recompiled from the database and its new version is what the data planes get.
 *
 * Rule when the kind holds bad rows written outside the API: a write is still accepted unless the
 * row being written is a bad one (so bad rows can be fixed or deleted one by one). Under the skip
 * policy the kind goes live without the bad rows; a held kind (hold policy) is not pushed until it
 * compiles again.
 */
import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";
import { RpcCode, RpcError } from "../../lib/rpc/errors.js";
import type { TableRow } from "../../tables/rows.js";
import type { TableInfo } from "../db/catalog.js";
import { kindOfTable } from "../compile/kinds.js";
import { readTables } from "../compile/read-rows.js";
import type { DbSnapshotSource } from "../compile/source.js";

/** HTTP-like code for "the change would not compile" (data: {kind, table, row, reason}). */
export const CODE_REJECTED = 422;

export const q = (name: string): string => "`" + name.replace(/`/g, "``") + "`";

/** Result of applying one change on the transaction's connection. */
export interface Applied {
  id: string | number;
  before: TableRow | null;
  after: TableRow | null;
}

export interface WriteRequest {
  actor: string;
  action: string;
  table: TableInfo;
  /** Applies the change; may run twice (see the module comment), so it must re-read what it needs. */
  apply(conn: PoolConnection): Promise<Applied>;
}

export interface WriteResult {
  id: string | number;
  /** The row after the change (null after a delete). */
  row: TableRow | null;
  /** The row before the change (null for a create). */
  before: TableRow | null;
  kind: string | null;
  /** The kind's version after this change (null for tables outside any kind). */
  version: string | null;
  warning?: string;
}

/** Columns whose values never go into the audit log. */
const SECRET_COLUMNS = new Set(["password", "ha1", "ha1b"]);

function redact(row: TableRow | null): TableRow | null {
  if (!row) return null;
  const out: TableRow = {};
  for (const [k, v] of Object.entries(row)) out[k] = SECRET_COLUMNS.has(k) && v !== "" && v !== null ? "(secret)" : v;
  return out;
}

/** Reads one row by key on `conn` (known columns only). */
export async function selectRow(conn: Pool | PoolConnection, table: TableInfo, id: unknown, forUpdate = false): Promise<TableRow | null> {
  const [rows] = await conn.query<RowDataPacket[]>({
    sql: `SELECT ${table.columns.map((c) => q(c.name)).join(", ")} FROM ${q(table.name)} WHERE ${q(table.pk)} = ? LIMIT 1${forUpdate ? " FOR UPDATE" : ""}`,
    values: [id],
    dateStrings: true,
  });
  return rows[0] ? { ...(rows[0] as TableRow) } : null;
}

/** Maps MySQL errors to API errors with stable codes. */
export function mapDbError(e: unknown, table: TableInfo): unknown {
  const err = e as { code?: string; errno?: number; sqlMessage?: string; message?: string };
  if (err.code === "ER_DUP_ENTRY") {
    const m = (err.sqlMessage ?? "").match(/Duplicate entry '(.*)' for key '(.*)'/);
    const key = m?.[2]?.replace(/^.*\./, "");
    const uk = table.uniqueKeys.find((u) => u.name === key);
    const cols = uk ? uk.columns : key === "PRIMARY" ? [table.pk] : [];
    return new RpcError(RpcCode.Conflict, `duplicate ${table.name} row: ${cols.join("/") || key} '${m?.[1] ?? "?"}' already exists`, {
      table: table.name,
      key: key ?? null,
      columns: cols,
      value: m?.[1] ?? null,
    });
  }
  if (err.code === "ER_DATA_TOO_LONG" || err.code === "ER_WARN_DATA_OUT_OF_RANGE" || err.code === "ER_BAD_NULL_ERROR" || err.code === "ER_TRUNCATED_WRONG_VALUE") {
    const col = (err.sqlMessage ?? "").match(/column '([^']+)'/)?.[1] ?? null;
    return new RpcError(RpcCode.InvalidParams, `invalid parameter '${col ?? "?"}': ${err.sqlMessage}`, { param: col });
  }
  return e;
}

/** Serialises writes per kind inside this process (MySQL GET_LOCK does it across processes). */
const localLocks = new Map<string, Promise<unknown>>();
async function withLocalLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = localLocks.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  localLocks.set(key, tail);
  try {
    return await run;
  } finally {
    if (localLocks.get(key) === tail) localLocks.delete(key);
  }
}

async function insertAudit(
  conn: PoolConnection,
  a: { actor: string; action: string; kind: string | null; table: string; rowId: string | number | null; before: TableRow | null; after: TableRow | null; version: string | null },
): Promise<void> {
  await conn.query(
    "INSERT INTO `olelo_audit` (`ts`, `actor`, `action`, `kind`, `table_name`, `row_id`, `before`, `after`, `version`) VALUES (UTC_TIMESTAMP(3), ?, ?, ?, ?, ?, ?, ?, ?)",
    [
      a.actor.slice(0, 64),
      a.action,
      a.kind,
      a.table,
      a.rowId === null ? null : String(a.rowId),
      a.before ? JSON.stringify(redact(a.before)) : null,
      a.after ? JSON.stringify(redact(a.after)) : null,
      a.version,
    ],
  );
}

/** Records a non-row event (push) in the audit log. */
export async function auditEvent(pool: Pool, actor: string, action: string, detail: unknown): Promise<void> {
  const conn = await pool.getConnection();
  try {
    await insertAudit(conn, { actor, action, kind: null, table: "*", rowId: null, before: null, after: detail as TableRow, version: null });
  } finally {
    conn.release();
  }
}

/** Runs one write (see module comment). Throws RpcError 404/409/422/-32602 for expected failures. */
export async function runWrite(pool: Pool, source: DbSnapshotSource, req: WriteRequest): Promise<WriteResult> {
  const def = kindOfTable(req.table.name);
  const lockKey = def ? def.kind : req.table.name;
  const result = await withLocalLock(lockKey, async () => {
    const conn = await pool.getConnection();
    let locked = false;
    try {
      const [l] = await conn.query<RowDataPacket[]>("SELECT GET_LOCK(?, 10) AS ok", [`olelo_write_${lockKey}`]);
      locked = Number(l[0]!.ok) === 1;
      if (!locked) throw new RpcError(RpcCode.Unavailable, `another writer holds the ${lockKey} lock; try again`);
      await conn.query("START TRANSACTION");
      let applied = await req.apply(conn);
      let version: string | null = null;
      let warning: string | undefined;
      if (def) {
        const candidate = source.compileSet(def.kind, await readTables(conn, def.tables));
        if (candidate.ok && candidate.refused.length) {
          // Skip policy: the kind would go live without some rows. A write that leaves out a row
          // not already left out (the row written, or one it breaks) is refused; rows made bad
          // outside the API stay left out and do not block this write.
          await conn.query("ROLLBACK");
          const before = source.compileSet(def.kind, await readTables(conn, def.tables));
          const was = new Set(before.refused.map((r) => `${r.table}\u0000${r.key}`));
          const fresh = candidate.refused.find((r) => !was.has(`${r.table}\u0000${r.key}`) || (r.table === req.table.name && r.key === String(applied.id)));
          if (fresh) {
            throw new RpcError(CODE_REJECTED, `rejected: ${def.kind} would not compile: ${fresh.table} row ${fresh.key}: ${fresh.reason}`, {
              kind: def.kind,
              table: fresh.table,
              row: fresh.row,
              reason: fresh.reason,
            });
          }
          warning = `kind ${def.kind} goes live without ${candidate.refused.length} bad row(s) written outside the API: ${candidate.refused.map((r) => `${r.table} row ${r.key}`).join(", ")}`;
          await conn.query("START TRANSACTION");
          applied = await req.apply(conn);
          version = candidate.version;
        } else if (candidate.ok) {
          version = candidate.version;
        } else {
          await conn.query("ROLLBACK");
          const e = candidate.error;
          const own = e.table === req.table.name && e.row !== null && String(e.row) === String(applied.id);
          const before = own ? null : source.compileSet(def.kind, await readTables(conn, def.tables));
          if (own || before === null || before.ok) {
            throw new RpcError(
              CODE_REJECTED,
              `rejected: ${def.kind} would not compile: ${e.table}${e.row !== null ? ` row ${e.row}` : ""}: ${e.reason}`,
              e,
            );
          }
          // The kind was already broken by another row: accept this change, it cannot make it worse here.
          warning = `kind ${def.kind} already fails to compile (${e.table}${e.row !== null ? ` row ${e.row}` : ""}: ${e.reason}); it is not pushed until fixed`;
          await conn.query("START TRANSACTION");
          applied = await req.apply(conn);
        }
      }
      await insertAudit(conn, {
        actor: req.actor,
        action: req.action,
        kind: def?.kind ?? null,
        table: req.table.name,
        rowId: applied.id,
        before: applied.before,
        after: applied.after,
        version,
      });
      await conn.query("COMMIT");
      return { id: applied.id, row: applied.after, before: applied.before, kind: def?.kind ?? null, version, ...(warning ? { warning } : {}) };
    } catch (e) {
      await conn.query("ROLLBACK").catch(() => undefined);
      throw mapDbError(e, req.table);
    } finally {
      if (locked) await conn.query("SELECT RELEASE_LOCK(?)", [`olelo_write_${lockKey}`]).catch(() => undefined);
      conn.release();
    }
  });
  if (def) {
    const r = await source.refreshKinds([def.kind], `${req.actor}: ${req.table.name}.${req.action} ${result.id}`);
    if (r.errors.length && !result.warning) {
      const e = r.errors[0]!;
      result.warning = `kind ${def.kind} does not compile after this change (a concurrent direct SQL write?): ${e.table} row ${e.row}: ${e.reason}`;
    }
  }
  return result;
}
