/**
 * Per-key request counts in fixed time windows, in shared memory (Int32Array over a
 * SharedArrayBuffer), so every worker of a node counts into the same cells: pike's density per
 * source address holds whatever worker each request lands on.
 *
 * Open addressing with linear probing over `slots` slots of 6 cells: lock, key hi, key lo, window,
 * hits in that window, hits in the window before. A slot is taken under its lock
 * (Atomics.compareExchange, a few instructions while held); a slot whose window is two or more
 * behind is stale and reused. When `probe` slots in a row are live the key is not tracked (hit()
 * returns null), as pike lets untracked sources through.
 *
 * @example
 *   const wc = new WindowCounters(host.node.sharedInt32("pike", WindowCounters.cells(65536)), 65536);
 *   const r = wc.hit(0x7f000001, 0, Math.floor(Date.now() / 2000)); // { curr, prev }
 */
export class WindowCounters {
  /** Int32 cells per slot. */
  static readonly CELLS = 6;

  static cells(slots: number): number {
    return slots * WindowCounters.CELLS;
  }

  private readonly probe = 32;

  constructor(
    private readonly mem: Int32Array,
    private readonly slots: number,
  ) {
    if (mem.length < slots * WindowCounters.CELLS) throw new Error(`WindowCounters: ${mem.length} cells for ${slots} slots`);
  }

  /** Counts one hit of key (hi, lo) in `unit`; the counts after it, or null when untracked. */
  hit(hi: number, lo: number, unit: number): { curr: number; prev: number } | null {
    const m = this.mem;
    let i = (Math.imul(hi ^ Math.imul(lo, 0x9e3779b1), 0x85ebca6b) >>> 0) % this.slots;
    for (let n = 0; n < this.probe; n++, i = (i + 1) % this.slots) {
      const b = i * WindowCounters.CELLS;
      while (Atomics.compareExchange(m, b, 0, 1) !== 0) {
        /* spin: held for a few instructions */
      }
      const w = m[b + 3]!;
      const mine = m[b + 1] === hi && m[b + 2] === lo && w !== 0;
      if (!mine && w !== 0 && w >= unit - 1) {
        Atomics.store(m, b, 0);
        continue;
      }
      if (!mine) {
        m[b + 1] = hi;
        m[b + 2] = lo;
        m[b + 3] = unit;
        m[b + 4] = 0;
        m[b + 5] = 0;
      } else if (w !== unit) {
        m[b + 5] = w === unit - 1 ? m[b + 4]! : 0;
        m[b + 4] = 0;
        m[b + 3] = unit;
      }
      const curr = m[b + 4]! + 1;
      m[b + 4] = curr;
      const prev = m[b + 5]!;
      Atomics.store(m, b, 0);
      return { curr, prev };
    }
    return null;
  }

  /** Counts of key (hi, lo) as of `unit` without counting (0, 0 when absent). */
  peek(hi: number, lo: number, unit: number): { curr: number; prev: number } {
    const m = this.mem;
    let i = (Math.imul(hi ^ Math.imul(lo, 0x9e3779b1), 0x85ebca6b) >>> 0) % this.slots;
    for (let n = 0; n < this.probe; n++, i = (i + 1) % this.slots) {
      const b = i * WindowCounters.CELLS;
      if (Atomics.load(m, b + 1) !== hi || Atomics.load(m, b + 2) !== lo) continue;
      const w = Atomics.load(m, b + 3);
      if (w === unit) return { curr: Atomics.load(m, b + 4), prev: Atomics.load(m, b + 5) };
      if (w === unit - 1) return { curr: 0, prev: Atomics.load(m, b + 4) };
      return { curr: 0, prev: 0 };
    }
    return { curr: 0, prev: 0 };
  }
}
