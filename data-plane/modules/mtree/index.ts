import { defineModule } from "../../core/api.js";
import { createMtree, type MtreeApi } from "./mtree.js";

/**
 * Olelo's mtree: Kamailio's memory prefix trees (tables `mtree` and `mtrees`), matched with
 * mt_match modes 0 and 2 and the dstid:weight tree type. See README.md in this folder.
 *
 * @example
 *   // olelo.yaml: modules: { mtree: { trees: { routes: { type: 0 } }, char_list: "0123456789+" } }
 *   const m = (modules.mtree as MtreeApi).match(req, "routes", req.ruriUser ?? "", 0);
 */
export default defineModule<MtreeApi>({
  name: "mtree",
  doc: "Prefix trees of string, integer or dstid:weight values (Kamailio mtree)",
  rpc: ["mtree.list", "mtree.match", "mtree.reload", "mtree.summary"],
  stats: { group: "mtree", counters: ["matches", "misses", "trees", "items"] },
  tables: ["mtree"],
  init(host) {
    return createMtree(host).api;
  },
});

export type { MtreeApi } from "./mtree.js";
export { MTREE_VARS, createMtree, mtreeOptionsFromConfig, mtreeRpcMethods } from "./mtree.js";
export { compileMtreeTables, type CompiledMtrees, type CompiledTree, type MtreeCompileOptions, type MtreeType } from "../../../tables/mtree/table.js";
export { matchTree, matchAllValues, type MtreeMatch } from "../../../tables/mtree/match.js";
