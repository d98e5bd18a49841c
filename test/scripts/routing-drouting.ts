/**
 * Routing script for test/routing-drouting.test.ts: Kamailio's drouting example. Initial
 * requests: do_routing() for the caller's group (dr_groups) — or the `group` setting — then relay;
 * the failure route takes the next gateway of the rule's list after a 5xx or a silent timeout.
 * No rule: 404 "No route".
 */
import { defineScript, type FailureContext } from "../../data-plane/core/api.js";
import type { DroutingApi } from "../../data-plane/modules/drouting/index.js";
import { proxyBasics, relay, shouldFailOver } from "./routing-proxy.js";

export default defineScript(({ modules, settings }) => {
  const dr = modules.drouting as DroutingApi;
  const group = typeof settings.group === "number" ? settings.group : undefined;
  return {
    request(req) {
      if (proxyBasics(req)) return;
      if (!dr.doRouting(req, group)) {
        req.reply(404, "No route");
        return;
      }
      req.onFailure("DR_NEXT");
      relay(req);
    },
    failure: {
      DR_NEXT(f: FailureContext) {
        if (shouldFailOver(f) && dr.nextRouting(f)) {
          f.onFailure("DR_NEXT");
          f.relay();
        }
      },
    },
  };
});
