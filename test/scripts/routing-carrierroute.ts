/**
 * Routing script for test/routing-carrierroute.test.ts: Kamailio's carrierroute example. Initial
 * requests: cr_route("default", "proxy", $rU, $rU, "call_id"); the failure route asks
 * cr_next_domain for the routing domain to retry in (by prefix, failed host and reply code —
 * 408 for a silent gateway) and routes again there. No route: 404 "No route".
 */
import { defineScript, type FailureContext } from "../../data-plane/core/api.js";
import { CR_VARS, type CarrierrouteApi } from "../../data-plane/modules/carrierroute/index.js";
import { proxyBasics, relay } from "./routing-proxy.js";

const USER = "rt:user";
const DOMAIN = "rt:domain";

export default defineScript(({ modules }) => {
  const cr = modules.carrierroute as CarrierrouteApi;
  return {
    request(req) {
      if (proxyBasics(req)) return;
      const user = req.ruriUser ?? "";
      if (!cr.route(req, "default", "proxy", user, user, "call_id")) {
        req.reply(404, "No route");
        return;
      }
      req.vars.set(USER, user);
      req.vars.set(DOMAIN, "proxy");
      req.onFailure("CR_NEXT");
      relay(req);
    },
    failure: {
      CR_NEXT(f: FailureContext) {
        if (f.isCanceled()) return;
        const user = String(f.vars.get(USER));
        const host = String(f.vars.get(CR_VARS.host));
        const next = cr.nextDomain(f, "default", f.vars.get(DOMAIN) as string | number, user, host, String(f.replyCode));
        if (next === null || !cr.route(f, "default", next, user, user, "call_id")) return;
        f.vars.set(DOMAIN, next);
        f.onFailure("CR_NEXT");
        f.relay();
      },
    },
  };
});
