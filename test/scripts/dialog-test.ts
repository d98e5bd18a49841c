/**
 * Routing script for the dialog/acc tests: every initial INVITE goes to `settings.target`,
 * managed by the dialog module, with an optional per-gateway call limit (profile "trunk"),
 * an optional dialog timeout, and Kamailio default-cfg acc flags (FLT_ACC 1, FLT_ACCMISSED 2,
 * FLT_ACCFAILED 3) when the acc module is loaded.
 *
 * Settings: target (sip URI), callLimit (number), timeoutS (number), timeoutBye (boolean),
 *           failover (sip URI tried once after a negative reply).
 */
import { defineScript, type RequestContext } from "../../data-plane/core/script/context.js";
import type { DialogApi } from "../../data-plane/modules/dialog/index.js";
import type { AccApi } from "../../data-plane/modules/acc/index.js";

const FLT_ACC = 1;
const FLT_ACCMISSED = 2;
const FLT_ACCFAILED = 3;

export default defineScript(({ modules, settings }) => {
  const dialog = modules.dialog as DialogApi;
  const acc = modules.acc as AccApi | undefined;
  const target = String(settings.target);
  const callLimit = typeof settings.callLimit === "number" ? settings.callLimit : null;
  const timeoutS = typeof settings.timeoutS === "number" ? settings.timeoutS : null;
  const timeoutBye = settings.timeoutBye === true;
  const failover = typeof settings.failover === "string" ? settings.failover : null;

  function relay(req: RequestContext): void {
    if (!req.relay()) req.reply(500, "Relay failed");
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
        dialog.manage(req);
        if (req.method === "BYE" && acc) {
          req.setFlag(FLT_ACC);
          req.setFlag(FLT_ACCFAILED);
          acc.track(req);
        }
        if (req.looseRoute()) {
          if (req.method === "ACK") req.relay();
          else relay(req);
          return;
        }
        if (req.method === "ACK") {
          if (req.checkTransaction()) req.relay();
          return;
        }
        req.reply(404, "Not here");
        return;
      }
      if (req.method === "ACK") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      req.removeHeader("Route");
      if (req.method !== "INVITE") {
        req.reply(405, "Method Not Allowed");
        return;
      }
      req.recordRoute();
      req.setDst(target);
      dialog.manage(req);
      if (timeoutS !== null) dialog.setTimeout(req, timeoutS, { bye: timeoutBye });
      dialog.setVar(req, "account", req.msg.from.uri?.user ?? "");
      if (callLimit !== null) {
        dialog.setProfile(req, "trunk", target);
        if (dialog.profileSize("trunk", target) > callLimit) {
          req.reply(503, "Too many calls");
          return;
        }
      }
      if (acc) {
        req.setFlag(FLT_ACC);
        req.setFlag(FLT_ACCMISSED);
        acc.track(req);
      }
      if (failover) req.onFailure("FAILOVER");
      relay(req);
    },
    failure: {
      FAILOVER(f) {
        if (f.isCanceled() || !failover) return;
        f.setDst(failover);
        f.relay();
      },
    },
  };
});
