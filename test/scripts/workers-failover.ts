/**
 * Routing script for test/workers-load.e2e.test.ts: the failure routes of Kamailio's samples,
 * which try the next destination on a 5xx or on a timeout without any reply and do NOT mark the
 * failed one (so every call to a bad destination takes the failure route, and only the
 * dispatcher's probing changes its state).
 * - R-URI user `ds…`: dispatcher set 1, alg 8 (serial: the first destination, then ds_next_dst).
 * - R-URI user `rr…`: dispatcher set 2, alg 4 (round robin, then ds_next_dst).
 * - anything else: lcr instance 1 (load_gws + next_gw).
 */
import { defineScript, type FailureContext, type RequestContext } from "../../data-plane/core/script/context.js";
import type { DispatcherApi } from "../../data-plane/modules/dispatcher/api.js";
import type { LcrApi } from "../../data-plane/modules/lcr/index.js";

export default defineScript(({ modules }) => {
  const ds = modules.dispatcher as DispatcherApi;
  const lcr = modules.lcr as LcrApi;

  function relay(req: RequestContext): void {
    if (!req.relay()) req.replyError();
  }
  /** Kamailio's condition for the next destination: a 5xx or a branch that timed out without any reply. */
  const failedOver = (f: FailureContext): boolean => !f.isCanceled() && (f.checkStatus(/^5\d\d$/) || (f.branchTimeout() && !f.branchReplied()));

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
      const user = req.ruriUser ?? "";
      if (user.startsWith("ds") || user.startsWith("rr")) {
        const [set, alg] = user.startsWith("ds") ? [1, 8] : [2, 4];
        if (!ds.selectDst(req, set, alg)) {
          req.reply(404, "No destination");
          return;
        }
        req.onFailure("DS_NEXT");
        relay(req);
        return;
      }
      if (lcr.loadGws(req, 1, user, req.msg.from.uriText) !== 1 || !lcr.nextGw(req)) {
        req.reply(503, "No gateway");
        return;
      }
      req.onFailure("LCR_NEXT");
      relay(req);
    },
    failure: {
      /** failure_route[RTF_DISPATCH] of dispatcher.cfg (ds_next_dst, no ds_mark_dst). */
      DS_NEXT(f: FailureContext) {
        if (failedOver(f) && ds.nextDst(f)) {
          f.onFailure("DS_NEXT");
          f.relay();
        }
      },
      /** The lcr README's failure route (next_gw). */
      LCR_NEXT(f: FailureContext) {
        if (failedOver(f) && lcr.nextGw(f)) {
          f.onFailure("LCR_NEXT");
          f.relay();
        }
      },
    },
  };
});
