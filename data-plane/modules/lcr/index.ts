import { defineModule } from "../../core/api.js";
import { createLcr, type LcrApi, type LcrModule } from "./lcr.js";

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
/**
 * Instances with a prober to stop. `destroy` gets no host, so it stops every instance of this
 * process (one data plane per process in production; tests start them one after another).
 */
const running = new Set<LcrModule>();

export default defineModule<LcrApi>({
  name: "lcr",
  doc: "Least cost routing over gateways by prefix, caller and priority/weight (Kamailio lcr)",
  // mt_tvalue rules match against the mtree module's trees when it is configured
  optional: ["mtree"],
  init(host) {
    const mod = createLcr(host);
    running.add(mod);
    return mod.api;
  },
  destroy() {
    for (const m of running) m.destroy();
    running.clear();
  },
});

export type { LcrApi, LcrConfig, LcrDeps, LcrModule } from "./lcr.js";
export { LCR_VARS, createLcr, lcrConfigFromHost } from "./lcr.js";
export { compileLcrTables, type CompiledLcr, type LcrGw, type LcrInstance, type LcrRule, type LcrTarget } from "./table.js";
export { loadGws, type MatchedGw, type LcrMtreeLookup, type LoadGwsResult } from "./load-gws.js";
export { firstChoiceProbabilities, type LcrWeighting } from "./weights.js";
export { pcreToRegExp, PcreError } from "./pcre.js";
