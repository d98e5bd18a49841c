/**
 * Shared builds (PrefixTreeBuilder `shared: true`): each distinct value kept once, by identity, so
 * the value table posted to worker threads is small (prefix_route: a handful of targets for 1M
 * prefixes) and the node records, on shared memory, index the distinct values.
 */
export function* dedupeSteps<V>(values: readonly V[]): Generator<void, { distinct: V[]; map: Int32Array }, void> {
  const ids = new Map<V, number>();
  const distinct: V[] = [];
  const map = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if ((i & 0xffff) === 0xffff) yield;
    const v = values[i]!;
    let id = ids.get(v);
    if (id === undefined) ids.set(v, (id = distinct.push(v) - 1));
    map[i] = id;
  }
  return { distinct, map };
}
