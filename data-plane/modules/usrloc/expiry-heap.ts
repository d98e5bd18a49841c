import type { Binding } from "./binding.js";

/**
 * Bindings ordered by expiry time: an indexed binary min-heap (each binding remembers its slot in
 * `heapIndex`), so a refresh moves one entry in O(log n) and the timer only looks at the top.
 * Kamailio instead walks the whole hash table every `timer_interval`; with a heap, bindings are
 * removed when they expire, not up to a minute later, and an idle registrar does no work.
 * Permanent bindings (expires 0) are never in the heap.
 */
export class ExpiryHeap {
  private readonly items: Binding[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The binding that expires first, or undefined. */
  peek(): Binding | undefined {
    return this.items[0];
  }

  /** Adds a binding, or re-positions it after its `expires` changed. Permanent ones leave the heap. */
  upsert(b: Binding): void {
    if (b.expires === 0) {
      this.remove(b);
      return;
    }
    const i = b.heapIndex;
    if (i < 0) {
      b.heapIndex = this.items.length;
      this.items.push(b);
      this.up(b.heapIndex);
      return;
    }
    this.up(i);
    this.down(b.heapIndex);
  }

  remove(b: Binding): void {
    const i = b.heapIndex;
    if (i < 0) return;
    const items = this.items;
    const last = items.pop()!;
    b.heapIndex = -1;
    if (last !== b) {
      items[i] = last;
      last.heapIndex = i;
      this.up(i);
      this.down(last.heapIndex);
    }
  }

  /** Removes and returns the top when it expires at or before `now` (Unix seconds). */
  popExpired(now: number): Binding | undefined {
    const top = this.items[0];
    if (!top || top.expires > now) return undefined;
    this.remove(top);
    return top;
  }

  clear(): void {
    for (const b of this.items) b.heapIndex = -1;
    this.items.length = 0;
  }

  private up(i: number): void {
    const items = this.items;
    const b = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pb = items[p]!;
      if (pb.expires <= b.expires) break;
      items[i] = pb;
      pb.heapIndex = i;
      i = p;
    }
    items[i] = b;
    b.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const b = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && items[r]!.expires < items[l]!.expires ? r : l;
      const cb = items[c]!;
      if (cb.expires >= b.expires) break;
      items[i] = cb;
      cb.heapIndex = i;
      i = c;
    }
    items[i] = b;
    b.heapIndex = i;
  }
}
