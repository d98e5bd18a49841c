import { PrefixTree } from "./prefix-tree.js";

import { dedupeSteps } from "./shared-values.js";
import { DuplicatePrefixError, PrefixKeyError } from "./errors.js";
export { DuplicatePrefixError, PrefixKeyError };

export interface PrefixTreeBuilderOptions<V> {
  /** Allowed key characters (e.g. "0123456789" or mtree's char_list); any character when unset. */
  readonly alphabet?: string;
  /** Longest allowed key (mtree: 63, lcr: 16, carrierroute: 64); unlimited when unset. */
  readonly maxKeyLength?: number;
  /**
   * Combines two values added under the same key (e.g. several lcr rules sharing a prefix).
   * Without it a repeated key makes build() throw DuplicatePrefixError.
   */
  readonly merge?: (existing: V, incoming: V, key: string) => V;
  /**
   * How many pairs will be added, when known (a table's row count): the builder's arrays are
   * allocated once at that size instead of growing (each growth of a 1M-entry array is a copy
   * that holds the event loop for tens of ms).
   */
  readonly expectedSize?: number;
  /**
   * Lay the node array out on a SharedArrayBuffer and keep each distinct value once (by
   * identity; the node records point at the distinct values), so `tree.share()` can be posted
   * to worker threads that look up against the same memory (data-plane/workers). Not with `merge`.
   */
  readonly shared?: boolean;
}

/**
 * Collects (prefix, value) pairs and compiles them into a PrefixTree. `add` only validates and
 * records; `build` groups the keys by their first characters (one counting-sort pass, so each
 * subtree is built while it is hot in cache), inserts them into a first-child/next-sibling trie
 * held in typed arrays (no object per node), and lays that out with child bitmaps. The async
 * variant does the same work in slices and yields to the event loop between them.
 *
 * @example
 *   const b = new PrefixTreeBuilder<string>({ alphabet: "0123456789" });
 *   b.add("49", "de"); b.add("4930", "berlin");
 *   const tree = b.build();
 */
export class PrefixTreeBuilder<V> {
  private readonly keys: string[];
  private readonly vals: V[];
  private n = 0;
  private totalLength = 0;
  private readonly allowAscii: Uint8Array | null;
  private readonly allowWide: Set<number> | null;
  private readonly maxKeyLength: number;
  private readonly merge: ((existing: V, incoming: V, key: string) => V) | undefined;
  private readonly shared: boolean;

  constructor(opts: PrefixTreeBuilderOptions<V> = {}) {
    this.maxKeyLength = opts.maxKeyLength ?? Number.MAX_SAFE_INTEGER;
    this.merge = opts.merge;
    this.shared = opts.shared === true;
    if (this.shared && opts.merge) throw new Error("PrefixTreeBuilder: shared and merge do not go together");
    const expected = Math.max(0, Math.min(opts.expectedSize ?? 0, 50_000_000));
    this.keys = new Array<string>(expected);
    this.vals = new Array<V>(expected);
    if (opts.alphabet !== undefined) {
      this.allowAscii = new Uint8Array(128);
      this.allowWide = new Set<number>();
      for (let i = 0; i < opts.alphabet.length; i++) {
        const c = opts.alphabet.charCodeAt(i);
        if (c < 128) this.allowAscii[c] = 1;
        else this.allowWide.add(c);
      }
    } else {
      this.allowAscii = null;
      this.allowWide = null;
    }
  }

  /** Number of pairs added (repeated keys counted each time). */
  get size(): number {
    return this.n;
  }

  /**
   * Records a pair; returns its position in add order (used to name the row of a duplicate).
   * Throws PrefixKeyError for a character outside the alphabet or a key that is too long.
   */
  add(key: string, value: V): number {
    const len = key.length;
    if (len > this.maxKeyLength) {
      throw new PrefixKeyError(key, this.maxKeyLength, `prefix longer than ${this.maxKeyLength} characters`);
    }
    const allow = this.allowAscii;
    if (allow !== null) {
      for (let i = 0; i < len; i++) {
        const c = key.charCodeAt(i);
        if (c < 128 ? allow[c] !== 1 : !this.allowWide!.has(c)) {
          throw new PrefixKeyError(key, i, `invalid character '${key[i]}' at position ${i}`);
        }
      }
    }
    const i = this.n++;
    this.keys[i] = key;
    this.vals[i] = value;
    this.totalLength += len;
    return i;
  }

  /** Compiles everything added so far (the builder stays usable). */
  build(): PrefixTree<V> {
    return runToEnd(this.buildSteps(Number.MAX_SAFE_INTEGER));
  }

  /**
   * Same as build() but gives the event loop a turn after every slice (`sliceKeys` inserts or
   * laid-out nodes), so a reload of a big table never holds the loop for long.
   */
  async buildAsync(sliceKeys = 8_192): Promise<PrefixTree<V>> {
    const steps = this.buildSteps(sliceKeys);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      await yieldToEventLoop();
    }
  }

  /**
   * The build as resumable steps: yields after every slice of `sliceKeys` inserts (or laid-out
   * nodes) and returns the tree. A table compiler written as a generator runs it with `yield*`,
   * so one code path serves the synchronous compile (runToEnd) and the sliced one (runSliced in
   * sliced.ts). Each step is a few ms for the default 4,096; the node array of the layout is
   * allocated in a step of its own.
   */
  *buildSteps(sliceKeys = 4_096): Generator<void, PrefixTree<V>, void> {
    // drop the unused tail of a pre-sized array (shrinking is cheap)
    if (this.keys.length > this.n) {
      this.keys.length = this.n;
      this.vals.length = this.n;
    }
    const job = new InsertJob<V>(this.keys, this.vals, this.totalLength, this.merge);
    yield;
    while (job.step(sliceKeys)) yield;
    yield;
    const snap = job.snapshot();
    if (this.shared) {
      // each distinct value once: the node records get the distinct index (a few targets for 1M keys)
      const { distinct, map } = yield* dedupeSteps(snap.values);
      snap.size = snap.values.length;
      snap.values = distinct;
      snap.valueMap = map;
      snap.shared = true;
    }
    const c = new Compactor<V>(snap);
    yield;
    while (c.step(sliceKeys)) yield;
    return c.finish();
  }
}

/** Drives a step generator to its end without yielding (the synchronous path). */
export function runToEnd<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

const BUCKETS = 4096;

/** Inserts keys, grouped by their first three characters, into the linked trie. */
class InsertJob<V> {
  // Node 0 is the root; since the root is never anybody's child or sibling, 0 doubles as
  // "none" in firstChild/nextSibling, and valuePlus1 stores a value index + 1.
  // The arrays are allocated by the steps that first need them, one or two per step (a
  // 1M-key build allocates ≈100 MB of typed arrays; zeroing them all at once is a long pause).
  private firstChild!: Int32Array;
  private nextSibling!: Int32Array;
  private chars!: Uint16Array;
  private valuePlus1!: Int32Array;
  private count = 1;
  // sized for every key up front (no growth copies); valueCount says how many are in use
  private values!: V[];
  private valueAddIndex!: Int32Array;
  private valueCount = 0;
  private maxDepth = 0;
  private readonly seenAscii = new Uint8Array(128);
  private readonly seenWide = new Set<number>();
  private order!: Int32Array;
  private pos = 0;
  private readonly cap: number;

  constructor(
    private readonly keys: readonly string[],
    private readonly vals: readonly V[],
    totalLength: number,
    private readonly merge: ((existing: V, incoming: V, key: string) => V) | undefined,
  ) {
    this.cap = Math.min(totalLength + 1, keys.length * 4 + 16);
  }

  // Phases, each resumable: 0 = bucket ids and counts, 1 = place positions (stable counting
  // sort, so equal keys keep their add order), 2 = insert into the trie. `allocated` counts the
  // allocation steps done.
  private phase = 0;
  private allocated = 0;
  private bucket!: Int32Array;
  private counts!: Int32Array;

  /** Allocates the next array the phases need; false when all are there. */
  private allocateNext(): boolean {
    const n = this.keys.length;
    const cap = this.cap;
    switch (this.allocated++) {
      case 0:
        this.bucket = new Int32Array(n);
        this.counts = new Int32Array(BUCKETS + 1);
        return true;
      case 1:
        this.order = new Int32Array(n);
        return true;
      case 2:
        this.firstChild = new Int32Array(cap);
        return true;
      case 3:
        this.nextSibling = new Int32Array(cap);
        return true;
      case 4:
        this.chars = new Uint16Array(cap);
        this.valuePlus1 = new Int32Array(cap);
        return true;
      case 5:
        this.values = new Array<V>(n);
        this.valueAddIndex = new Int32Array(n);
        return true;
      default:
        this.allocated--;
        return false;
    }
  }

  /** Does up to `budget` units of work; returns true while work remains. */
  step(budget: number): boolean {
    const n = this.keys.length;
    if (this.allocateNext()) return true;
    if (this.phase === 0) {
      const { keys, bucket, counts } = this;
      const end = Math.min(n, this.pos + budget);
      for (let i = this.pos; i < end; i++) {
        const k = keys[i]!;
        let b = 0;
        const m = k.length < 3 ? k.length : 3;
        for (let j = 0; j < m; j++) b = b * 37 + k.charCodeAt(j);
        b &= BUCKETS - 1;
        bucket[i] = b;
        counts[b + 1]!++;
      }
      this.pos = end;
      if (end < n) return true;
      for (let b = 0; b < BUCKETS; b++) counts[b + 1]! += counts[b]!;
      this.phase = 1;
      this.pos = 0;
      return true;
    }
    if (this.phase === 1) {
      const { bucket, counts, order } = this;
      const end = Math.min(n, this.pos + budget * 4);
      for (let i = this.pos; i < end; i++) order[counts[bucket[i]!]!++] = i;
      this.pos = end;
      if (end < n) return true;
      this.phase = 2;
      this.pos = 0;
      return n > 0;
    }
    return this.insertSome(budget);
  }

  private insertSome(budget: number): boolean {
    const order = this.order;
    const end = Math.min(order.length, this.pos + budget);
    for (let p = this.pos; p < end; p++) this.insert(order[p]!);
    this.pos = end;
    return end < order.length;
  }

  snapshot(): Snapshot<V> {
    const codes: number[] = [];
    for (let c = 0; c < 128; c++) if (this.seenAscii[c] === 1) codes.push(c);
    codes.push(...[...this.seenWide].sort((a, b) => a - b));
    this.values.length = this.valueCount; // merged repeats leave the tail unused
    return {
      firstChild: this.firstChild,
      nextSibling: this.nextSibling,
      chars: this.chars,
      valuePlus1: this.valuePlus1,
      count: this.count,
      values: this.values,
      maxDepth: this.maxDepth,
      codes,
    };
  }

  private insert(addIndex: number): void {
    const key = this.keys[addIndex]!;
    const len = key.length;
    let n = 0;
    let i = 0;
    {
      const firstChild = this.firstChild;
      const nextSibling = this.nextSibling;
      const chars = this.chars;
      for (; i < len; i++) {
        const c = key.charCodeAt(i);
        let child = firstChild[n]!;
        while (child !== 0 && chars[child] !== c) child = nextSibling[child]!;
        if (child === 0) break;
        n = child;
      }
    }
    if (i < len) n = this.extend(n, key, i);
    const v = this.valuePlus1[n]!;
    if (v !== 0) {
      if (this.merge === undefined) throw new DuplicatePrefixError(key, addIndex, this.valueAddIndex[v - 1]!);
      this.values[v - 1] = this.merge(this.values[v - 1]!, this.vals[addIndex]!, key);
      return;
    }
    const vi = this.valueCount++;
    this.values[vi] = this.vals[addIndex]!;
    this.valueAddIndex[vi] = addIndex;
    this.valuePlus1[n] = vi + 1;
    if (len > this.maxDepth) this.maxDepth = len;
  }

  /** Appends the rest of `key` (from position `start`) below node n as a fresh chain. */
  private extend(n: number, key: string, start: number): number {
    const need = this.count + key.length - start;
    if (need > this.chars.length) this.grow(need);
    const firstChild = this.firstChild;
    const nextSibling = this.nextSibling;
    const chars = this.chars;
    for (let i = start; i < key.length; i++) {
      const c = key.charCodeAt(i);
      const child = this.count++;
      chars[child] = c;
      if (c < 128) this.seenAscii[c] = 1;
      else this.seenWide.add(c);
      nextSibling[child] = firstChild[n]!;
      firstChild[n] = child;
      n = child;
    }
    return n;
  }

  private grow(min: number): void {
    const cap = Math.max(min, this.chars.length * 2);
    const grown = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.firstChild = grown(this.firstChild);
    this.nextSibling = grown(this.nextSibling);
    const ch = new Uint16Array(cap);
    ch.set(this.chars);
    this.chars = ch;
    this.valuePlus1 = grown(this.valuePlus1);
  }
}

interface Snapshot<V> {
  firstChild: Int32Array;
  nextSibling: Int32Array;
  chars: Uint16Array;
  valuePlus1: Int32Array;
  count: number;
  values: V[];
  maxDepth: number;
  /** Character codes in use, sorted: symbol i = codes[i]. */
  codes: number[];
  /** Keys stored (values.length unless the values were deduplicated). */
  size?: number;
  /** Value index → distinct value index (shared builds). */
  valueMap?: Int32Array;
  /** Node array on a SharedArrayBuffer. */
  shared?: boolean;
}

/**
 * Lays the linked trie out with child bitmaps, resumable in slices. Children of a node are
 * contiguous (needed for rank addressing) and blocks are placed depth-first, so a long chain of
 * single-child nodes (the sparse deep part of a big table) ends up in consecutive records and a
 * lookup walking it reads adjacent memory instead of one far-away record per character.
 */
class Compactor<V> {
  private readonly src: Snapshot<V>;
  private readonly W: number;
  private readonly S: number;
  private readonly nodes: Int32Array;
  private readonly stackOld: Int32Array;
  private readonly stackNew: Int32Array;
  private sp = 1;
  private readonly asciiSym = new Int16Array(128).fill(-1);
  private readonly wideSym = new Map<number, number>();
  private readonly kids: Int32Array;
  private readonly kidSym: Int32Array;
  private tail = 1;

  constructor(src: Snapshot<V>) {
    this.src = src;
    src.codes.forEach((c, i) => {
      if (c < 128) this.asciiSym[c] = i;
      else this.wideSym.set(c, i);
    });
    this.W = Math.max(1, Math.ceil(src.codes.length / 32));
    this.S = this.W + 2;
    const cells = src.count * this.S;
    this.nodes = src.shared ? new Int32Array(new SharedArrayBuffer(cells * 4)) : new Int32Array(cells);
    // depth-first: the stack holds at most the unvisited siblings along one path
    const stackSize = Math.min(src.count, (src.maxDepth + 1) * Math.max(1, src.codes.length) + 1);
    this.stackOld = new Int32Array(stackSize);
    this.stackNew = new Int32Array(stackSize);
    this.kids = new Int32Array(Math.max(1, src.codes.length));
    this.kidSym = new Int32Array(Math.max(1, src.codes.length));
  }

  /** Processes up to `budget` nodes; returns true while work remains. */
  step(budget: number): boolean {
    const { firstChild, nextSibling, chars, valuePlus1, valueMap } = this.src;
    const { nodes, stackOld, stackNew, kids, kidSym, asciiSym, wideSym, W, S } = this;
    let sp = this.sp;
    let tail = this.tail;
    let done = 0;
    while (sp > 0 && done < budget) {
      sp--;
      const old = stackOld[sp]!;
      const base = stackNew[sp]! * S;
      done++;
      let k = 0;
      for (let c = firstChild[old]!; c !== 0; c = nextSibling[c]!) {
        const code = chars[c]!;
        const s = code < 128 ? asciiSym[code]! : wideSym.get(code)!;
        let j = k++;
        while (j > 0 && kidSym[j - 1]! > s) {
          kidSym[j] = kidSym[j - 1]!;
          kids[j] = kids[j - 1]!;
          j--;
        }
        kidSym[j] = s;
        kids[j] = c;
      }
      nodes[base + W] = tail;
      const vp = valuePlus1[old]!;
      nodes[base + W + 1] = valueMap === undefined || vp === 0 ? vp - 1 : valueMap[vp - 1]!;
      for (let j = 0; j < k; j++) {
        const s = kidSym[j]!;
        const w = base + (s >>> 5);
        nodes[w] = nodes[w]! | (1 << (s & 31));
      }
      for (let j = k - 1; j >= 0; j--) {
        stackOld[sp] = kids[j]!;
        stackNew[sp] = tail + j;
        sp++;
      }
      tail += k;
    }
    this.sp = sp;
    this.tail = tail;
    return sp > 0;
  }

  finish(): PrefixTree<V> {
    const src = this.src;
    return new PrefixTree<V>({
      nodes: this.nodes,
      words: this.W,
      alphabet: String.fromCharCode(...src.codes),
      values: src.values,
      size: src.size ?? src.values.length,
      nodeCount: src.count,
      maxDepth: src.maxDepth,
    });
  }
}

/** Builds a tree from pairs in one go (repeated keys throw unless `opts.merge` is given). */
export function buildPrefixTree<V>(pairs: Iterable<readonly [string, V]>, opts?: PrefixTreeBuilderOptions<V>): PrefixTree<V> {
  const b = new PrefixTreeBuilder<V>(opts);
  for (const [k, v] of pairs) b.add(k, v);
  return b.build();
}

/** An empty tree (the state before the first table push). */
export function emptyPrefixTree<V>(): PrefixTree<V> {
  return new PrefixTreeBuilder<V>().build();
}

/** Resolves on the next turn of the event loop (after pending I/O callbacks). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
