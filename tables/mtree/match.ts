import { MTREE_MAX_DST_LIST, type CompiledTree, type MtreeItem } from "./table.js";

/**
 * mt_match semantics (Kamailio mtree.c mt_match_prefix):
 * - type 0/2 trees, mode ≠ 2: the value of the longest matching prefix;
 * - type 0/2 trees, mode 2: the values of every matching prefix, longest first;
 * - type 1 trees (any mode): the dstid/weight pairs of every matching prefix, one entry per
 *   dstid (the longest prefix wins), ordered by weight, highest first.
 */
export type MtreeMatch =
  | { readonly kind: "value"; readonly prefix: string; readonly value: string | number }
  | { readonly kind: "values"; readonly items: ReadonlyArray<{ readonly prefix: string; readonly value: string | number }> }
  | { readonly kind: "dw"; readonly prefix: string; readonly dstid: readonly number[]; readonly weight: readonly number[]; readonly count: number };

/**
 * Matches `value` against a compiled tree. Returns null when no prefix matches (Kamailio -1).
 *
 * @example
 *   const m = matchTree(trees.get("routes")!, "4930123", 0);
 *   if (m?.kind === "value") route(m.value);
 */
export function matchTree(tree: CompiledTree, value: string, mode: number): MtreeMatch | null {
  if (tree.type === 1) return matchPairs(tree, value);
  if (mode === 2) {
    const items: Array<{ prefix: string; value: string | number }> = [];
    tree.tree.forEachMatch(value, (item) => {
      const vals = tree.type === 2 ? item.ints : item.values;
      for (const v of vals) items.push({ prefix: item.prefix, value: v });
    });
    if (items.length === 0) return null;
    // forEachMatch runs shortest first; Kamailio's value list has the longest prefix first.
    const byPrefix = groupReverse(items);
    return { kind: "values", items: byPrefix };
  }
  const item = tree.tree.longest(value);
  if (item === undefined) return null;
  const last = item.values.length - 1;
  return { kind: "value", prefix: item.prefix, value: tree.type === 2 ? item.ints[last]! : item.values[last]! };
}

/** All values (as strings) of every matching prefix, longest first; null without a match. */
export function matchAllValues(tree: CompiledTree, value: string): string[] | null {
  const out: MtreeItem[] = tree.tree.collect(value);
  if (out.length === 0) return null;
  const vals: string[] = [];
  for (const item of out) vals.push(...item.values);
  return vals;
}

/** Reverses the prefix order but keeps row order within one prefix. */
function groupReverse<T extends { prefix: string }>(items: T[]): T[] {
  const out: T[] = [];
  let end = items.length;
  while (end > 0) {
    let start = end - 1;
    while (start > 0 && items[start - 1]!.prefix === items[end - 1]!.prefix) start--;
    for (let i = start; i < end; i++) out.push(items[i]!);
    end = start;
  }
  return out;
}

function matchPairs(tree: CompiledTree, value: string): MtreeMatch | null {
  // collect along the path (shortest first), at most MTREE_MAX_DST_LIST pairs like Kamailio
  const collected: Array<{ dstid: number; weight: number; depth: number; seq: number }> = [];
  let longestPrefix = "";
  tree.tree.forEachMatch(value, (item, len) => {
    for (const p of item.pairs) {
      if (collected.length >= MTREE_MAX_DST_LIST) return true;
      collected.push({ dstid: p.dstid, weight: p.weight, depth: len, seq: collected.length });
    }
    longestPrefix = item.prefix;
    return collected.length >= MTREE_MAX_DST_LIST;
  });
  if (collected.length === 0) return null;
  // one entry per dstid: the one from the longest prefix (latest collected) wins
  const byDst = new Map<number, (typeof collected)[number]>();
  for (const c of collected) byDst.set(c.dstid, c);
  const kept = [...byDst.values()].sort((a, b) => b.weight - a.weight || b.depth - a.depth || a.seq - b.seq);
  return {
    kind: "dw",
    prefix: longestPrefix,
    dstid: kept.map((k) => k.dstid),
    weight: kept.map((k) => k.weight),
    count: kept.length,
  };
}
