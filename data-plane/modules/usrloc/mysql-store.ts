import mysql from "mysql2/promise";
import type { Logger } from "../../core/api.js";
import { ContactState, type Binding } from "./binding.js";
import type { ChangeKind } from "./location-table.js";
import { LOCATION_COLUMNS, aorOfRow, infoOfRow, rowOf, type LocationRow } from "./location-row.js";
import { TABLE_NAME, type LocationStore, type StoredBinding, type StoreStatus } from "./store.js";

/** A queued write: the latest state of one ruid (older queued writes for it are dropped). */
type Pending = { del: true; row: null; b: null } | { del: false; row: LocationRow; b: Binding };

const CHUNK = 500;

/**
 * The `location` table in MySQL/MariaDB (Kamailio usrloc db_mode 1 and 2), through a mysql2 pool.
 *
 * Changes are queued per ruid, so a burst of refreshes of one binding costs one row write. In
 * write-through mode (1) the queue is written as soon as the event loop is free (one batch per
 * tick, never blocking a REGISTER); in write-back mode (2) every `timer_interval` seconds.
 * Upserts use `INSERT ... ON DUPLICATE KEY UPDATE` on the unique `ruid` index; removals and
 * expiries delete by ruid. A failed batch is queued again (unless newer writes replaced it) and
 * retried with the next one.
 */
export class MysqlLocationStore implements LocationStore {
  readonly kind = "mysql";
  private readonly pool: mysql.Pool;
  private readonly pending = new Map<string, Map<string, Pending>>();
  private pendingCount = 0;
  private flushing: Promise<void> | null = null;
  private again = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private writes = 0;
  private errors = 0;
  private lastError: string | null = null;
  private closed = false;

  constructor(
    url: string,
    private readonly opts: { mode: 1 | 2; useDomain: boolean; timerIntervalS: number; log: Logger },
  ) {
    this.pool = mysql.createPool({ uri: url, connectionLimit: 4, supportBigNumbers: true });
    if (opts.mode === 2) {
      this.timer = setInterval(() => void this.flush(), Math.max(1, opts.timerIntervalS) * 1000);
      this.timer.unref();
    }
  }

  async load(table: string): Promise<StoredBinding[]> {
    checkTable(table);
    const [rows] = await this.pool.query(
      `SELECT ${LOCATION_COLUMNS.map((c) => `\`${c}\``).join(", ")} FROM \`${table}\` ` +
        "WHERE expires > NOW() OR UNIX_TIMESTAMP(expires) <= 0 ORDER BY id",
    );
    const out: StoredBinding[] = [];
    let skipped = 0;
    for (const r of rows as Array<Record<string, unknown>>) {
      const row = { ...r, expires: unixOf(r.expires), last_modified: unixOf(r.last_modified) };
      const info = infoOfRow(row);
      if (!info) {
        skipped++;
        continue;
      }
      out.push({ aor: aorOfRow({ username: String(r.username ?? ""), domain: (r.domain as string | null) ?? null }, this.opts.useDomain), info });
    }
    if (skipped) this.opts.log.warn("location rows without contact/ruid skipped", { table, skipped });
    return out;
  }

  changed(table: string, kind: ChangeKind, b: Binding): void {
    if (this.closed) return;
    let t = this.pending.get(table);
    if (!t) this.pending.set(table, (t = new Map()));
    const had = t.has(b.ruid);
    t.set(b.ruid, kind === "added" || kind === "refreshed" ? { del: false, row: rowOf(b, this.opts.useDomain), b } : { del: true, row: null, b: null });
    if (!had) this.pendingCount++;
    if (this.opts.mode === 1 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
  }

  flush(): Promise<void> {
    if (this.flushing) {
      // a write is running: what is pending now goes in the next one — resolve after that one
      this.again = true;
      return this.flushing.then(() => this.flush());
    }
    if (this.pendingCount === 0) return Promise.resolve();
    this.flushing = this.writeAll().finally(() => {
      this.flushing = null;
      if (this.again) {
        this.again = false;
        if (this.pendingCount > 0) void this.flush();
      }
    });
    return this.flushing;
  }

  private async writeAll(): Promise<void> {
    const batches = [...this.pending];
    this.pending.clear();
    this.pendingCount = 0;
    for (const [table, ops] of batches) {
      try {
        await this.writeTable(table, ops);
        this.writes += ops.size;
        for (const op of ops.values()) {
          if (!op.del && op.b.lastModified === op.row.last_modified && op.b.state === ContactState.DIRTY) op.b.state = ContactState.SYNC;
        }
      } catch (e) {
        this.errors++;
        this.lastError = e instanceof Error ? e.message : String(e);
        this.opts.log.warn("location write failed; will retry", { table, ops: ops.size, error: this.lastError });
        this.requeue(table, ops);
        if (this.opts.mode === 1 && !this.closed) setTimeout(() => void this.flush(), 1000).unref();
      }
    }
  }

  private requeue(table: string, ops: Map<string, Pending>): void {
    let t = this.pending.get(table);
    if (!t) this.pending.set(table, (t = new Map()));
    for (const [ruid, op] of ops) {
      if (t.has(ruid)) continue; // a newer write for this ruid is queued already
      t.set(ruid, op);
      this.pendingCount++;
    }
  }

  private async writeTable(table: string, ops: Map<string, Pending>): Promise<void> {
    checkTable(table);
    const ups: unknown[][] = [];
    const dels: string[] = [];
    for (const [ruid, op] of ops) {
      if (op.del) dels.push(ruid);
      else ups.push(sqlValues(op.row));
    }
    const cols = LOCATION_COLUMNS.map((c) => `\`${c}\``).join(", ");
    const update = LOCATION_COLUMNS.filter((c) => c !== "ruid")
      .map((c) => `\`${c}\` = VALUES(\`${c}\`)`)
      .join(", ");
    for (let i = 0; i < ups.length; i += CHUNK) {
      await this.pool.query(`INSERT INTO \`${table}\` (${cols}) VALUES ? ON DUPLICATE KEY UPDATE ${update}`, [ups.slice(i, i + CHUNK)]);
    }
    for (let i = 0; i < dels.length; i += CHUNK) {
      await this.pool.query(`DELETE FROM \`${table}\` WHERE ruid IN (?)`, [dels.slice(i, i + CHUNK)]);
    }
  }

  /**
   * Rows in the DB table (ul.db_users / ul.db_contacts / ul.db_expired_contacts). Users are
   * counted with a NULL domain too (Kamailio's COUNT(DISTINCT username, domain) skips them, so it
   * reports 0 users without use_domain).
   */
  async count(table: string, what: "users" | "contacts" | "expired"): Promise<number> {
    checkTable(table);
    const sql =
      what === "users"
        ? `SELECT COUNT(DISTINCT username, IFNULL(domain, '')) AS n FROM \`${table}\` WHERE UNIX_TIMESTAMP(expires) <= 0 OR expires > NOW()`
        : what === "contacts"
          ? `SELECT COUNT(*) AS n FROM \`${table}\` WHERE UNIX_TIMESTAMP(expires) <= 0 OR expires > NOW()`
          : `SELECT COUNT(*) AS n FROM \`${table}\` WHERE UNIX_TIMESTAMP(expires) > 0 AND expires <= NOW()`;
    const [rows] = await this.pool.query(sql);
    return Number((rows as Array<{ n: unknown }>)[0]?.n ?? 0);
  }

  status(): StoreStatus {
    return { kind: this.kind, writes: this.writes, errors: this.errors, pending: this.pendingCount, lastError: this.lastError };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      await this.flush();
      if (this.flushing) await this.flushing;
    } finally {
      this.closed = true;
      await this.pool.end();
    }
  }
}

function checkTable(table: string): void {
  if (!TABLE_NAME.test(table)) throw new Error(`bad location table name '${table}'`);
}

/** DATETIME (Date from mysql2) → Unix seconds; the epoch (Kamailio's "permanent") → 0. */
function unixOf(v: unknown): number {
  if (v instanceof Date) {
    const s = Math.floor(v.getTime() / 1000);
    return s <= 0 ? 0 : s;
  }
  if (typeof v === "string") {
    const t = Date.parse(v.replace(" ", "T"));
    return Number.isFinite(t) && t > 0 ? Math.floor(t / 1000) : 0;
  }
  return 0;
}

function sqlValues(r: LocationRow): unknown[] {
  return [
    r.ruid,
    r.username,
    r.domain,
    r.contact,
    r.received,
    r.path,
    new Date(r.expires * 1000),
    r.q,
    r.callid,
    r.cseq,
    new Date(r.last_modified * 1000),
    r.flags,
    r.cflags,
    r.user_agent,
    r.socket,
    r.methods,
    r.instance,
    r.reg_id,
    r.server_id,
    r.connection_id,
    r.keepalive,
    r.partition,
  ];
}
