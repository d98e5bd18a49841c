/**
 * Table kinds the node compiles once, in the primary thread, into shared memory (`workers: N`,
 * control-plane mode; core/workers/README.md "Tables compiled once, shared"). For each: the full
 * compile (in time slices), the delta compile over the live structure, what is posted to the
 * workers (`share`: SharedArrayBuffers travel by reference) and how a worker puts it back together
 * (`attach`). prefix_route (a tree of a few distinct values, with deltas and the fold) and drouting
 * (trees plus rule records encoded in typed arrays; each version a full compile in the primary);
 * the other kinds stay compiled by each worker (README: why).
 */
import type { TableDeltaChange, TableSet } from "../core/tables/registry.js";
import { applyPrefixRouteChanges } from "../../tables/prefix-route/delta.js";
import type { CompiledPrefixRoutes } from "../../tables/prefix-route/table.js";
import { attachPrefixRoutes, compileSharedPrefixRoutes, prefixRouteSharedBytes, sharePrefixRoutes, type SharedPrefixRoutes } from "../../tables/prefix-route/shared.js";
import { prefixRouteOptionsFromConfig } from "../modules/prefix-route/prefix-route.js";
import type { CompiledDrouting } from "../../tables/drouting/table.js";
import { applySharedDroutingChanges, attachDrouting, compileSharedDrouting, droutingHasOverlay, droutingSharedBytes, shareDrouting, type SharedDrouting } from "../../tables/drouting/shared.js";

export interface SharedKind<C = unknown, D = unknown> {
  /** Full compile (sliced); throws a TableError naming the bad row. */
  compile(set: TableSet): Promise<C>;
  /** The new version from the live one and the changed rows, or null: compile the whole set. */
  delta(live: C, change: TableDeltaChange): C | null;
  /** Whether `c` carries a delta overlay (folded later by one full compile). */
  hasOverlay(c: C): boolean;
  share(c: C): D;
  attach(d: D): C;
  /** Shared-memory bytes of `c`. */
  bytes(c: C): number;
  rows(c: C): number;
}

function prefixRoute(modules: Record<string, Record<string, unknown>>): SharedKind<CompiledPrefixRoutes, SharedPrefixRoutes> {
  const opts = prefixRouteOptionsFromConfig(modules["prefix_route"] ?? {}).compile;
  return {
    compile: (set) => compileSharedPrefixRoutes(set, opts),
    delta: (live, change) => {
      const rows = change.tables.get("prefix_route");
      return rows ? applyPrefixRouteChanges(live, rows, change.set, opts) : null;
    },
    hasOverlay: (c) => !!c.overlay,
    share: sharePrefixRoutes,
    attach: attachPrefixRoutes,
    bytes: prefixRouteSharedBytes,
    rows: (c) => c.rows,
  };
}

/**
 * drouting: a full version is compiled here and encoded into shared buffers; a dr_rules delta is
 * compiled here over them (tables/drouting/delta.ts, the changed groups' prefixes in an overlay of
 * rule objects, posted as entries) and folded into new buffers when deltas pause.
 */
function drouting(): SharedKind<CompiledDrouting, SharedDrouting> {
  return {
    compile: compileSharedDrouting,
    delta: (live, change) => applySharedDroutingChanges(live, change.tables, change.set),
    hasOverlay: droutingHasOverlay,
    share: shareDrouting,
    attach: attachDrouting,
    bytes: droutingSharedBytes,
    rows: (c) => c.sharedRows ?? 0,
  };
}

/** The shared kinds of a node (the primary compiles them); `OLELO_SHARED_TABLES=0` turns sharing off (each worker compiles, as before). */
export function sharedKinds(modules: Record<string, Record<string, unknown>>): Map<string, SharedKind> {
  const m = new Map<string, SharedKind>();
  if (process.env.OLELO_SHARED_TABLES === "0") return m;
  if (modules["prefix_route"]) m.set("prefix_route", prefixRoute(modules) as SharedKind);
  if (modules["drouting"]) m.set("drouting", drouting() as SharedKind);
  return m;
}

/** What a worker can attach, by kind (no options needed: the primary compiled it). */
export const ATTACH: Readonly<Record<string, (d: unknown) => unknown>> = {
  prefix_route: (d) => attachPrefixRoutes(d as SharedPrefixRoutes),
  drouting: (d) => attachDrouting(d as SharedDrouting),
};

/** Shared-memory bytes of what a worker attached (0: not on shared memory). */
export function attachedBytes(kind: string, compiled: unknown): number {
  if (kind === "prefix_route") return prefixRouteSharedBytes(compiled as CompiledPrefixRoutes);
  if (kind === "drouting") return droutingSharedBytes(compiled as CompiledDrouting);
  return 0;
}
