/**
 * The Hello's `compile_options`: per kind whose sink declares them (lcr, carrierroute, mtree,
 * htable) the compile options it applies, as canonical JSON, so the control plane validates every
 * version with this node's options too (tables/kind-options.ts, tables/README.md "Params").
 *
 * @example
 *   compileOptionsOf(registry, ["lcr", "dispatcher"]) // { lcr: '{"lcrCount":1}' }
 */
import { kindOptionsKey } from "../../tables/kind-options.js";
import type { SyncTables } from "../core/tables/registry.js";

/** kind → canonical JSON of the options its sink applies (kinds without options are left out). */
export function compileOptionsOf(tables: Pick<SyncTables, "sink">, kinds: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of kinds) {
    const o = tables.sink(k)?.options;
    if (o !== undefined) out[k] = kindOptionsKey(o);
  }
  return out;
}
