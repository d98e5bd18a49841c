import mysql from "mysql2/promise";
import type { Logger } from "../../core/api.js";

/** One table's pending rows: a queue read from `head`, compacted now and then. */
interface TableQueue {
  readonly table: string;
  readonly columns: readonly string[];
  readonly sql: string;
  rows: unknown[][];
  head: number;
}

export interface AccDbWriterOptions {
  /** Rows per INSERT. */
  readonly batchSize: number;
  /** ms a row may wait for its batch to fill (0 = next tick). */
  readonly flushIntervalMs: number;
  /** Rows buffered in total; beyond it new rows are dropped and counted. */
  readonly queueMax: number;
  /** First retry delay in ms after a connection failure (doubles up to 30 s). */
  readonly retryMs: number;
  readonly log: Logger;
}

/** Counters the writer keeps (exported as acc:db_* statistics). */
export interface AccDbStatus {
  queued: number;
  written: number;
  /** Failed INSERT attempts (connection or SQL). */
  errors: number;
  /** Rows dropped because the queue was full. */
  dropped: number;
  /** Rows dropped because the database refused them (SQL error, e.g. a missing column). */
  rejected: number;
  /** The database is unreachable and rows are being buffered. */
  down: boolean;
  lastError: string | null;
}

const MAX_RETRY_MS = 30_000;
const QUERY_TIMEOUT_MS = 10_000;

/**
 * Asynchronous, batched inserts into MySQL/MariaDB for acc rows (acc, missed_calls, acc_cdrs).
 * `enqueue` is O(1) and never waits: rows collect per table; a flush starts when `batchSize`
 * rows are queued or `flushIntervalMs` after the first one, and writes everything queued as
 * multi-row INSERTs of at most `batchSize` rows. When the database is unreachable the
 * rows stay queued (bounded by `queueMax`) and writes are retried with backoff; a row the
 * database rejects (SQL error) is dropped with an error log instead of blocking the queue.
 */
export class AccDbWriter {
  private readonly pool: mysql.Pool;
  private readonly queues = new Map<string, TableQueue>();
  private readonly st: AccDbStatus = { queued: 0, written: 0, errors: 0, dropped: 0, rejected: 0, down: false, lastError: null };
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private flushing: Promise<void> | null = null;
  private retryDelay: number;
  private lastDropLog = 0;
  private closed = false;

  constructor(
    url: string,
    private readonly opts: AccDbWriterOptions,
  ) {
    this.pool = mysql.createPool({ uri: url, connectionLimit: 2, connectTimeout: 5000, enableKeepAlive: true });
    // a pool connection that dies (server restart) emits errors we handle per query
    this.pool.on("connection", (c) => c.on("error", () => undefined));
    this.retryDelay = opts.retryMs;
  }

  get status(): Readonly<AccDbStatus> {
    return this.st;
  }

  /** Declares a table and its columns (once); rows for it are value arrays in this order. */
  defineTable(table: string, columns: readonly string[]): void {
    const existing = this.queues.get(table);
    if (existing) {
      if (existing.columns.join(",") !== columns.join(",")) throw new Error(`acc: table ${table} used with two column lists`);
      return;
    }
    const cols = columns.map((c) => `\`${c}\``).join(", ");
    this.queues.set(table, { table, columns, sql: `INSERT INTO \`${table}\` (${cols}) VALUES ?`, rows: [], head: 0 });
  }

  hasTable(table: string): boolean {
    return this.queues.has(table);
  }

  /** Queues one row; false when it was dropped (queue full or writer closed). */
  enqueue(table: string, values: unknown[]): boolean {
    const q = this.queues.get(table);
    if (!q) throw new Error(`acc: table ${table} was not declared`);
    if (this.closed) return false;
    if (this.st.queued >= this.opts.queueMax) {
      this.st.dropped++;
      const now = Date.now();
      if (now - this.lastDropLog > 10_000) {
        this.lastDropLog = now;
        this.opts.log.error("acc: database queue full, dropping rows", { queued: this.st.queued, dropped: this.st.dropped, lastError: this.st.lastError });
      }
      return false;
    }
    q.rows.push(values);
    this.st.queued++;
    this.schedule(this.st.queued >= this.opts.batchSize ? 0 : this.opts.flushIntervalMs);
    return true;
  }

  private schedule(ms: number): void {
    if (this.flushing || this.st.down || this.closed) return; // the running flush / the retry timer picks rows up
    const at = Date.now() + ms;
    if (this.timer) {
      if (at >= this.timerAt) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
  }

  /** Writes everything queued now (resolves when done or when the database failed). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.st.queued === 0) return Promise.resolve();
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
      if (this.st.queued > 0 && !this.st.down && !this.closed) this.schedule(this.opts.flushIntervalMs);
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    for (;;) {
      let wrote = false;
      for (const q of this.queues.values()) {
        const n = Math.min(q.rows.length - q.head, this.opts.batchSize);
        if (n === 0) continue;
        const batch = q.rows.slice(q.head, q.head + n);
        try {
          await this.pool.query({ sql: q.sql, timeout: QUERY_TIMEOUT_MS }, [batch]);
          this.st.written += n;
          if (this.st.down) {
            this.st.down = false;
            this.opts.log.info("acc: database writes resumed", { queued: this.st.queued });
          }
          this.retryDelay = this.opts.retryMs;
        } catch (e) {
          this.st.errors++;
          this.st.lastError = e instanceof Error ? e.message : String(e);
          if (isConnectionError(e)) {
            this.outage();
            return;
          }
          // the database refused these rows (schema mismatch, bad value): keep the rest flowing
          this.st.rejected += n;
          this.opts.log.error("acc: database rejected rows", { table: q.table, rows: n, error: this.st.lastError });
        }
        this.take(q, n);
        wrote = true;
      }
      if (!wrote) return;
    }
  }

  private take(q: TableQueue, n: number): void {
    q.head += n;
    this.st.queued -= n;
    if (q.head === q.rows.length) {
      q.rows = [];
      q.head = 0;
    } else if (q.head > 1024 && q.head * 2 > q.rows.length) {
      q.rows = q.rows.slice(q.head);
      q.head = 0;
    }
  }

  private outage(): void {
    if (!this.st.down) {
      this.st.down = true;
      this.opts.log.error("acc: database unreachable; buffering rows", { queued: this.st.queued, error: this.st.lastError });
    }
    if (this.closed) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = Date.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delay);
    this.timer.unref();
  }

  /**
   * Checks at start that the tables have the configured columns: returns a one-line reason naming
   * the missing column, or null (also when the database is down at start: then it only logs that
   * the check could not run and rows are buffered).
   */
  async checkSchema(): Promise<string | null> {
    for (const q of this.queues.values()) {
      if (this.closed) return null;
      try {
        await this.pool.query({ sql: `SELECT ${q.columns.map((c) => `\`${c}\``).join(", ")} FROM \`${q.table}\` LIMIT 0`, timeout: QUERY_TIMEOUT_MS });
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (this.closed) return null;
        if (isConnectionError(e)) {
          this.opts.log.warn("acc: database not reachable at start; rows will be buffered", { error: msg });
          return null;
        }
        const col = /Unknown column '([^']+)'/.exec(msg)?.[1];
        return col
          ? `table ${q.table} has no column '${col}' (configured columns: ${q.columns.join(",")})`
          : `table ${q.table} does not take the configured columns ${q.columns.join(",")}: ${msg}`;
      }
    }
    return null;
  }

  /** Flushes what it can (at most `waitMs`) and closes the pool. */
  async close(waitMs = 2000): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.st.queued > 0 && !this.st.down) {
      await Promise.race([this.flush(), new Promise((r) => setTimeout(r, waitMs).unref())]);
    }
    this.closed = true;
    if (this.st.queued > 0) this.opts.log.warn("acc: rows not written at shutdown", { queued: this.st.queued });
    await this.pool.end().catch(() => undefined);
  }
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
  "ER_ACCESS_DENIED_ERROR",
  "ER_BAD_DB_ERROR",
  "POOL_CLOSED",
]);

/** A failure of the connection (retry later), as opposed to the database refusing the rows. */
export function isConnectionError(e: unknown): boolean {
  if (!e || typeof e !== "object") return false;
  const err = e as { code?: string; fatal?: boolean; message?: unknown };
  if (err.fatal === true) return true;
  if (typeof err.message === "string" && err.message.startsWith("Pool is closed")) return true;
  return typeof err.code === "string" && CONNECTION_CODES.has(err.code);
}
