/**
 * Routing script for the dispatcher's end-to-end tests (test/dispatcher-*.test.ts): Kamailio's
 * dispatcher.cfg DISPATCH route, with the set and algorithm picked per call from the R-URI user so
 * that one proxy can exercise several algorithms. The user's part before the first `-` names a
 * route in `settings.routes` (`{ rr: [1, 4], w: [2, 9] }` → `sip:rr-7@proxy` uses set 1, alg 4).
 * Alg 10 calls are accounted: BYE/CANCEL end them (loadUpdate), a 2xx confirms them, a call that
 * finally fails drops its load (loadUnset).
 */
import { defineScript, type FailureContext, type RequestContext, type ReplyContext } from "../../data-plane/core/script/context.js";
import type { DispatcherApi } from "../../data-plane/modules/dispatcher/api.js";

export default defineScript(({ modules, settings }) => {
  const ds = modules.dispatcher as DispatcherApi;
  const routes = new Map<string, [number, number]>();
  for (const [k, v] of Object.entries((settings.routes ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(v) && v.length === 2) routes.set(k, [Number(v[0]), Number(v[1])]);
  }

  function relay(req: RequestContext): void {
    if (!req.relay()) req.replyError();
  }

  /** route[DISPATCH] */
  function dispatch(req: RequestContext): void {
    const user = req.ruriUser ?? "";
    const dash = user.indexOf("-");
    const route = routes.get(dash < 0 ? user : user.slice(0, dash));
    if (!route) {
      req.reply(404, "No such route");
      return;
    }
    if (!ds.selectDst(req, route[0], route[1])) {
      req.reply(404, "No destination");
      return;
    }
    req.onFailure("DS_FAIL");
    relay(req);
  }

  return {
    request(req) {
      if (!req.processMaxForwards(10)) {
        req.reply(483, "Too Many Hops");
        return;
      }
      if (req.method === "CANCEL") {
        if (req.checkTransaction()) {
          ds.loadUpdate(req);
          req.relay();
        }
        return;
      }
      if (req.hasToTag) {
        if (req.looseRoute()) {
          if (req.method === "BYE") ds.loadUpdate(req);
          relay(req);
        } else if (req.method === "ACK") {
          if (req.checkTransaction()) req.relay();
        } else {
          req.reply(404, "Not here");
        }
        return;
      }
      if (req.method === "ACK") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      req.removeHeader("Route");
      if (req.method === "INVITE") req.recordRoute();
      dispatch(req);
    },
    reply: {
      default(r: ReplyContext) {
        if (r.status >= 200 && r.status < 300 && r.msg.cseq.method === "INVITE") ds.loadUpdate(r);
      },
    },
    failure: {
      /** failure_route[RTF_DISPATCH]: next destination on a 5xx or a timeout without reply. */
      DS_FAIL(f: FailureContext) {
        if (f.isCanceled()) {
          ds.loadUnset(f);
          return;
        }
        if (f.checkStatus(/^5\d\d$/) || (f.branchTimeout() && !f.branchReplied())) {
          ds.markDst(f, "ip");
          if (ds.nextDst(f)) {
            f.onFailure("DS_FAIL");
            relay(f);
            return;
          }
        }
        ds.loadUnset(f);
      },
    },
  };
});
