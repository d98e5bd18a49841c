/**
 * A Map from string keys to values for keys that are new on nearly every lookup (transaction keys,
 * branches, the AoRs of REGISTERs): Map's interface without its insertion order across keys
 * (get, has, set, delete, size, values, entries, iteration, clear).
 *
 * Why not a Map<string, V>: V8 looks a string key up in a Map by internalizing it first, so every
 * key never seen before (each new transaction's) costs a string-table insertion — ≈ 0.5 µs per
 * lookup, 6 % of a stateless OPTIONS' CPU (perf, 2026-12-08). Here the Map's key is the key's
 * 30-bit FNV-1a hash (a small integer, no internalization), and the entries with the same hash
 * form a short chain compared with `===`.
 */
interface Slot<V> {
  readonly key: string;
  value: V;
  next: Slot<V> | null;
}

export class KeyTable<V> {
  private readonly m = new Map<number, Slot<V>>();
  private n = 0;

  get size(): number {
    return this.n;
  }

  get(key: string): V | undefined {
    for (let s: Slot<V> | null | undefined = this.m.get(hashOf(key)); s; s = s.next) if (s.key === key) return s.value;
    return undefined;
  }

  has(key: string): boolean {
    for (let s: Slot<V> | null | undefined = this.m.get(hashOf(key)); s; s = s.next) if (s.key === key) return true;
    return false;
  }

  set(key: string, value: V): this {
    const h = hashOf(key);
    const first = this.m.get(h);
    for (let s: Slot<V> | null | undefined = first; s; s = s.next) {
      if (s.key === key) {
        s.value = value;
        return this;
      }
    }
    if (first === undefined) this.m.set(h, { key, value, next: null });
    else first.next = { key, value, next: first.next };
    this.n++;
    return this;
  }

  delete(key: string): boolean {
    const h = hashOf(key);
    const first = this.m.get(h);
    if (first === undefined) return false;
    if (first.key === key) {
      if (first.next === null) this.m.delete(h);
      else this.m.set(h, first.next);
      this.n--;
      return true;
    }
    for (let prev = first, s = first.next; s !== null; prev = s, s = s.next) {
      if (s.key === key) {
        prev.next = s.next;
        this.n--;
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.m.clear();
    this.n = 0;
  }

  *values(): IterableIterator<V> {
    for (const first of this.m.values()) for (let s: Slot<V> | null = first; s !== null; s = s.next) yield s.value;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const first of this.m.values()) for (let s: Slot<V> | null = first; s !== null; s = s.next) yield [s.key, s.value];
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
}

/** FNV-1a over the key's char codes, cut to 30 bits (a V8 small integer: no heap number as Map key). */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

const hashOf = keyHash;
