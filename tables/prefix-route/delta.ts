/**
 * prefix_route's incremental compile for a delta (TableSink.compileDelta): the new version is the
 * live digit tree plus a small overlay of changed prefixes (prefix → target, or null where a
 * prefix was removed), built in O(changed rows) without touching the live structure. Rows are
 * checked with the same rules as the full compile (table.ts); a prefix set twice is refused
 * naming both rows. Lookups consult the overlay before the tree (table.ts `longestTarget`).
 * Past OVERLAY_MAX changed prefixes the caller compiles the whole set instead (null), and the
 * module folds the overlay back into a fresh tree in the background when changes pause.
 */
import { TableError, type TableRow, type TableSet } from "../rows.js";
import { readStr, rowIdOf, tableArray } from "../kit/row-values.js";
import { PREFIX_ROUTE_MAX_PREFIX, type CompiledPrefixRoutes, type PrefixRouteCompileOptions, type PrefixRouteTarget } from "./table.js";

/** More changed prefixes than this in the overlay: compile the whole set. */
export const OVERLAY_MAX = 50_000;

export interface PrefixRouteRowChanges {
  /** Base rows the delta drops (removed or replaced). */
  readonly removed: readonly TableRow[];
  /** Rows it puts in (new or replacing). */
  readonly added: readonly TableRow[];
}

const DIGITS = /^[0-9]*$/;

/**
 * The compiled structure of `prev` + `change`, or null when the overlay would grow past
 * OVERLAY_MAX. `set` is the whole new set (only read to name the other row of a duplicate).
 * Throws TableError on a bad row.
 */
export function applyPrefixRouteChanges(prev: CompiledPrefixRoutes, change: PrefixRouteRowChanges, set: TableSet, opts: PrefixRouteCompileOptions = {}): CompiledPrefixRoutes | null {
  const before = prev.overlay?.size ?? 0;
  if (before + change.removed.length + change.added.length > OVERLAY_MAX) return null;
  const overlay = new Map<string, PrefixRouteTarget | null>(prev.overlay ?? []);
  let count = prev.count;
  const exists = (p: string) => {
    const o = overlay.get(p);
    return o !== undefined ? o !== null : prev.tree.has(p);
  };
  for (const row of change.removed) {
    const p = typeof row.prefix === "string" ? row.prefix.trim() : String(row.prefix ?? "").trim();
    if (!exists(p)) continue; // a base row that did not compile into the tree cannot be here; keep the count honest
    overlay.set(p, null);
    count--;
  }
  const known = opts.knownRoutes ? new Set(opts.knownRoutes) : null;
  const targets = new Map<string, PrefixRouteTarget>();
  for (let i = 0; i < change.added.length; i++) {
    const row = change.added[i]!;
    // Kamailio's prefix_route has no id column: a row is named by its id when it has one, else by its prefix
    const id = row.id !== undefined && row.id !== null ? rowIdOf(row, "id", i) : String(row.prefix ?? `#${i + 1}`).trim();
    const prefix = readStr(row, "prefix_route", id, "prefix").trim();
    const route = readStr(row, "prefix_route", id, "route", { nonEmpty: true, maxLength: 64 });
    const comment = readStr(row, "prefix_route", id, "comment");
    if (prefix.length > PREFIX_ROUTE_MAX_PREFIX) throw new TableError("prefix_route", id, `prefix '${prefix}': prefix longer than ${PREFIX_ROUTE_MAX_PREFIX} characters (digits only)`);
    if (!DIGITS.test(prefix)) {
      const at = prefix.search(/[^0-9]/);
      throw new TableError("prefix_route", id, `prefix '${prefix}': invalid character '${prefix[at]}' at position ${at} (digits only)`);
    }
    if (known !== null && !known.has(route)) throw new TableError("prefix_route", id, `route '${route}' does not exist in the routing script`);
    if (exists(prefix)) throw new TableError("prefix_route", id, `prefix '${prefix}' already set to a route by row ${otherRow(set, prefix, row)}`);
    const tk = comment === "" ? route : `${route}\u0000${comment}`;
    let target = targets.get(tk);
    if (target === undefined) targets.set(tk, (target = { route, comment }));
    overlay.set(prefix, target);
    count++;
  }
  const lengths = [...new Set([...overlay.keys()].map((k) => k.length))].sort((a, b) => b - a);
  return { tree: prev.tree, rows: prev.rows - change.removed.length + change.added.length, count, overlay, overlayLengths: lengths };
}

/** The id (or #position) of the other row of the new set with this prefix (error path only). */
function otherRow(set: TableSet, prefix: string, self: TableRow): string {
  const rows = tableArray(set, "prefix_route");
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as TableRow;
    if (r === self) continue;
    if (String(r.prefix ?? "").trim() === prefix) return String(rowIdOf(r, "id", i));
  }
  return "?";
}
