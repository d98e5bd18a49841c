import { RpcCode, RpcError, type ModuleHost, type RpcMethod, type RequestContext } from "../../core/api.js";
import { createTableReloader } from "../../core/kit/reload-kind.js";
import { compileBySize, runReload } from "../../core/kit/index.js";
import { matchAllValues, matchTree, type MtreeMatch } from "../../../tables/mtree/match.js";
import { compileMtreeSteps, compileMtreeTables, type CompiledMtrees, type CompiledTree, type MtreeCompileOptions, type MtreeType } from "../../../tables/mtree/table.js";
import { tableNamesOf } from "../../../tables/kinds.js";

/** Keys under which mt_match leaves its results in `req.vars` (Kamailio's default PV names). */
export const MTREE_VARS = {
  value: "mtree:tvalue",
  values: "mtree:tvalues",
  dstid: "mtree:tdstid",
  weight: "mtree:tweight",
  count: "mtree:tcount",
} as const;

/**
 * The mtree script API (Kamailio mt_match) plus the lookup other modules use (lcr's mt_tvalue).
 *
 * @example
 *   const m = mtree.match(req, "routes", req.ruriUser ?? "", 0);
 *   if (m?.kind === "value") req.setDst(String(m.value));
 */
export interface MtreeApi {
  /**
   * mt_match(tree, value, mode): null is Kamailio's -1 (no tree or no matching prefix).
   * Also stores the result in req.vars (MTREE_VARS): tvalue (mode 0), tvalues (mode 2, longest
   * first), tdstid/tweight/tcount (type-1 trees).
   */
  match(req: RequestContext, tree: string, value: string, mode: number): MtreeMatch | null;
  /** The same match without a request (RPC, tests, other modules). */
  lookup(tree: string, value: string, mode: number): MtreeMatch | null;
  /** Values of every matching prefix, longest first (what lcr compares mt_tvalue against). */
  matchAll(tree: string, value: string): readonly string[] | null;
  /** Names of the loaded trees. */
  treeNames(): string[];
}

/** Reads the module config (Kamailio param names) into compile options; throws naming the key. */
export function mtreeOptionsFromConfig(config: Readonly<Record<string, unknown>>): MtreeCompileOptions {
  const type = (v: unknown, key: string): MtreeType => {
    const n = typeof v === "string" ? Number(v) : v;
    if (n === 0 || n === 1 || n === 2) return n;
    throw new Error(`mtree: ${key} must be 0, 1 or 2`);
  };
  const bool = (v: unknown, key: string): boolean => {
    if (v === undefined) return false;
    if (v === true || v === 1 || v === "1") return true;
    if (v === false || v === 0 || v === "0") return false;
    throw new Error(`mtree: ${key} must be 0 or 1`);
  };
  const treeTypes: Record<string, MtreeType> = {};
  const trees = config["trees"];
  if (trees !== undefined) {
    if (typeof trees !== "object" || trees === null) throw new Error("mtree: trees must be a map of tree name to { type }");
    for (const [name, def] of Object.entries(trees as Record<string, unknown>)) {
      const t = typeof def === "object" && def !== null ? (def as Record<string, unknown>)["type"] : def;
      treeTypes[name] = type(t ?? 0, `trees.${name}.type`);
    }
  }
  const charList = config["char_list"];
  if (charList !== undefined && (typeof charList !== "string" || charList === "")) throw new Error("mtree: char_list must be a non-empty string");
  const single = config["tree_name"];
  if (single !== undefined && (typeof single !== "string" || single === "")) throw new Error("mtree: tree_name must be a non-empty string");
  return {
    singleTreeName: (single as string | undefined) ?? "mtree",
    treeTypes,
    defaultType: config["mt_tree_type"] === undefined ? 0 : type(config["mt_tree_type"], "mt_tree_type"),
    charList: (charList as string | undefined) ?? "0123456789",
    allowDuplicates: bool(config["mt_allow_duplicates"], "mt_allow_duplicates"),
    ignoreDuplicates: bool(config["mt_ignore_duplicates"], "mt_ignore_duplicates"),
  };
}

export interface MtreeModule {
  readonly api: MtreeApi;
  /** The live compiled trees (one reference, swapped on apply). */
  current(): CompiledMtrees;
}

/** Wires the mtree module into a host: table sink, RPCs, stats; returns the API. */
export function createMtree(host: ModuleHost): MtreeModule {
  const opts = mtreeOptionsFromConfig(host.config);
  let live: CompiledMtrees = compileMtreeTables({}, opts);
  const reloads = new Map<string, { count: number; time: number }>();
  const stats = host.stats.group("mtree", ["matches", "misses"]);
  stats.gauge("trees", () => live.trees.size);
  stats.gauge("items", () => live.rows);

  host.tables.register({
    kind: "mtree",
    tables: tableNamesOf("mtree"),
    options: opts,
    // big tables (> 50k rows) compile in slices between SIP messages; small ones at once
    compile: (set) => compileBySize(set, () => compileMtreeSteps(set, opts)),
    apply: (compiled, _version) => {
      const c = compiled as CompiledMtrees;
      const now = Math.floor(Date.now() / 1000);
      for (const name of c.trees.keys()) {
        const r = reloads.get(name) ?? { count: 0, time: 0 };
        reloads.set(name, { count: r.count + 1, time: now });
      }
      live = c;
    },
  });

  const lookup = (tree: string, value: string, mode: number): MtreeMatch | null => {
    const t = live.trees.get(tree);
    const m = t === undefined ? null : matchTree(t, value, mode);
    stats.inc(m === null ? "misses" : "matches");
    return m;
  };

  const api: MtreeApi = {
    match(req, tree, value, mode) {
      const m = lookup(tree, value, mode);
      if (m === null) return null;
      if (m.kind === "value") req.vars.set(MTREE_VARS.value, m.value);
      else if (m.kind === "values") req.vars.set(MTREE_VARS.values, m.items.map((i) => i.value));
      else {
        req.vars.set(MTREE_VARS.dstid, m.dstid);
        req.vars.set(MTREE_VARS.weight, m.weight);
        req.vars.set(MTREE_VARS.count, m.count);
      }
      return m;
    },
    lookup,
    matchAll(tree, value) {
      const t = live.trees.get(tree);
      return t === undefined ? null : matchAllValues(t, value);
    },
    treeNames: () => [...live.trees.keys()],
  };

  host.rpc.registerAll(mtreeRpcMethods({ current: () => live, reloads, reload: createTableReloader(host, "mtree") }));
  return { api, current: () => live };
}

/** Trees whose name starts with `prefix` (Kamailio's RPCs compare names that way). */
function selectTrees(c: CompiledMtrees, prefix: string | undefined): CompiledTree[] {
  const out: CompiledTree[] = [];
  for (const t of c.trees.values()) if (prefix === undefined || prefix === "." || t.name.startsWith(prefix)) out.push(t);
  return out;
}

/** The mtree RPCs with Kamailio's names and output shapes. */
export function mtreeRpcMethods(deps: {
  current(): CompiledMtrees;
  reloads: ReadonlyMap<string, { count: number; time: number }>;
  reload(): Promise<unknown>;
}): RpcMethod[] {
  return [
    {
      name: "mtree.list",
      doc: "List the content of one or all trees",
      params: [{ name: "tname", type: "string", optional: true, doc: "tree name ('.' or absent: all)" }],
      returns: "[{ tname, tprefix, tvalue: [values] }, ...]",
      handler: ({ tname }) => {
        const c = deps.current();
        if (c.trees.size === 0) throw new RpcError(RpcCode.ServerError, "Empty tree list.");
        const out: Array<{ tname: string; tprefix: string; tvalue: Array<string | number> }> = [];
        for (const t of selectTrees(c, tname as string | undefined)) {
          for (const [prefix, item] of t.tree.entries()) {
            out.push({ tname: t.name, tprefix: prefix, tvalue: t.type === 2 ? [...item.ints] : [...item.values] });
          }
        }
        return out;
      },
    },
    {
      name: "mtree.summary",
      doc: "Print summary of loaded mtree tables",
      params: [{ name: "tname", type: "string", optional: true, doc: "tree name (prefix match)" }],
      returns: "[{ table, item: { ttype, memsize, nrnodes, nritems, reload_count, reload_time } }, ...]",
      handler: ({ tname }) => {
        const c = deps.current();
        if (c.trees.size === 0) throw new RpcError(RpcCode.ServerError, "Empty tree list");
        const sel = selectTrees(c, tname as string | undefined);
        if (sel.length === 0) throw new RpcError(RpcCode.NotFound, "Tree not found");
        return sel.map((t) => ({
          table: t.name,
          item: {
            ttype: t.type,
            memsize: t.memsize,
            nrnodes: t.tree.nodeCount,
            nritems: t.items,
            reload_count: deps.reloads.get(t.name)?.count ?? 0,
            reload_time: deps.reloads.get(t.name)?.time ?? 0,
          },
        }));
      },
    },
    {
      name: "mtree.reload",
      doc: "Reload mtrees from their source (all trees; the table kind is swapped as a whole)",
      params: [{ name: "tname", type: "string", optional: true, doc: "tree name, or empty/'.' for all" }],
      returns: "\"Ok. Mtree reloaded.\"",
      handler: async ({ tname }) => {
        const name = tname as string | undefined;
        if (name !== undefined && name !== "" && name !== "." && selectTrees(deps.current(), name).length === 0) {
          throw new RpcError(RpcCode.ServerError, "Can not find specified Mtree");
        }
        await runReload(() => deps.reload(), "Mtree Reload Failed: ");
        return "Ok. Mtree reloaded.";
      },
    },
    {
      name: "mtree.match",
      doc: "Match prefix value against mtree",
      params: [
        { name: "tname", type: "string", doc: "tree name" },
        { name: "prefix", type: "string", doc: "value to match" },
        { name: "mode", type: "int", doc: "matching mode (0 or 2)" },
      ],
      returns: "[tname, { PREFIX, TVALUE } ...] or [tname, { PREFIX, WEIGHT, DSTID } ...]",
      handler: ({ tname, prefix, mode }) => {
        const c = deps.current();
        if (c.trees.size === 0) throw new RpcError(RpcCode.ServerError, "Empty tree list.");
        if (mode !== 0 && mode !== 2) throw new RpcError(RpcCode.ServerError, "Invalid parameter 'mode'");
        const t = c.trees.get(tname as string);
        if (t === undefined) throw new RpcError(RpcCode.NotFound, "Tree not found");
        const m = matchTree(t, prefix as string, mode as number);
        if (m === null) throw new RpcError(RpcCode.NotFound, "Prefix not found");
        const out: unknown[] = [t.name];
        if (m.kind === "value") out.push({ PREFIX: m.prefix, TVALUE: m.value });
        else if (m.kind === "values") for (const i of m.items) out.push({ PREFIX: i.prefix, TVALUE: i.value });
        else m.dstid.forEach((d, i) => out.push({ PREFIX: m.prefix, WEIGHT: m.weight[i], DSTID: d }));
        return out;
      },
    },
  ];
}
