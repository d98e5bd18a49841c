import { defineModule } from "../../core/api.js";
import { createPrefixRoute, type PrefixRouteApi } from "./prefix-route.js";

/**
 * Olelo's prefix_route: the longest prefix of the dialled number picks a routing-script route
 * (Kamailio prefix_route). See README.md in this folder.
 *
 * @example
 *   // olelo.yaml: modules: { prefix_route: { exit: 1, routes: ["GERMANY", "USA"] } }
 *   const name = (modules.prefix_route as PrefixRouteApi).match(req);
 */
export default defineModule<PrefixRouteApi>({
  name: "prefix_route",
  doc: "Longest-prefix match of the R-URI user to a script route name (Kamailio prefix_route)",
  rpc: ["prefix_route.dump", "prefix_route.reload"],
  stats: { group: "prefix_route", counters: ["matched", "not_matched", "prefixes", "overlay_prefixes"] },
  tables: ["prefix_route"],
  init(host) {
    return createPrefixRoute(host).api;
  },
});

export type { PrefixRouteApi } from "./prefix-route.js";
export { createPrefixRoute, prefixRouteOptionsFromConfig, prefixRouteRpcMethods } from "./prefix-route.js";
export { compilePrefixRouteSteps, compilePrefixRouteTables, lookupPrefixRoute, lookupPrefixRouteName, dumpPrefixRouteLines, type CompiledPrefixRoutes, type PrefixRouteEntry, type PrefixRouteTarget } from "../../../tables/prefix-route/table.js";
