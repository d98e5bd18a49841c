/**
 * prefix_route compiled once per node and shared by its worker threads (data-plane/workers): the
 * digit tree's node array is built on a SharedArrayBuffer (PrefixTreeBuilder `shared: true`), the
 * few distinct targets are the tree's value table, and `sharePrefixRoutes` is what is posted to
 * every worker — postMessage shares the buffer, it does not copy it. A delta's overlay (at most
 * OVERLAY_MAX prefixes) travels as entries and each worker rebuilds its small Map; the tree under
 * it stays the shared one. A shared buffer is never written after the build: a new version (or
 * the fold of an overlay) is a new buffer, and the old one is garbage once no thread refers to it.
 */
import { PrefixTree, type SharedPrefixTree } from "../../lib/prefix-tree/prefix-tree.js";
import { runSliced, type Sliced } from "../kit/sliced.js";
import type { TableSet } from "../rows.js";
import { compilePrefixRouteSteps, type CompiledPrefixRoutes, type PrefixRouteCompileOptions, type PrefixRouteTarget } from "./table.js";

/** A compiled prefix_route version as posted to a worker thread. */
export interface SharedPrefixRoutes {
  readonly tree: SharedPrefixTree<PrefixRouteTarget>;
  readonly rows: number;
  readonly count: number;
  /** The delta overlay (prefix → target, null = removed), when there is one. */
  readonly overlay?: ReadonlyArray<readonly [string, PrefixRouteTarget | null]>;
}

/** The full compile with the tree on shared memory (same rows, same errors as compilePrefixRouteSteps). */
export function compileSharedPrefixRouteSteps(set: TableSet, opts: PrefixRouteCompileOptions = {}): Sliced<CompiledPrefixRoutes> {
  return compilePrefixRouteSteps(set, opts, { shared: true });
}

/** compileSharedPrefixRouteSteps in time slices (the primary thread keeps relaying meanwhile). */
export function compileSharedPrefixRoutes(set: TableSet, opts: PrefixRouteCompileOptions = {}): Promise<CompiledPrefixRoutes> {
  return runSliced(compileSharedPrefixRouteSteps(set, opts));
}

export function sharePrefixRoutes(c: CompiledPrefixRoutes): SharedPrefixRoutes {
  return { tree: c.tree.share(), rows: c.rows, count: c.count, ...(c.overlay ? { overlay: [...c.overlay] } : {}) };
}

/** The compiled structure over the posted one's memory: lookups, counts and dumps as if compiled here. */
export function attachPrefixRoutes(d: SharedPrefixRoutes): CompiledPrefixRoutes {
  const tree = PrefixTree.attach(d.tree);
  if (!d.overlay) return { tree, rows: d.rows, count: d.count };
  // one object per distinct target again (the clone made one per entry)
  const targets = new Map<string, PrefixRouteTarget>();
  const overlay = new Map<string, PrefixRouteTarget | null>();
  for (const [p, t] of d.overlay) {
    if (t === null) {
      overlay.set(p, null);
      continue;
    }
    const k = `${t.route}\u0000${t.comment}`;
    let u = targets.get(k);
    if (u === undefined) targets.set(k, (u = t));
    overlay.set(p, u);
  }
  const overlayLengths = [...new Set([...overlay.keys()].map((k) => k.length))].sort((a, b) => b - a);
  return { tree, rows: d.rows, count: d.count, overlay, overlayLengths };
}

/** Bytes of shared memory the version's tree holds. */
export function prefixRouteSharedBytes(c: CompiledPrefixRoutes): number {
  return c.tree.isShared ? c.tree.memoryBytes : 0;
}
