import { TableError, type TableSet } from "../rows.js";
import { DuplicatePrefixError, PrefixKeyError, PrefixTreeBuilder } from "../../lib/prefix-tree/build-prefix-tree.js";
import type { PrefixTree } from "../../lib/prefix-tree/prefix-tree.js";
import { readStr, rowIdOf, rowAt, tableArray } from "../kit/row-values.js";
import { ROW_SLICE_MASK, runToEnd, type Sliced } from "../kit/sliced.js";

/**
 * Compiling Kamailio's `prefix_route` table (prefix, route, comment) into a digit tree that maps
 * the longest matching prefix of a number to a script route name. Pure: the control plane runs
 * the same function to validate rows before pushing them.
 */

/** One row as a lookup reports it. */
export interface PrefixRouteEntry {
  readonly prefix: string;
  readonly route: string;
  readonly comment: string;
}

/**
 * What a prefix leads to. Rows with the same route and comment share one target object, so a
 * 1M-row table keeps a handful of objects besides the trie's typed array (no object per row for
 * the garbage collector to walk).
 */
export interface PrefixRouteTarget {
  readonly route: string;
  readonly comment: string;
}

export interface CompiledPrefixRoutes {
  readonly tree: PrefixTree<PrefixRouteTarget>;
  readonly rows: number;
  /** Prefixes in effect (the tree's, less those the overlay removes, plus those it adds). */
  readonly count: number;
  /**
   * Changes applied by deltas on top of `tree` (delta.ts): prefix → target, or null where the
   * prefix was removed. Absent after a full compile.
   */
  readonly overlay?: ReadonlyMap<string, PrefixRouteTarget | null>;
  /** The distinct key lengths of `overlay`, longest first. */
  readonly overlayLengths?: readonly number[];
}

export interface PrefixRouteCompileOptions {
  /**
   * Names of the routes the routing script defines. When given, a row naming another route is
   * rejected (Kamailio refuses to load a prefix whose route does not exist).
   */
  readonly knownRoutes?: readonly string[];
}

/** Kamailio's column is VARCHAR(64). */
export const PREFIX_ROUTE_MAX_PREFIX = 64;

/**
 * Validates and compiles the rows. Throws TableError naming the row (its `id` when present,
 * else `#<position>`) on: a prefix with characters other than digits, a prefix over 64
 * characters, an empty route name, an unknown route (with knownRoutes), a repeated prefix.
 * An empty prefix is the default route (matches every number).
 *
 * @example
 *   const c = compilePrefixRouteTables({ prefix_route: [{ prefix: "49", route: "GERMANY" }] });
 */
export function compilePrefixRouteTables(set: TableSet, opts: PrefixRouteCompileOptions = {}): CompiledPrefixRoutes {
  return runToEnd(compilePrefixRouteSteps(set, opts));
}

/**
 * compilePrefixRouteTables as resumable steps (see tables/kit/sliced.ts): yields every 1,024
 * rows and between tree-build slices, so a 1M-row table can compile while calls are served.
 */
export function* compilePrefixRouteSteps(set: TableSet, opts: PrefixRouteCompileOptions = {}, build: { shared?: boolean } = {}): Sliced<CompiledPrefixRoutes> {
  const known = opts.knownRoutes ? new Set(opts.knownRoutes) : null;
  const rows = tableArray(set, "prefix_route");
  const b = new PrefixTreeBuilder<PrefixRouteTarget>({ alphabet: "0123456789", maxKeyLength: PREFIX_ROUTE_MAX_PREFIX, expectedSize: rows.length, shared: build.shared === true });
  const targets = new Map<string, PrefixRouteTarget>();
  for (let i = 0; i < rows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(rows, i, "prefix_route");
    const id = rowIdOf(row, "id", i);
    const prefix = readStr(row, "prefix_route", id, "prefix").trim();
    const route = readStr(row, "prefix_route", id, "route", { nonEmpty: true, maxLength: 64 });
    const comment = readStr(row, "prefix_route", id, "comment");
    const tk = comment === "" ? route : `${route}\u0000${comment}`;
    let target = targets.get(tk);
    if (target === undefined) {
      if (known !== null && !known.has(route)) throw new TableError("prefix_route", id, `route '${route}' does not exist in the routing script`);
      targets.set(tk, (target = { route, comment }));
    }
    try {
      b.add(prefix, target);
    } catch (e) {
      if (e instanceof PrefixKeyError) throw new TableError("prefix_route", id, `prefix '${prefix}': ${e.message} (digits only)`);
      throw e;
    }
  }
  try {
    const tree = yield* b.buildSteps();
    return { tree, rows: rows.length, count: tree.size };
  } catch (e) {
    if (e instanceof DuplicatePrefixError) {
      // row names are worked out only here: no id per row is kept while compiling
      const idAt = (i: number) => rowIdOf(rowAt(rows, i, "prefix_route"), "id", i);
      throw new TableError("prefix_route", idAt(e.index), `prefix '${e.key}' already set to a route by row ${idAt(e.firstIndex)}`);
    }
    throw e;
  }
}

/**
 * Longest-prefix lookup on a number. Like Kamailio, characters other than digits in the number
 * are skipped ("+49 (30) 1234" is looked up as "49301234").
 */
export function lookupPrefixRoute(c: CompiledPrefixRoutes, user: string): PrefixRouteEntry | null {
  const key = digitsOf(user);
  const t = longestTarget(c, key);
  return t === undefined ? null : { prefix: key.slice(0, matchLength), route: t.route, comment: t.comment };
}

/** The route name only (the per-call path: no allocation for an all-digit number without an overlay). */
export function lookupPrefixRouteName(c: CompiledPrefixRoutes, user: string): string | null {
  return longestTarget(c, digitsOf(user))?.route ?? null;
}

/** Length of the prefix the last longestTarget call matched (-1: none). */
let matchLength = -1;

/**
 * Longest-prefix match over the tree and the overlay: an overlay entry replaces (or, null,
 * removes) the tree's entry for the same prefix. Without an overlay it is the tree's lookup.
 */
export function longestTarget(c: CompiledPrefixRoutes, key: string): PrefixRouteTarget | undefined {
  const ov = c.overlay;
  if (ov === undefined) {
    const t = c.tree.longest(key);
    matchLength = c.tree.lastMatchLength;
    return t;
  }
  let best: PrefixRouteTarget | undefined;
  let bestLen = -1;
  c.tree.forEachMatch(key, (v, len) => {
    if (!ov.has(key.slice(0, len))) {
      best = v;
      bestLen = len;
    }
  });
  for (const l of c.overlayLengths ?? []) {
    if (l <= bestLen) break;
    if (l > key.length) continue;
    const o = ov.get(key.slice(0, l));
    if (o) {
      matchLength = l;
      return o;
    }
  }
  matchLength = bestLen;
  return best;
}

/** Every prefix in effect with its target (tree entries not overridden, then the overlay's). */
export function* prefixRouteEntries(c: CompiledPrefixRoutes): IterableIterator<[string, PrefixRouteTarget]> {
  const ov = c.overlay;
  for (const e of c.tree.entries()) if (!ov?.has(e[0])) yield e;
  if (ov) for (const [p, t] of ov) if (t) yield [p, t];
}

function digitsOf(user: string): string {
  for (let i = 0; i < user.length; i++) {
    const ch = user.charCodeAt(i);
    if (ch < 48 || ch > 57) return user.replace(/\D+/g, "");
  }
  return user;
}

/**
 * The text Kamailio's prefix_route.dump prints (tree_print): a header, then the digit tree, one
 * line per node, indented by depth, with ` \t--> route[NAME] ` where a route is set.
 */
export function dumpPrefixRouteLines(c: CompiledPrefixRoutes): string[] {
  let text = "Prefix route tree:\n reference count: 0\n";
  const entries = [...prefixRouteEntries(c)];
  const byPrefix = new Map(entries);
  const root = byPrefix.get("");
  if (root) text += ` \t--> route[${root.route}] `;
  // every node on the way to a prefix is printed, in digit order (depth first)
  const nodes = new Set<string>();
  for (const [p] of entries) for (let l = 1; l <= p.length; l++) nodes.add(p.slice(0, l));
  const sorted = [...nodes].sort();
  for (const n of sorted) {
    text += "\n" + " ".repeat(n.length - 1) + n[n.length - 1] + " ";
    const e = byPrefix.get(n);
    if (e) text += ` \t--> route[${e.route}] `;
  }
  return text.split("\n").filter((l, i, all) => i < all.length - 1 || l !== "");
}
