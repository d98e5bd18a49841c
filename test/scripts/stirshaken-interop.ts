/**
 * STIR/SHAKEN interop (test/stirshaken-interop.e2e.test.ts): a request that carries an Identity
 * header is verified (stirshaken_check_identity: the transaction stays suspended while it awaits;
 * on_failure decides reject / mark) and goes to settings.verifiedNextHop; any other request is
 * signed (stirshaken_add_identity with the olelo_stir_attest policy, trunk "sipp") and goes to
 * settings.signedNextHop. No Record-Route: in-dialog requests go end to end.
 */
import { defineScript } from "../../data-plane/core/script/context.js";
import { scriptModules } from "../../data-plane/scripts/module-apis.js";

export default defineScript(({ modules, settings }) => {
  const ss = scriptModules(modules).stirshaken!;
  return {
    async request(req) {
      if (req.hasToTag) {
        req.relay();
        return;
      }
      if (req.method === "ACK" || req.method === "CANCEL") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      if (req.msg.hasHeader("Identity")) {
        const rc = await ss.stirshaken_check_identity(req);
        if (rc === -10) return; // rejected with RFC 8224's answer
        req.setDst(String(settings.verifiedNextHop));
      } else {
        const rc = ss.stirshaken_add_identity(req, { trunk: "sipp" });
        if (rc < 0) req.log.info("stirshaken: not signed", { rc });
        req.setDst(String(settings.signedNextHop));
      }
      if (!req.relay()) req.replyError();
    },
  };
});
