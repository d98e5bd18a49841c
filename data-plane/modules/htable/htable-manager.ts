import type { EventBus } from "../../core/api.js";
import type { Logger } from "../../core/api.js";
import { HtableDbStore } from "./db-store.js";
import { HashTable, type HtExpired } from "./hash-table.js";
import type { HtableParams } from "./params.js";
import { compileHtableRows, type HtRow } from "../../../tables/htable/table.js";
import { itemsToRows, rowsToItems } from "./items.js";

/** Event kind published for every item removed by the expiry sweep (Kamailio event_route[htable:expired:<table>]). */
export const HTABLE_EXPIRED_EVENT = "htable.expired";

/** Listener for expired items of one table. */
export type ExpiredListener = (item: HtExpired, table: string) => void;

/**
 * Owns the named tables of the module: the expiry sweep timer, `htable.expired` events, and the
 * MySQL load/store path (dbtable, dbmode=1 write-back on shutdown, db_expires).
 */
export class HtableManager {
  readonly tables = new Map<string, HashTable>();
  readonly db: HtableDbStore | null;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Map<string, Set<ExpiredListener>>();

  constructor(
    readonly params: HtableParams,
    private readonly events: EventBus,
    private readonly log: Logger,
    private readonly now: () => number = () => Date.now(),
  ) {
    for (const def of params.tables) this.tables.set(def.name, new HashTable(def, now));
    this.db = params.db_url ? new HtableDbStore(params.db_url) : null;
  }

  /** The table, or undefined. */
  get(name: string): HashTable | undefined {
    return this.tables.get(name);
  }

  /** DB table names used by at least one htable (the table sink's tables). */
  dbtables(): Set<string> {
    const s = new Set<string>();
    for (const t of this.tables.values()) if (t.def.dbtable) s.add(t.def.dbtable);
    return s;
  }

  /** Starts the periodic sweep (timer_interval seconds). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweepAll(), this.params.timer_interval * 1000);
    this.timer.unref();
  }

  /** Stops the sweep timer. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Removes expired items from every table, publishing one event per item. Returns the count. */
  sweepAll(): number {
    let n = 0;
    for (const t of this.tables.values()) {
      const gone = t.sweep();
      if (gone.length === 0) continue;
      n += gone.length;
      const ls = this.listeners.get(t.name);
      for (const it of gone) {
        this.events.publish(HTABLE_EXPIRED_EVENT, { table: t.name, key: it.key, value: it.value });
        if (ls) {
          for (const l of ls) {
            try {
              l(it, t.name);
            } catch (e) {
              this.log.warn("expired listener failed", { table: t.name, error: (e as Error).message });
            }
          }
        }
      }
    }
    return n;
  }

  /** Registers a callback for expired items of `table`; returns the unsubscribe function. */
  onExpired(table: string, fn: ExpiredListener): () => void {
    let s = this.listeners.get(table);
    if (!s) {
      s = new Set();
      this.listeners.set(table, s);
    }
    s.add(fn);
    return () => s.delete(fn);
  }

  /** Applies compiled rows to every table using `dbtable` (one swap per table). */
  applyRows(dbtable: string, rows: readonly HtRow[]): void {
    const now = this.now();
    for (const t of this.tables.values()) {
      if (t.def.dbtable === dbtable) t.replace(rowsToItems(rows, t, now, this.params.db_expires));
    }
  }

  /** [htable.reload] reads the table's dbtable and swaps the content in; the old content stays on error. */
  async reload(name: string): Promise<number> {
    const t = this.tables.get(name);
    if (!t) throw new Error("No such htable");
    if (!t.def.dbtable) throw new Error("No database htable");
    if (!this.db) throw new Error("No htable db_url");
    const rows = compileHtableRows(await this.db.load(t.def.dbtable), t.def.dbtable);
    t.replace(rowsToItems(rows, t, this.now(), this.params.db_expires));
    return rows.length;
  }

  /** Loads every table that has a dbtable (module start). */
  async loadAll(): Promise<void> {
    for (const t of this.tables.values()) {
      if (t.def.dbtable && this.db) {
        const n = await this.reload(t.name);
        this.log.info("htable loaded", { table: t.name, dbtable: t.def.dbtable, rows: n });
      }
    }
  }

  /** [htable.store] writes the live items of `name` to its dbtable, replacing what is there. */
  async store(name: string): Promise<number> {
    const t = this.tables.get(name);
    if (!t) throw new Error("No such htable");
    if (!t.def.dbtable) throw new Error("No database htable");
    if (!this.db) throw new Error("No htable db_url");
    const rows = itemsToRows(t, this.params.db_expires);
    await this.db.save(t.def.dbtable, rows);
    return rows.length;
  }

  /** Shutdown: stops the timer, writes back dbmode=1 tables, closes the pool. */
  async close(): Promise<void> {
    this.stop();
    for (const t of this.tables.values()) {
      if (t.def.dbmode === 1 && t.def.dbtable && this.db) {
        try {
          const n = await this.store(t.name);
          this.log.info("htable stored on shutdown", { table: t.name, rows: n });
        } catch (e) {
          this.log.error("htable store on shutdown failed", { table: t.name, error: (e as Error).message });
        }
      }
    }
    if (this.db) await this.db.close();
  }
}
