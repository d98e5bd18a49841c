/**
 * Routing script for bench/transport: record-route every initial INVITE and relay it to
 * `settings.target` (a URI whose transport picks the outgoing leg); in-dialog requests follow
 * their Route set; OPTIONS to the proxy itself are answered.
 */
import { defineScript } from "../../data-plane/core/script/context.js";

export default defineScript(({ settings }) => {
  const target = String(settings.target);
  return {
    request(req) {
      if (req.hasToTag) {
        if (req.looseRoute()) req.relay();
        else if (req.method === "ACK" && req.checkTransaction()) req.relay();
        else req.reply(404, "Not here");
        return;
      }
      if (req.method === "ACK") return;
      if (req.method === "OPTIONS" && req.ruriUser === null) {
        req.reply(200, "OK");
        return;
      }
      if (req.method === "INVITE") req.recordRoute();
      req.setDst(target);
      if (!req.relay()) req.replyError();
    },
  };
});
