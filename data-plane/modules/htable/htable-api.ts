import type { HashTable, HtMatchOp, HtValue } from "./hash-table.js";
import type { ExpiredListener, HtableManager } from "./htable-manager.js";

/**
 * The htable script API: Kamailio's `$sht` family as functions taking the table name first.
 * Table handles from `table(name)` skip the name lookup on hot paths.
 *
 * @example
 *   if (htable.get("ipban", req.source.address) !== null) return;        // $sht(ipban=>$si)
 *   const n = htable.inc("a", `${user}::auth_count`);                      // $shtinc(a=>$au::auth_count)
 */
export interface HtableApi {
  /** The table object (throws for an unknown name — a script error, found at first call). */
  table(name: string): HashTable;
  /** Whether a table of that name is defined. */
  hasTable(name: string): boolean;
  /** [$sht(t=>k)] value, initval, or null. */
  get(table: string, key: string): HtValue | null;
  /** [$sht(t=>k) = v] stores a string or integer; null deletes. */
  set(table: string, key: string, value: HtValue | null): void;
  /** [sht_setxs] string with its own expiry in seconds. */
  setxs(table: string, key: string, value: string, expireSec: number): void;
  /** [sht_setxi] integer with its own expiry in seconds. */
  setxi(table: string, key: string, value: number, expireSec: number): void;
  /** [sht_setex / $shtex(t=>k) = n] expiry of an existing item; false when missing. */
  setex(table: string, key: string, expireSec: number): boolean;
  /** [$shtex(t=>k)] seconds to expiry (0 = never) or null. */
  getex(table: string, key: string): number | null;
  /** [$shtinc] atomic increment; returns the new value (null for string items). */
  inc(table: string, key: string, by?: number): number | null;
  /** [$shtdec] atomic decrement. */
  dec(table: string, key: string, by?: number): number | null;
  /** [sht_rm] */
  delete(table: string, key: string): boolean;
  /** [$shtcn / $shtcv] count live keys (or values with `values`) matching op/pattern. */
  count(table: string, op: HtMatchOp, pattern: string, values?: boolean): number;
  /** [sht_rm_name / sht_rm_value] remove items whose key (or value) matches; returns how many. */
  removeMatching(table: string, op: HtMatchOp, pattern: string, values?: boolean): number;
  /** [sht_reset] */
  reset(table: string): void;
  /** [event_route[htable:expired:<table>]] callback per item removed by the expiry sweep. */
  onExpired(table: string, fn: ExpiredListener): () => void;
}

/** Builds the API over the manager's tables. */
export function createHtableApi(mgr: HtableManager): HtableApi {
  const t = (name: string): HashTable => {
    const tab = mgr.tables.get(name);
    if (!tab) throw new Error(`htable: no table named '${name}'`);
    return tab;
  };
  return {
    table: t,
    hasTable: (name) => mgr.tables.has(name),
    get: (table, key) => t(table).get(key),
    set(table, key, value) {
      if (value === null) t(table).delete(key);
      else t(table).set(key, value);
    },
    setxs: (table, key, value, ex) => t(table).set(key, value, ex),
    setxi: (table, key, value, ex) => t(table).set(key, value, ex),
    setex: (table, key, ex) => t(table).setExpire(key, ex),
    getex: (table, key) => t(table).expiresIn(key),
    inc: (table, key, by = 1) => t(table).add(key, by),
    dec: (table, key, by = 1) => t(table).add(key, -by),
    delete: (table, key) => t(table).delete(key),
    count: (table, op, pattern, values = false) => t(table).count(op, pattern, values),
    removeMatching: (table, op, pattern, values = false) => t(table).removeMatching(op, pattern, values),
    reset: (table) => t(table).clear(),
    onExpired: (table, fn) => {
      t(table);
      return mgr.onExpired(table, fn);
    },
  };
}
