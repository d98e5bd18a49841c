import { TableError, type TableSet } from "../../core/api.js";
import { DuplicatePrefixError, PrefixKeyError, PrefixTreeBuilder } from "../prefix-tree/build-prefix-tree.js";
import type { PrefixTree } from "../prefix-tree/prefix-tree.js";
import { readStr, rowIdOf, tableRows } from "../prefix-tree/row-values.js";
import { ROW_SLICE_MASK, runToEnd, type Sliced } from "../prefix-tree/sliced.js";

/**
 * Compiling Kamailio's `prefix_route` table (prefix, route, comment) into a digit tree that maps
 * the longest matching prefix of a number to a script route name. Pure: the control plane runs
 * the same function to validate rows before pushing them.
 */

export interface PrefixRouteEntry {
  readonly prefix: string;
  readonly route: string;
  readonly comment: string;
}

export interface CompiledPrefixRoutes {
  readonly tree: PrefixTree<PrefixRouteEntry>;
  readonly rows: number;
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
 * compilePrefixRouteTables as resumable steps (see prefix-tree/sliced.ts): yields every 1,024
 * rows and between tree-build slices, so a 1M-row table can compile while calls are served.
 */
export function* compilePrefixRouteSteps(set: TableSet, opts: PrefixRouteCompileOptions = {}): Sliced<CompiledPrefixRoutes> {
  const known = opts.knownRoutes ? new Set(opts.knownRoutes) : null;
  const rows = tableRows(set, "prefix_route");
  const ids: Array<string | number> = new Array(rows.length);
  const b = new PrefixTreeBuilder<PrefixRouteEntry>({ alphabet: "0123456789", maxKeyLength: PREFIX_ROUTE_MAX_PREFIX });
  // many rows share a route name and a (usually empty) comment: keep one string of each
  const names = new Map<string, string>();
  for (let i = 0; i < rows.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rows[i]!;
    const id = rowIdOf(row, "id", i);
    ids[i] = id;
    const prefix = readStr(row, "prefix_route", id, "prefix").trim();
    let route = readStr(row, "prefix_route", id, "route", { nonEmpty: true, maxLength: 64 });
    let comment = readStr(row, "prefix_route", id, "comment");
    route = names.get(route) ?? (names.set(route, route), route);
    comment = names.get(comment) ?? (names.set(comment, comment), comment);
    if (known !== null && !known.has(route)) throw new TableError("prefix_route", id, `route '${route}' does not exist in the routing script`);
    try {
      b.add(prefix, { prefix, route, comment });
    } catch (e) {
      if (e instanceof PrefixKeyError) throw new TableError("prefix_route", id, `prefix '${prefix}': ${e.message} (digits only)`);
      throw e;
    }
  }
  try {
    return { tree: yield* b.buildSteps(), rows: rows.length };
  } catch (e) {
    if (e instanceof DuplicatePrefixError) {
      throw new TableError("prefix_route", ids[e.index]!, `prefix '${e.key}' already set to a route by row ${ids[e.firstIndex]}`);
    }
    throw e;
  }
}

/**
 * Longest-prefix lookup on a number. Like Kamailio, characters other than digits in the number
 * are skipped ("+49 (30) 1234" is looked up as "49301234").
 */
export function lookupPrefixRoute(c: CompiledPrefixRoutes, user: string): PrefixRouteEntry | null {
  let digitsOnly = true;
  for (let i = 0; i < user.length; i++) {
    const ch = user.charCodeAt(i);
    if (ch < 48 || ch > 57) {
      digitsOnly = false;
      break;
    }
  }
  const key = digitsOnly ? user : user.replace(/\D+/g, "");
  return c.tree.longest(key) ?? null;
}

/**
 * The text Kamailio's prefix_route.dump prints (tree_print): a header, then the digit tree, one
 * line per node, indented by depth, with ` \t--> route[NAME] ` where a route is set.
 */
export function dumpPrefixRouteLines(c: CompiledPrefixRoutes): string[] {
  let text = "Prefix route tree:\n reference count: 0\n";
  const root = c.tree.get("");
  if (root) text += ` \t--> route[${root.route}] `;
  const entries = [...c.tree.entries()];
  const byPrefix = new Map(entries);
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
