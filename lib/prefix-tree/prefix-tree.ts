/**
 * A compiled, read-only prefix trie for longest-prefix lookups, shared by lcr, drouting,
 * carrierroute, prefix_route and mtree (Kamailio keeps one digit tree per module:
 * drouting/prefix_tree.c, carrierroute's dtrie, prefix_route/tree.c, mtree.c).
 *
 * Layout: one flat Int32Array, one record per node; the children of a node are stored next to
 * each other in alphabet order, and these blocks are placed depth-first. A record is `[mask word 0..W-1, firstChild,
 * valueIndex]`, where bit i of the mask says "child for alphabet symbol i exists"; the child's
 * index is `firstChild + popcount(mask bits below i)`. A lookup therefore touches one record
 * (usually one cache line) per key character and allocates nothing.
 *
 * Instances are immutable; a new table is built to one side (see build-prefix-tree.ts) and
 * swapped in with one reference write.
 *
 * @example
 *   const t = buildPrefixTree([["49", "de"], ["4930", "berlin"]]);
 *   t.longest("4930123"); // "berlin"
 */
export class PrefixTree<V> {
  /** Number of keys (prefixes) stored. */
  readonly size: number;
  /** Number of trie nodes (root included). */
  readonly nodeCount: number;
  /** Length of the longest key. */
  readonly maxDepth: number;
  /** Symbols the keys use, in mask-bit order. */
  readonly alphabet: string;
  /**
   * Length of the prefix that the last `longest`/`longestIndex` call matched (-1 = none).
   * Read it right after the call; it is overwritten by the next lookup.
   */
  lastMatchLength = -1;

  private readonly nodes: Int32Array;
  private readonly words: number;
  private readonly stride: number;
  private readonly ascii: Int16Array;
  private readonly wide: ReadonlyMap<number, number>;
  private readonly values: readonly V[];

  /** @internal built by PrefixTreeBuilder; use buildPrefixTree() or the builder. */
  constructor(init: {
    nodes: Int32Array;
    words: number;
    alphabet: string;
    values: readonly V[];
    size: number;
    nodeCount: number;
    maxDepth: number;
  }) {
    this.nodes = init.nodes;
    this.words = init.words;
    this.stride = init.words + 2;
    this.alphabet = init.alphabet;
    this.values = init.values;
    this.size = init.size;
    this.nodeCount = init.nodeCount;
    this.maxDepth = init.maxDepth;
    this.ascii = new Int16Array(128).fill(-1);
    const wide = new Map<number, number>();
    for (let i = 0; i < init.alphabet.length; i++) {
      const c = init.alphabet.charCodeAt(i);
      if (c < 128) this.ascii[c] = i;
      else wide.set(c, i);
    }
    this.wide = wide;
  }

  /** Bytes held by the node array (the values are counted by their owner). */
  get memoryBytes(): number {
    return this.nodes.byteLength;
  }

  /** Whether the node array lives on a SharedArrayBuffer (built with `shared: true`). */
  get isShared(): boolean {
    return this.nodes.buffer instanceof SharedArrayBuffer;
  }

  /**
   * What another thread needs to look up against this very tree: posting it (postMessage) shares
   * the node array's SharedArrayBuffer, no copy; the values (few, deduplicated) are cloned. Only
   * for a tree built with `shared: true`; nobody writes the buffer after the build.
   */
  share(): SharedPrefixTree<V> {
    if (!this.isShared) throw new Error("PrefixTree.share: the tree was not built with shared: true");
    return { nodes: this.nodes, words: this.words, alphabet: this.alphabet, values: this.values, size: this.size, nodeCount: this.nodeCount, maxDepth: this.maxDepth };
  }

  /** The tree of another thread's `share()`, over the same memory. */
  static attach<V>(d: SharedPrefixTree<V>): PrefixTree<V> {
    if (!(d.nodes.buffer instanceof SharedArrayBuffer)) throw new Error("PrefixTree.attach: the node array is not shared memory");
    return new PrefixTree<V>(d);
  }

  /** The value of the longest key that is a prefix of `key` (from offset `from`), or undefined. */
  longest(key: string, from = 0): V | undefined {
    const i = this.longestIndex(key, from);
    return i < 0 ? undefined : this.values[i];
  }

  /**
   * Index (into the value table) of the longest key that prefixes `key`, or -1; sets
   * `lastMatchLength`. The allocation-free core of every lookup.
   */
  longestIndex(key: string, from = 0): number {
    const nodes = this.nodes;
    const W = this.words;
    const S = this.stride;
    let best = nodes[S - 1]!;
    let bestLen = best >= 0 ? 0 : -1;
    let n = 0;
    const len = key.length;
    if (W === 1) {
      for (let i = from; i < len; i++) {
        const c = key.charCodeAt(i);
        const ci = c < 128 ? this.ascii[c]! : (this.wide.get(c) ?? -1);
        if (ci < 0) break;
        const base = n * 3;
        const m = nodes[base]!;
        const bit = 1 << ci;
        if ((m & bit) === 0) break;
        n = nodes[base + 1]! + popcount(m & (bit - 1));
        const v = nodes[n * 3 + 2]!;
        if (v >= 0) {
          best = v;
          bestLen = i + 1 - from;
        }
      }
    } else {
      for (let i = from; i < len; i++) {
        const c = key.charCodeAt(i);
        const ci = c < 128 ? this.ascii[c]! : (this.wide.get(c) ?? -1);
        if (ci < 0) break;
        const child = this.childOf(n, ci);
        if (child < 0) break;
        n = child;
        const v = nodes[n * S + W + 1]!;
        if (v >= 0) {
          best = v;
          bestLen = i + 1 - from;
        }
      }
    }
    this.lastMatchLength = bestLen;
    return best;
  }

  /** Exact lookup of one key. */
  get(key: string): V | undefined {
    const n = this.nodeOf(key);
    if (n < 0) return undefined;
    const v = this.nodes[n * this.stride + this.words + 1]!;
    return v < 0 ? undefined : this.values[v];
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Calls `fn(value, prefixLength)` for every key that prefixes `key`, shortest first; stops
   * early when `fn` returns true. Used where more than the longest match counts (lcr rules of
   * every prefix length, mtree mode 2, drouting's fall-back to shorter prefixes).
   */
  forEachMatch(key: string, fn: (value: V, prefixLength: number) => boolean | void, from = 0): void {
    const nodes = this.nodes;
    const W = this.words;
    const S = this.stride;
    const root = nodes[S - 1]!;
    if (root >= 0 && fn(this.values[root]!, 0) === true) return;
    let n = 0;
    for (let i = from; i < key.length; i++) {
      const c = key.charCodeAt(i);
      const ci = c < 128 ? this.ascii[c]! : (this.wide.get(c) ?? -1);
      if (ci < 0) return;
      const child = this.childOf(n, ci);
      if (child < 0) return;
      n = child;
      const v = nodes[n * S + W + 1]!;
      if (v >= 0 && fn(this.values[v]!, i + 1 - from) === true) return;
    }
  }

  /** Values of every key that prefixes `key`, longest first. */
  collect(key: string, from = 0): V[] {
    const out: V[] = [];
    this.forEachMatch(key, (v) => {
      out.push(v);
    }, from);
    return out.reverse();
  }

  /** Every (key, value) pair in alphabet order (depth first), for dumps and RPC listings. */
  *entries(): IterableIterator<[string, V]> {
    const nodes = this.nodes;
    const W = this.words;
    const S = this.stride;
    const stack: Array<{ node: number; key: string }> = [{ node: 0, key: "" }];
    while (stack.length > 0) {
      const { node, key } = stack.pop()!;
      const v = nodes[node * S + W + 1]!;
      if (v >= 0) yield [key, this.values[v]!];
      const first = nodes[node * S + W]!;
      let rank = 0;
      const kids: Array<{ node: number; key: string }> = [];
      for (let w = 0; w < W; w++) {
        let m = nodes[node * S + w]!;
        while (m !== 0) {
          const low = m & -m;
          const bitIndex = 31 - Math.clz32(low);
          kids.push({ node: first + rank, key: key + this.alphabet[w * 32 + bitIndex]! });
          rank++;
          m &= m - 1;
        }
      }
      for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]!);
    }
  }

  private childOf(n: number, ci: number): number {
    const nodes = this.nodes;
    const W = this.words;
    const base = n * this.stride;
    const word = ci >>> 5;
    const bit = 1 << (ci & 31);
    const m = nodes[base + word]!;
    if ((m & bit) === 0) return -1;
    let rank = popcount(m & (bit - 1));
    for (let w = 0; w < word; w++) rank += popcount(nodes[base + w]!);
    return nodes[base + W]! + rank;
  }

  private nodeOf(key: string): number {
    let n = 0;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      const ci = c < 128 ? this.ascii[c]! : (this.wide.get(c) ?? -1);
      if (ci < 0) return -1;
      n = this.childOf(n, ci);
      if (n < 0) return -1;
    }
    return n;
  }
}

/** A tree as posted between threads (PrefixTree.share / attach). */
export interface SharedPrefixTree<V> {
  readonly nodes: Int32Array;
  readonly words: number;
  readonly alphabet: string;
  readonly values: readonly V[];
  readonly size: number;
  readonly nodeCount: number;
  readonly maxDepth: number;
}

/** Number of set bits in a 32-bit integer (Hamming weight). */
export function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
