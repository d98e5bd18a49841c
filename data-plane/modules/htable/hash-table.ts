/**
 * One named in-memory table of Kamailio's htable module: string or integer values per key, an
 * optional table-wide time to live (`autoexpire`, refreshed on writes when `updateexpire` is set),
 * per-item expiry (setex / setxs / setxi) and atomic increments. Reads treat an expired item as
 * absent at once; the periodic sweep removes it and reports it (htable:expired).
 * Node runs the routing script on one thread, so every single operation here is atomic.
 */

/** A value as stored: Kamailio's AVP_VAL_STR (string) or integer. */
export type { HtValue } from "../../../tables/htable/table.js";
import type { HtValue } from "../../../tables/htable/table.js";

/** One stored item. `expires` is an absolute time in ms (Date.now scale); 0 = never. */
export interface HtItem {
  value: HtValue;
  expires: number;
}

/** Table definition (Kamailio's `htable` modparam, one per table). */
export interface HtableDefinition {
  readonly name: string;
  /** log2 of the bucket count, as Kamailio's `size` (used for dump/stats bucket views). */
  readonly size: number;
  /** Seconds an item lives after its last write (0 = forever). */
  readonly autoexpire: number;
  /** Whether writes to an existing item restart its autoexpire time (default true). */
  readonly updateexpire: boolean;
  /** Integer returned for missing keys and used as the base for inc/dec (null = none). */
  readonly initval: number | null;
  /** DB table to load from / store into (null = memory only). */
  readonly dbtable: string | null;
  /** 1 = write the table back to `dbtable` on shutdown. */
  readonly dbmode: number;
  /** Kamailio's DMQ replication flag; only 0 is accepted (no DMQ in Olelo). */
  readonly dmqreplicate: number;
}

/** Name/value match operators of sht_rm_name / sht_rm_value and $shtcn / $shtcv. */
export type HtMatchOp = "eq" | "ne" | "re" | "sw" | "ew";

/** An item removed by the sweep. */
export interface HtExpired {
  readonly key: string;
  readonly value: HtValue;
}

/** FNV-1a 32-bit: bucket index for the dump/stats views (the Map does the real hashing). */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function matcher(op: HtMatchOp, pattern: string): (s: string) => boolean {
  switch (op) {
    case "eq":
      return (s) => s === pattern;
    case "ne":
      return (s) => s !== pattern;
    case "sw":
      return (s) => s.startsWith(pattern);
    case "ew":
      return (s) => s.endsWith(pattern);
    case "re": {
      const re = new RegExp(pattern);
      return (s) => re.test(s);
    }
  }
}

/** One htable table: a Map of items plus the table's expiry rules. */
export class HashTable {
  /** Bucket count (2^size, size clamped to 3..14 as Kamailio does). */
  readonly slots: number;
  private items = new Map<string, HtItem>();

  constructor(
    readonly def: HtableDefinition,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.slots = 1 << Math.min(14, Math.max(3, def.size));
  }

  get name(): string {
    return this.def.name;
  }

  /** Items stored, including expired ones the sweep has not removed yet. */
  get storedCount(): number {
    return this.items.size;
  }

  private live(key: string): HtItem | undefined {
    const it = this.items.get(key);
    if (it === undefined) return undefined;
    if (it.expires !== 0 && this.now() >= it.expires) return undefined;
    return it;
  }

  private freshExpiry(exSec: number): number {
    if (exSec > 0) return this.now() + exSec * 1000;
    return this.def.autoexpire > 0 ? this.now() + this.def.autoexpire * 1000 : 0;
  }

  /** [$sht(t=>k)] the value, `initval` when missing, else null. */
  get(key: string): HtValue | null {
    const it = this.live(key);
    if (it) return it.value;
    return this.def.initval;
  }

  /** Whether a live item exists (initval does not count). */
  has(key: string): boolean {
    return this.live(key) !== undefined;
  }

  /**
   * [$sht(t=>k) = v / sht_setxs / sht_setxi] stores a value. `exSec` > 0 sets the item's own
   * expiry; otherwise a new item gets `autoexpire` and an existing one keeps its expiry unless
   * `updateexpire` is on.
   */
  set(key: string, value: HtValue, exSec = 0): void {
    const it = this.live(key);
    if (it) {
      it.value = value;
      if (exSec > 0) it.expires = this.now() + exSec * 1000;
      else if (this.def.updateexpire) it.expires = this.freshExpiry(0);
      return;
    }
    this.items.set(key, { value, expires: this.freshExpiry(exSec) });
  }

  /** Stores an item with an absolute expiry (ms, 0 = use autoexpire) — used when loading tables. */
  setAbsolute(key: string, value: HtValue, expiresMs: number): void {
    this.items.set(key, { value, expires: expiresMs > 0 ? expiresMs : this.freshExpiry(0) });
  }

  /** [sht_setex / $shtex = n] sets the expiry of an existing item (0 = never); false when missing. */
  setExpire(key: string, exSec: number): boolean {
    const it = this.live(key);
    if (!it) return false;
    it.expires = exSec > 0 ? this.now() + exSec * 1000 : 0;
    return true;
  }

  /** [$shtex(t=>k)] seconds until the item expires (0 = never), or null when missing. */
  expiresIn(key: string): number | null {
    const it = this.live(key);
    if (!it) return null;
    return it.expires === 0 ? 0 : Math.max(0, Math.ceil((it.expires - this.now()) / 1000));
  }

  /** Absolute expiry in ms (0 = never) or null when missing. */
  expiresAt(key: string): number | null {
    const it = this.live(key);
    return it ? it.expires : null;
  }

  /**
   * [$shtinc / $shtdec / sht_inc] adds `by` to an integer item and returns the new value. A
   * missing or expired item starts from `initval` (0 when the table has none — Kamailio instead
   * fails without initval). Returns null for string items.
   */
  add(key: string, by: number): number | null {
    const it = this.live(key);
    if (it) {
      if (typeof it.value !== "number") return null;
      it.value += by;
      if (this.def.updateexpire) it.expires = this.freshExpiry(0);
      return it.value;
    }
    const v = (this.def.initval ?? 0) + by;
    this.items.set(key, { value: v, expires: this.freshExpiry(0) });
    return v;
  }

  /** [sht_rm / $sht(t=>k) = $null] true when a live item was removed. */
  delete(key: string): boolean {
    const live = this.live(key) !== undefined;
    this.items.delete(key);
    return live;
  }

  /** [sht_reset / htable.flush] removes every item. */
  clear(): void {
    this.items = new Map();
  }

  /** Replaces the whole content in one swap (reload, table sink). */
  replace(items: Map<string, HtItem>): void {
    this.items = items;
  }

  /** [$shtcn] number of live keys matching; [$shtcv] with `values` = true, number of values matching. */
  count(op: HtMatchOp, pattern: string, values = false): number {
    const m = matcher(op, pattern);
    const now = this.now();
    let n = 0;
    for (const [k, it] of this.items) {
      if (it.expires !== 0 && now >= it.expires) continue;
      if (m(values ? String(it.value) : k)) n++;
    }
    return n;
  }

  /** [sht_rm_name / sht_rm_name_re, sht_rm_value / sht_rm_value_re] removes matching items; returns how many. */
  removeMatching(op: HtMatchOp, pattern: string, values = false): number {
    const m = matcher(op, pattern);
    let n = 0;
    for (const [k, it] of this.items) {
      if (m(values ? String(it.value) : k)) {
        this.items.delete(k);
        n++;
      }
    }
    return n;
  }

  /** Live items, in insertion order. */
  *entries(): IterableIterator<[string, HtItem]> {
    const now = this.now();
    for (const e of this.items) {
      if (e[1].expires !== 0 && now >= e[1].expires) continue;
      yield e;
    }
  }

  /** Removes expired items and returns them (the timer publishes them as htable:expired). */
  sweep(): HtExpired[] {
    const now = this.now();
    const out: HtExpired[] = [];
    for (const [k, it] of this.items) {
      if (it.expires !== 0 && now >= it.expires) {
        this.items.delete(k);
        out.push({ key: k, value: it.value });
      }
    }
    return out;
  }

  /** Live items per bucket (Kamailio's slot view for htable.dump / htable.stats). */
  buckets(): Array<Array<[string, HtItem]>> {
    const b: Array<Array<[string, HtItem]>> = Array.from({ length: this.slots }, () => []);
    for (const e of this.entries()) b[keyHash(e[0]) & (this.slots - 1)]!.push(e);
    return b;
  }
}
