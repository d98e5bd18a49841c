import { defineModule } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import { createDrouting, type DroutingApi } from "./drouting.js";

/** Running instances by their API (several data planes may share a process, e.g. in tests). */
const running = new LiveInstances<DroutingApi>();

/**
 * Olelo's drouting: Kamailio's dynamic routing (dr_gateways, dr_rules, dr_groups, dr_gw_lists):
 * caller groups, longest prefix per group, rule priorities, RFC 2445 time recurrences, serial
 * gateway lists with sort orders. See README.md in this folder.
 *
 * @example
 *   // olelo.yaml: modules: { drouting: { use_domain: 1, sort_order: 0, timezone: "Europe/Berlin" } }
 *   if ((modules.drouting as DroutingApi).doRouting(req, 1)) req.relay();
 */
export default defineModule<DroutingApi>({
  name: "drouting",
  doc: "Prefix, caller-group and time based routing to gateway lists (Kamailio drouting)",
  rpc: ["drouting.reload"],
  stats: { group: "drouting", counters: ["routed", "not_routed", "next_routing", "keepalive_sent", "rules", "gateways", "gateways_down"] },
  tables: ["drouting"],
  init(host) {
    const mod = createDrouting(host);
    return running.add(mod.api, () => mod.destroy());
  },
  destroy(api) {
    return running.destroy(api);
  },
});

export type { DroutingApi, DroutingConfig, DroutingDeps, DroutingModule, DoRoutingOptions } from "./drouting.js";
export { DR_VARS, createDrouting, droutingConfigFromHost, droutingRpcMethods } from "./drouting.js";
export { compileDroutingTables, resolveGwList, type CompiledDrouting, type DrGateway, type DrRule } from "../../../tables/drouting/table.js";
export { findRule, orderGateways, buildDrUri, type SortOrder } from "../../../tables/drouting/route.js";
export { parseTimeRec, matchTimeRec, TimeRecError, type TimeRec } from "../../../tables/drouting/timerec.js";
export { createCalendar, type Calendar } from "../../../tables/drouting/calendar.js";
export { DrKeepalive, type DrKeepaliveConfig, type DrGatewayState } from "./keepalive.js";
