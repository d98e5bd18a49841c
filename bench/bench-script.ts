/**
 * Benchmark routing script: the same logic as ../shared/sipbench/kamailio.cfg's request_route
 * (max-forwards, CANCEL, retransmissions, in-dialog loose routing, OPTIONS keepalive,
 * REGISTER → registrar when loaded, 484 without user, record_route for INVITE, relay to next hop).
 */
import { defineScript } from "../data-plane/core/script/context.js";

export default defineScript(({ settings, modules }) => {
  const nextHop = String(settings.nextHop ?? "sip:127.0.0.1:5070");
  const registrar = modules.registrar as { save(req: unknown, table: string): number } | undefined;
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
      if (req.method === "REGISTER") {
        if (!registrar || registrar.save(req, "location") < 0) req.replyError();
        return;
      }
      if (req.ruriUser === null) {
        req.reply(484, "Address Incomplete");
        return;
      }
      req.removeHeader("Route");
      if (req.method === "INVITE") req.recordRoute();
      req.setDst(nextHop);
      if (!req.relay()) req.replyError();
    },
  };
});
