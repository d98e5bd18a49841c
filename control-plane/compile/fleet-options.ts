/**
 * The compile options of the connected data planes, per kind (their Hello's `compile_options`:
 * lcr lcr_count, carrierroute match_mode, mtree tree types / char_list / duplicates, htable dbtable
 * names). The kinds of compile/kinds.ts compile every version once per distinct option set found
 * here, with the very call the nodes' sinks make, so the control plane refuses a row that any
 * connected node would NACK, with the node's reason (tables/README.md, "Params"). A kind that no
 * connected node reports options for compiles with the module defaults.
 *
 * @example
 *   const errors = FLEET_OPTIONS.set("dp-1", { lcr: '{"lcrCount":1}' }); // [] when every entry reads
 *   FLEET_OPTIONS.sets("lcr"); // [{ key: '{"lcrCount":1}', options: { lcrCount: 1 }, nodes: ["dp-1"] }]
 */
import { kindOptionsKey, readKindOptions } from "../../tables/kind-options.js";

/** One distinct option set of a kind and the nodes that run it. */
export interface KindOptionSet {
  /** Canonical JSON (kindOptionsKey). */
  readonly key: string;
  readonly options: unknown;
  readonly nodes: readonly string[];
}

/** Per node, per kind: the options it reported. */
export class FleetOptions {
  private readonly byNode = new Map<string, Map<string, { key: string; options: unknown }>>();

  /**
   * Records a node's options (replacing what it reported before). Returns one line per entry that
   * does not read (`lcr: lcrCount must be ...`); nothing is recorded then.
   */
  set(node: string, compileOptions: Readonly<Record<string, string>>): string[] {
    const kinds = new Map<string, { key: string; options: unknown }>();
    const errors: string[] = [];
    for (const [kind, json] of Object.entries(compileOptions)) {
      try {
        const options = readKindOptions(kind, json);
        kinds.set(kind, { key: kindOptionsKey(options), options });
      } catch (e) {
        errors.push(`${kind}: ${(e as Error).message}`);
      }
    }
    if (errors.length === 0) this.byNode.set(node, kinds);
    return errors;
  }

  /** Forgets a node (its stream ended). */
  drop(node: string): void {
    this.byNode.delete(node);
  }

  /** The distinct option sets of `kind` over the recorded nodes, in key order. */
  sets(kind: string): KindOptionSet[] {
    const out = new Map<string, { key: string; options: unknown; nodes: string[] }>();
    for (const [node, kinds] of this.byNode) {
      const o = kinds.get(kind);
      if (!o) continue;
      const s = out.get(o.key) ?? { key: o.key, options: o.options, nodes: [] };
      s.nodes.push(node);
      out.set(o.key, s);
    }
    return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

/** The control plane's one record of its fleet's compile options (fed by push/server.ts on Hello). */
export const FLEET_OPTIONS = new FleetOptions();
