import { defineScript, type FailureContext, type RequestContext } from "../../core/api.js";
import type { DispatcherApi } from "./api.js";

/**
 * The DISPATCH route of Kamailio's default dispatcher configuration, written for Olelo: round
 * robin over set 1, failover to the next destination on a timeout or a 5xx, and
 * "404 No destination" when the set is empty or every destination is down. The README shows
 * this file; example-script.test.ts runs it, so the documented example cannot drift.
 *
 * @example
 *   // olelo.yaml: script: data-plane/modules/dispatcher/example-script.ts
 */
export default defineScript(({ modules, settings }) => {
  const ds = modules.dispatcher as DispatcherApi;
  const set = typeof settings.dispatchSet === "number" ? settings.dispatchSet : 1;
  const alg = typeof settings.dispatchAlg === "number" ? settings.dispatchAlg : 4;

  /** route[DISPATCH] */
  function dispatch(req: RequestContext): void {
    if (!ds.selectDst(req, set, alg)) {
      req.reply(404, "No destination");
      return;
    }
    req.onFailure("RTF_DISPATCH");
    if (!req.relay()) req.replyError();
  }

  return {
    request(req) {
      if (!req.processMaxForwards(10)) {
        req.reply(483, "Too Many Hops");
        return;
      }
      if (req.hasToTag) {
        // in-dialog: follow the Record-Route set; a BYE ends an alg 10 call
        if (req.looseRoute()) {
          if (req.method === "BYE") ds.loadUpdate(req);
          req.relay();
        } else if (req.method !== "ACK") {
          req.reply(404, "Not here");
        }
        return;
      }
      if (req.method === "CANCEL") {
        if (req.checkTransaction()) {
          ds.loadUpdate(req);
          req.relay();
        }
        return;
      }
      if (req.method === "INVITE") req.recordRoute();
      dispatch(req);
    },

    failure: {
      /** failure_route[RTF_DISPATCH]: next destination on timeout or 5xx. */
      RTF_DISPATCH(f: FailureContext) {
        if (f.isCanceled()) return;
        if (f.branchTimeout() || f.checkStatus(/^5\d\d$/)) {
          ds.markDst(f, "tp"); // trying + probing: keepalives decide when it is back
          if (ds.nextDst(f)) {
            f.onFailure("RTF_DISPATCH");
            f.relay();
            return;
          }
          f.reply(404, "No destination");
        }
      },
    },
  };
});
