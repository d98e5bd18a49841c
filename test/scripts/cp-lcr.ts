/**
 * Routing script for test/control-plane-lcr.test.ts: Kamailio's usual LCR route with the lcr
 * tables pushed by the control plane. Initial INVITEs: `load_gws(lcrId, $rU, $fu)`, then
 * `next_gw()` and relay; a 5xx or a timeout moves on to the next gateway (failure route); no
 * gateway (or no lcr instance yet) answers 503 "No gateway".
 *
 * Settings: `lcrId` (default 1).
 */
import { defineScript, type FailureContext, type RequestContext } from "../../data-plane/core/script/context.js";
import type { LcrApi } from "../../data-plane/modules/lcr/index.js";

export default defineScript(({ modules, settings }) => {
  const lcr = modules.lcr as LcrApi;
  const lcrId = typeof settings.lcrId === "number" ? settings.lcrId : 1;

  function relay(req: RequestContext): void {
    if (!req.relay()) req.replyError();
  }

  return {
    request(req) {
      if (!req.processMaxForwards(10)) {
        req.reply(483, "Too Many Hops");
        return;
      }
      if (req.method === "CANCEL") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      if (req.hasToTag) {
        if (req.looseRoute()) relay(req);
        else if (req.method === "ACK") {
          if (req.checkTransaction()) req.relay();
        } else req.reply(404, "Not here");
        return;
      }
      if (req.method === "ACK") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      req.removeHeader("Route");
      if (req.method === "INVITE") req.recordRoute();
      /** route[LCR] */
      if (lcr.loadGws(req, lcrId, req.ruriUser ?? "", req.msg.from.uriText) !== 1 || !lcr.nextGw(req)) {
        req.reply(503, "No gateway");
        return;
      }
      req.onFailure("LCR_NEXT");
      relay(req);
    },
    failure: {
      /** failure_route[LCR_NEXT]: the next gateway after a 5xx or a timeout without reply. */
      LCR_NEXT(f: FailureContext) {
        if (f.isCanceled()) return;
        if (!(f.checkStatus(/^5\d\d$/) || (f.branchTimeout() && !f.branchReplied()))) return;
        if (lcr.nextGw(f)) {
          f.onFailure("LCR_NEXT");
          f.relay();
        }
      },
    },
  };
});
