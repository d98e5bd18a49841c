import { defineModule } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import { createLcr, type LcrApi } from "./lcr.js";

/** Running instances by their API (several data planes may share a process, e.g. in tests). */
const running = new LiveInstances<LcrApi>();

/**
 * Olelo's lcr: Kamailio's least cost routing (lcr_gw, lcr_rule, lcr_rule_target; several
 * instances; prefix, from_uri, request_uri and mt_tvalue matching; priorities, weights,
 * stopper rules, defunct gateways; from_gw/to_gw). See README.md in this folder.
 *
 * @example
 *   // olelo.yaml: modules: { lcr: { lcr_count: 2, weight_algorithm: "proportional" } }
 *   const lcr = modules.lcr as LcrApi;
 *   if (lcr.loadGws(req, 1) === 1 && lcr.nextGw(req)) { req.onFailure("LCR"); req.relay(); }
 */
export default defineModule<LcrApi>({
  name: "lcr",
  doc: "Least cost routing over gateways by prefix, caller and priority/weight (Kamailio lcr)",
  // mt_tvalue rules match against the mtree module's trees when it is configured
  optional: ["mtree"],
  rpc: ["lcr.defunct_gw", "lcr.dump_gws", "lcr.dump_rules", "lcr.load_gws", "lcr.reload"],
  stats: { group: "lcr", counters: ["load_gws_found", "load_gws_none", "load_gws_error", "next_gw", "next_gw_none", "ping_sent", "ping_failed", "gateways", "rules", "gateways_inactive"] },
  tables: ["lcr"],
  init(host) {
    const mod = createLcr(host);
    return running.add(mod.api, () => mod.destroy());
  },
  destroy(api) {
    return running.destroy(api);
  },
});

export type { LcrApi, LcrConfig, LcrDeps, LcrModule } from "./lcr.js";
export { LCR_VARS, createLcr, lcrConfigFromHost } from "./lcr.js";
export { compileLcrTables, type CompiledLcr, type LcrGw, type LcrInstance, type LcrRule, type LcrTarget } from "../../../tables/lcr/table.js";
export { loadGws, type MatchedGw, type LcrMtreeLookup, type LoadGwsResult } from "../../../tables/lcr/load-gws.js";
export { firstChoiceProbabilities, type LcrWeighting } from "../../../tables/lcr/weights.js";
export { pcreToRegExp, PcreError } from "../../../tables/lcr/pcre.js";
