/**
 * Asynchronous routing (Kamailio t_suspend/async): the request route awaits a lookup (a local
 * HTTP server named in settings.lookupUrl) before choosing the destination; the transaction
 * stays suspended meanwhile and absorbs retransmissions.
 */
import { defineScript } from "../../data-plane/core/script/context.js";

export default defineScript(({ settings }) => ({
  async request(req) {
    if (req.method === "ACK" || req.method === "CANCEL") {
      if (req.checkTransaction()) req.relay();
      return;
    }
    if (req.hasToTag) {
      if (req.looseRoute()) req.relay();
      return;
    }
    if (req.method === "INVITE") req.recordRoute();
    const user = req.ruriUser ?? "";
    const res = await fetch(`${String(settings.lookupUrl)}?user=${encodeURIComponent(user)}`);
    if (res.status !== 200) {
      req.reply(404, "Not Found");
      return;
    }
    const body = (await res.json()) as { dst: string };
    req.setDst(body.dst);
    if (!req.relay()) req.replyError();
  },
}));
