/**
 * Dispatcher benchmark routing script: ../shared/sipbench/kamailio.cfg's request_route with its
 * dispatcher step — `ds_select_dst("1", "4")` (set 1, round robin), 503 "No destination" when
 * nothing is selectable, then t_relay — so Olelo and Kamailio run the same logic under the same
 * harness. With `settings.nextHop` (and no dispatcher module) it is the plain relay of
 * bench/bench-script.ts, for a comparison inside one sitting.
 */
import { defineScript } from "../../data-plane/core/script/context.js";
import type { DispatcherApi } from "../../data-plane/modules/dispatcher/api.js";

export default defineScript(({ settings, modules }) => {
  const ds = modules.dispatcher as DispatcherApi | undefined;
  const nextHop = typeof settings.nextHop === "string" ? settings.nextHop : null;
  const set = typeof settings.dispatcherSet === "number" ? settings.dispatcherSet : 1;
  const alg = typeof settings.dispatcherAlg === "number" ? settings.dispatcherAlg : 4;
  if (!ds && !nextHop) throw new Error("bench-ds-script: load the dispatcher module or set settings.nextHop");
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
        if (req.looseRoute()) {
          if (!req.relay()) req.replyError();
          return;
        }
        if (req.method === "ACK") {
          if (req.checkTransaction()) req.relay();
          return;
        }
        req.reply(404, "Not here");
        return;
      }
      if (req.method === "OPTIONS" && req.ruriUser === null && req.isMyself()) {
        req.reply(200, "OK");
        return;
      }
      if (req.ruriUser === null) {
        req.reply(484, "Address Incomplete");
        return;
      }
      req.removeHeader("Route");
      if (req.method === "INVITE") req.recordRoute();
      if (ds) {
        if (!ds.selectDst(req, set, alg)) {
          req.reply(503, "No destination");
          return;
        }
      } else {
        req.setDst(nextHop!);
      }
      if (!req.relay()) req.replyError();
    },
  };
});
