import { hashHi, hashLo } from "../../core/api.js";
import type { NonceUse, NonceUses } from "./nonce-tracker.js";

/**
 * NonceTracker's replay check over the node's shared memory (workers: a nonce one worker issued
 * and another checks keeps one nc window for the node). Same rules as nonce-tracker.ts: per used
 * nonce the highest nc and a 32-wide window below it; one-time nonces allow one use; an unknown
 * nonce issued at or before the eviction horizon is "forgotten".
 *
 * Layout: cell 0 insert lock, 1 horizon (issue time, s), 2 live entries; then `slots` slots of 8
 * cells: lock, key hi, key lo (64-bit hash of the nonce), expires (s, 0 = free), issued, maxNc,
 * window, uses. A nonce is looked for in its window of `PROBE` slots under each slot's lock; a new
 * one is inserted under the insert lock (so two workers checking the same new nonce at once
 * cannot both take it as new) into the first free or expired slot, else over the oldest of the
 * window (which moves the horizon).
 */
const PROBE = 16;
const CELLS = 8;
const HEAD = 3;

export class SharedNonceTracker implements NonceUses {
  static cells(slots: number): number {
    return HEAD + slots * CELLS;
  }

  constructor(
    private readonly mem: Int32Array,
    private readonly slots: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (mem.length < SharedNonceTracker.cells(slots)) throw new Error(`SharedNonceTracker: ${mem.length} cells for ${slots} slots`);
  }

  get size(): number {
    return Atomics.load(this.mem, 2);
  }

  use(nonce: string, issued: number, expires: number, nc: number | null, oneTime: boolean): NonceUse {
    const hi = hashHi(nonce);
    const lo = hashLo(nonce);
    const r = this.withEntry(hi, lo, nc, oneTime);
    if (r !== null) return r;
    const m = this.mem;
    lock(m, 0);
    try {
      const again = this.withEntry(hi, lo, nc, oneTime);
      if (again !== null) return again;
      if (issued <= Atomics.load(m, 1)) return "forgotten";
      const nowS = Math.floor(this.now() / 1000);
      let i = start(hi, lo, this.slots);
      let oldest = -1;
      let oldestIssued = 0;
      for (let n = 0; n < PROBE; n++, i = (i + 1) % this.slots) {
        const s = HEAD + i * CELLS;
        lock(m, s);
        const exp = m[s + 3]!;
        if (exp === 0 || exp <= nowS) {
          if (exp === 0) Atomics.add(m, 2, 1);
          this.fill(s, hi, lo, issued, expires, nc);
          Atomics.store(m, s, 0);
          return "ok";
        }
        if (oldest < 0 || m[s + 4]! < oldestIssued) {
          oldest = s;
          oldestIssued = m[s + 4]!;
        }
        Atomics.store(m, s, 0);
      }
      lock(m, oldest);
      const ev = m[oldest + 4]!;
      this.fill(oldest, hi, lo, issued, expires, nc);
      Atomics.store(m, oldest, 0);
      for (let h = Atomics.load(m, 1); ev > h; h = Atomics.load(m, 1)) if (Atomics.compareExchange(m, 1, h, ev) === h) break;
      return "ok";
    } finally {
      Atomics.store(m, 0, 0);
    }
  }

  /** Frees the slots of expired nonces; returns how many. */
  sweep(): number {
    const m = this.mem;
    const nowS = this.now() / 1000;
    let n = 0;
    for (let i = 0; i < this.slots; i++) {
      const s = HEAD + i * CELLS;
      const exp = Atomics.load(m, s + 3);
      if (exp === 0 || exp > nowS) continue;
      lock(m, s);
      if (m[s + 3] !== 0 && m[s + 3]! <= nowS) {
        m[s + 3] = 0;
        Atomics.sub(m, 2, 1);
        n++;
      }
      Atomics.store(m, s, 0);
    }
    return n;
  }

  private fill(s: number, hi: number, lo: number, issued: number, expires: number, nc: number | null): void {
    const m = this.mem;
    m[s + 1] = hi;
    m[s + 2] = lo;
    m[s + 3] = expires;
    m[s + 4] = issued;
    m[s + 5] = nc ?? 0;
    m[s + 6] = nc === null ? 0 : 1;
    m[s + 7] = nc === null ? 1 : 0;
  }

  /** The use of a nonce already tracked, or null when it is not. */
  private withEntry(hi: number, lo: number, nc: number | null, oneTime: boolean): NonceUse | null {
    const m = this.mem;
    let i = start(hi, lo, this.slots);
    for (let n = 0; n < PROBE; n++, i = (i + 1) % this.slots) {
      const s = HEAD + i * CELLS;
      if (Atomics.load(m, s + 1) !== hi || Atomics.load(m, s + 2) !== lo || Atomics.load(m, s + 3) === 0) continue;
      lock(m, s);
      try {
        if (m[s + 1] !== hi || m[s + 2] !== lo || m[s + 3] === 0) continue;
        return this.step(s, nc, oneTime);
      } finally {
        Atomics.store(m, s, 0);
      }
    }
    return null;
  }

  /** NonceTracker.use's rules on a tracked entry (slot lock held). */
  private step(s: number, nc: number | null, oneTime: boolean): NonceUse {
    const m = this.mem;
    if (oneTime) return "replay";
    if (nc === null) {
      m[s + 7] = m[s + 7]! + 1;
      return "ok";
    }
    const maxNc = m[s + 5]!;
    const win = m[s + 6]! >>> 0;
    if (nc > maxNc) {
      const shift = nc - maxNc;
      m[s + 6] = shift >= 32 ? 1 : ((win << shift) | 1) | 0;
      m[s + 5] = nc;
      return "ok";
    }
    const back = maxNc - nc;
    if (back >= 32) return "replay";
    const bit = (1 << back) >>> 0;
    if ((win & bit) !== 0) return "replay";
    m[s + 6] = (win | bit) | 0;
    return "ok";
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
