/**
 * Counts by string key over the node's shared memory, one row per worker, summed on read
 * (core/workers/README.md): dispatcher alg 10 call load per destination, dialog profile sizes.
 * A worker adds only to its own row (`Atomics.add` under the slot's lock), so a worker that
 * restarts zeroes its row (`resetRow`) and the counts of what it lost stop counting.
 *
 * Slot layout (open addressing, linear probing over `probe` slots): lock, key hash hi, key hash
 * lo, live flag, then one count per worker. A new key takes the first slot in its window that is
 * free or counts 0 in total (under the node-wide claim lock, so a key never gets two slots). When
 * every slot of the window is live, `add` returns false and the key is not counted (the caller
 * logs it; size the table with `slots`).
 *
 * @example
 *   const kc = new KeyCounts(host.node.sharedInt32("dlg-profiles", KeyCounts.cells(4096, host.node.count)), 4096, host.node.count, host.node.index);
 *   kc.add("trunk\0gw1", 1);
 *   kc.sum("trunk\0gw1"); // the node's number
 */
export class KeyCounts {
  /** Cells for `slots` keys and `rows` workers (plus the claim lock). */
  static cells(slots: number, rows: number): number {
    return 1 + slots * (4 + rows);
  }

  private readonly stride: number;
  private readonly probe: number;

  constructor(
    private readonly mem: Int32Array,
    private readonly slots: number,
    private readonly rows: number,
    private readonly row: number,
  ) {
    if (mem.length < KeyCounts.cells(slots, rows)) throw new Error(`KeyCounts: ${mem.length} cells for ${slots} slots × ${rows} rows`);
    if (row < 0 || row >= rows) throw new Error(`KeyCounts: row ${row} of ${rows}`);
    this.stride = 4 + rows;
    this.probe = Math.min(32, slots);
  }

  /** Adds `by` to this worker's count of `key`; false when the table has no room for a new key. */
  add(key: string, by: number): boolean {
    const hi = hashHi(key);
    const lo = hashLo(key);
    const b = this.find(hi, lo);
    if (b >= 0 && this.addAt(b, hi, lo, by)) return true;
    const m = this.mem;
    lock(m, 0);
    try {
      const again = this.find(hi, lo);
      if (again >= 0 && this.addAt(again, hi, lo, by)) return true;
      let i = start(hi, lo, this.slots);
      for (let n = 0; n < this.probe; n++, i = (i + 1) % this.slots) {
        const s = 1 + i * this.stride;
        lock(m, s);
        if (m[s + 3] === 0 || this.total(s) === 0) {
          m[s + 1] = hi;
          m[s + 2] = lo;
          m[s + 3] = 1;
          for (let r = 0; r < this.rows; r++) m[s + 4 + r] = 0;
          m[s + 4 + this.row] = by;
          Atomics.store(m, s, 0);
          return true;
        }
        Atomics.store(m, s, 0);
      }
      return false;
    } finally {
      Atomics.store(m, 0, 0);
    }
  }

  /** The node's count of `key`: every worker's row summed. */
  sum(key: string): number {
    const b = this.find(hashHi(key), hashLo(key));
    return b < 0 ? 0 : this.total(b);
  }

  /** Zeroes this worker's row (a restarted worker: what the dead one counted is gone with it). */
  resetRow(): void {
    const m = this.mem;
    for (let i = 0; i < this.slots; i++) {
      const s = 1 + i * this.stride;
      if (Atomics.load(m, s + 4 + this.row) === 0) continue;
      lock(m, s);
      m[s + 4 + this.row] = 0;
      Atomics.store(m, s, 0);
    }
  }

  private addAt(s: number, hi: number, lo: number, by: number): boolean {
    const m = this.mem;
    lock(m, s);
    const ok = m[s + 3] === 1 && m[s + 1] === hi && m[s + 2] === lo;
    if (ok) m[s + 4 + this.row] = m[s + 4 + this.row]! + by;
    Atomics.store(m, s, 0);
    return ok;
  }

  private find(hi: number, lo: number): number {
    const m = this.mem;
    let i = start(hi, lo, this.slots);
    for (let n = 0; n < this.probe; n++, i = (i + 1) % this.slots) {
      const s = 1 + i * this.stride;
      if (Atomics.load(m, s + 3) === 1 && Atomics.load(m, s + 1) === hi && Atomics.load(m, s + 2) === lo) return s;
    }
    return -1;
  }

  private total(s: number): number {
    let t = 0;
    for (let r = 0; r < this.rows; r++) t += Atomics.load(this.mem, s + 4 + r);
    return t;
  }
}

function lock(m: Int32Array, at: number): void {
  while (Atomics.compareExchange(m, at, 0, 1) !== 0) {
    /* spin: held for a few instructions */
  }
}

function start(hi: number, lo: number, slots: number): number {
  return (Math.imul(hi ^ Math.imul(lo, 0x9e3779b1), 0x85ebca6b) >>> 0) % slots;
}

/** FNV-1a of the UTF-16 units (first half of a 64-bit key hash; no allocation). */
export function hashHi(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** A second, independent 32-bit hash (murmur-style mixing), the other half of the key. */
export function hashLo(s: string): number {
  let h = 0x2f0b3c5d ^ s.length;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ (h >>> 15), 0x27d4eb2d);
  return (h ^ (h >>> 16)) | 0;
}
