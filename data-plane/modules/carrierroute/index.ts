import { defineModule } from "../../core/api.js";
import { createCarrierroute, type CarrierrouteApi } from "./carrierroute.js";

/**
 * Olelo's carrierroute: Kamailio's carrier → routing domain → prefix trees with load shares
 * by CRC32 hash, flag masks, URI rewriting, failure routing to next domains and per-user
 * carriers. See README.md in this folder.
 *
 * @example
 *   // olelo.yaml: modules: { carrierroute: { default_tree: "default", match_mode: 10 } }
 *   const cr = modules.carrierroute as CarrierrouteApi;
 *   if (cr.route(req, "default", "proxy", req.ruriUser ?? "", req.ruriUser ?? "", "call_id")) req.relay();
 */
export default defineModule<CarrierrouteApi>({
  name: "carrierroute",
  doc: "Carrier and routing-domain prefix trees with load shares and failure routing (Kamailio carrierroute)",
  // cr_user_carrier reads the subscriber's cr_preferred_carrier from auth when it offers it
  optional: ["auth"],
  rpc: ["cr.activate_host", "cr.add_host", "cr.deactivate_host", "cr.delete_host", "cr.dump_routes", "cr.reload_routes", "cr.replace_host"],
  stats: { group: "carrierroute", counters: ["routed", "route_failed", "next_domain", "next_domain_failed", "rules"] },
  tables: ["carrierroute"],
  init(host) {
    return createCarrierroute(host).api;
  },
});

export type { CarrierrouteApi, CarrierrouteConfig, CarrierrouteDeps, CarrierrouteModule, HashSource, UserCarrierLookup } from "./carrierroute.js";
export { CR_VARS, createCarrierroute, carrierrouteConfigFromHost } from "./carrierroute.js";
export { compileCarrierrouteTables, sortFailureRules, DICE_MAX, type CompiledCarrierroute, type CrRule, type CrFailureRule, type CrRouteFlags } from "../../../tables/carrierroute/table.js";
export { crc32 } from "./crc32.js";
export { crRpcMethods, parseCrOptions } from "./rpc.js";
