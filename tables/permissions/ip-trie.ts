/**
 * A binary trie over address bits, one per family: a lookup walks at most 32 (IPv4) or 128 (IPv6)
 * nodes whatever the number of rows, and the deepest node whose items pass the caller's filter is
 * the longest-prefix match. Hosts (/32, /128) and subnets live in the same trie.
 */

/** One trie node: children for bit 0 and bit 1, items for this exact prefix. */
export class IpTrieNode<T> {
  zero: IpTrieNode<T> | null = null;
  one: IpTrieNode<T> | null = null;
  items: T[] | null = null;
}

/** Bit trie of one address family; items hang on the node of their prefix. */
export class IpTrie<T> {
  readonly root = new IpTrieNode<T>();
  size = 0;

  /** Adds `item` under the first `prefixLen` bits of `bytes`. */
  insert(bytes: Uint8Array, prefixLen: number, item: T): void {
    let node = this.root;
    for (let i = 0; i < prefixLen; i++) {
      const bit = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
      let next = bit ? node.one : node.zero;
      if (!next) {
        next = new IpTrieNode<T>();
        if (bit) node.one = next;
        else node.zero = next;
      }
      node = next;
    }
    (node.items ??= []).push(item);
    this.size++;
  }

  /**
   * Walks the path of `bytes` (`bits` long) and returns every node holding items, shortest
   * prefix first, into `out` (reused by callers to avoid allocation). Returns the count.
   */
  path(bytes: Uint8Array, bits: number, out: Array<T[]>): number {
    let n = 0;
    let node: IpTrieNode<T> | null = this.root;
    if (node.items) out[n++] = node.items;
    for (let i = 0; i < bits; i++) {
      const bit = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
      node = bit ? node.one : node.zero;
      if (!node) break;
      if (node.items) out[n++] = node.items;
    }
    return n;
  }
}
