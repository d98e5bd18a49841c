/**
 * Routing script for test/siptrace-tcp-script.e2e.test.ts: Kamailio's `sip_trace()` from the script.
 * Requests to user "traced" call siptrace.sipTrace(req) (trace this Call-ID although global tracing
 * is off); every request is relayed to settings.nextHop.
 */
import { defineScript } from "../../data-plane/core/api.js";
import type { SiptraceApi } from "../../data-plane/modules/siptrace/index.js";

export default defineScript(({ modules, settings }) => {
  const trace = modules.siptrace as SiptraceApi;
  return {
    request(req) {
      if (req.ruriUser === "traced") trace.sipTrace(req);
      req.setDst(String(settings.nextHop));
      req.relay();
    },
  };
});
