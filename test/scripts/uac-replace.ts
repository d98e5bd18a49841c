/**
 * Routing script for the uac e2e test (test/uac.e2e.test.ts): every initial INVITE goes to
 * `settings.target` with its From replaced (uac_replace_from(settings.fromDisplay,
 * settings.fromUri)) and a carrier's 401/407 answered in the failure route; in-dialog requests of
 * either side follow the Route set and get their From/To/CSeq fixed by uac.inDialog().
 */
import { defineScript, type FailureContext } from "../../data-plane/core/script/context.js";
import type { UacApi } from "../../data-plane/modules/uac/index.js";

export default defineScript(({ modules, settings }) => {
  const uac = modules.uac as UacApi;
  const target = String(settings.target);
  const fromUri = String(settings.fromUri);
  const fromDisplay = typeof settings.fromDisplay === "string" ? settings.fromDisplay : null;
  return {
    request(req) {
      if (req.method === "CANCEL") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      if (req.hasToTag) {
        if (req.looseRoute()) {
          uac.inDialog(req);
          req.relay();
        } else if (req.method === "ACK") {
          if (req.checkTransaction()) req.relay();
        } else req.reply(404, "Not here");
        return;
      }
      req.recordRoute();
      if (uac.replaceFrom(req, fromDisplay, fromUri) < 0) {
        req.reply(500, "uac_replace_from failed");
        return;
      }
      req.setDst(target);
      req.onFailure("AUTH");
      if (!req.relay()) req.reply(500, "Relay failed");
    },
    failure: {
      AUTH(f: FailureContext) {
        if (f.checkStatus("401|407") && uac.auth(f) > 0) f.relay();
      },
    },
  };
});
