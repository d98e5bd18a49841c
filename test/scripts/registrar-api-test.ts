/**
 * Routing script for test/registrar.test.ts: drives the registrar API from test headers so a test
 * can see every return code.
 *   REGISTER: X-Save-Flags: n → save(req, "location", n [, X-Save-Uri]); with flags 0x02|0x10 the
 *             prepared reply is then sent with sendReply().
 *   MESSAGE to user "registered": 200 when X-Check-Uri is registered, 404 otherwise.
 *   MESSAGE to user "unregister": unregister(X-Check-Uri [, X-Ruid]) → reply 200 with X-Rc.
 *   other requests: lookup → relay, or reply 404/405; X-Serial: 1 forks with loadContacts/nextContacts.
 * Every return code is appended to `results` (read by the test through this module).
 */
import { defineScript, type FailureContext } from "../../data-plane/core/script/context.js";
import type { RegistrarApi } from "../../data-plane/modules/registrar/index.js";

export const results: Array<{ fn: string; rc: number }> = [];

export default defineScript(({ modules }) => {
  const registrar = modules.registrar as RegistrarApi;
  return {
    request(req) {
      if (req.hasToTag) {
        if (req.looseRoute() || req.method === "ACK") req.relay();
        else req.reply(404, "Not here");
        return;
      }
      if (req.method === "CANCEL") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      if (req.method === "ACK") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      if (req.method === "REGISTER") {
        const flags = Number(req.msg.header("x-save-flags") ?? "0");
        const uri = req.msg.header("x-save-uri") ?? undefined;
        const rc = registrar.save(req, "location", flags, uri);
        results.push({ fn: "save", rc });
        if ((flags & 2) && (flags & 16)) registrar.sendReply(req);
        return;
      }
      const check = req.msg.header("x-check-uri") ?? undefined;
      if (req.method === "MESSAGE" && req.ruriUser === "registered") {
        const rc = registrar.registered(req, "location", check);
        results.push({ fn: "registered", rc });
        req.reply(rc > 0 ? 200 : 404, rc > 0 ? "Registered" : "Not Registered");
        return;
      }
      if (req.method === "MESSAGE" && req.ruriUser === "unregister") {
        const rc = registrar.unregister(req, "location", check, req.msg.header("x-ruid") ?? undefined);
        results.push({ fn: "unregister", rc });
        req.reply(200, "OK", { headers: [["X-Rc", String(rc)]] });
        return;
      }
      req.removeHeader("Route");
      if (req.method === "INVITE") req.recordRoute();
      const rc = registrar.lookup(req, "location");
      results.push({ fn: "lookup", rc });
      if (rc === -2) {
        req.reply(405, "Method Not Allowed");
        return;
      }
      if (rc < 0) {
        req.reply(404, "Not Found");
        return;
      }
      if (req.msg.header("x-serial") === "1") {
        results.push({ fn: "loadContacts", rc: registrar.loadContacts(req) });
        results.push({ fn: "nextContacts", rc: registrar.nextContacts(req) });
        req.onFailure("NEXT");
      }
      if (!req.relay()) req.replyError();
    },
    failure: {
      NEXT(f: FailureContext) {
        if (f.isCanceled()) return;
        const rc = registrar.nextContacts(f);
        results.push({ fn: "nextContacts", rc });
        if (rc > 0) {
          f.onFailure("NEXT");
          f.relay();
        }
      },
    },
  };
});
