/**
 * Routing script for the core end-to-end tests. Settings:
 *   targets: string[]   destinations ($du) — the first is the main branch, the others are forked in parallel
 *   failover: string    destination tried from the failure route (486 / 5xx / timeout)
 *   report: boolean     without failover, the failure route answers 480 with what it saw in the reason
 *   stateless: boolean  forward statelessly instead of t_relay
 *   pin: boolean        in-dialog requests also go to targets[0] (never to hosts named in Route headers)
 */
import { defineScript } from "../../data-plane/core/script/context.js";

export default defineScript(({ settings }) => {
  const targets = (settings.targets as string[]) ?? [];
  const failover = (settings.failover as string | undefined) ?? null;
  return {
    request(req) {
      if (!req.processMaxForwards(10)) {
        req.reply(483, "Too Many Hops");
        return;
      }
      if (req.method === "OPTIONS" && req.ruriUser === null && req.isMyself()) {
        req.reply(200, "Keepalive");
        return;
      }
      if (req.method === "CANCEL") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      if (req.hasToTag) {
        if (req.looseRoute()) {
          if (settings.pin) req.setDst(targets[0] ?? null);
          if (!req.relay()) req.replyError();
        } else if (req.method === "ACK") {
          if (req.checkTransaction()) req.relay();
        } else req.reply(404, "Not here");
        return;
      }
      req.removeHeader("Route");
      if (req.method === "INVITE") req.recordRoute();
      if (settings.stateless) {
        req.forward(targets[0]);
        return;
      }
      req.setDst(targets[0] ?? null);
      for (const t of targets.slice(1)) req.appendBranch(req.ruri, { dst: t });
      if (failover || settings.report) req.onFailure("FAILOVER");
      if (!req.relay()) req.replyError();
    },
    failure: {
      FAILOVER(f) {
        if (f.isCanceled()) return;
        if (failover && !f.vars.get("failedOver")) {
          f.vars.set("failedOver", true);
          f.setDst(failover);
          f.relay();
          return;
        }
        if (settings.report) {
          f.reply(480, `Seen ${f.replyCode} timeout=${f.branchTimeout()} replied=${f.branchReplied()}`);
        }
      },
    },
  };
});
