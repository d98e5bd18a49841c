import { defineModule } from "../../core/api.js";
import { sanityParams, type SanityParams } from "./params.js";
import { createSanityApi, type SanityApi } from "./sanity-api.js";

export type { SanityApi, ReqinitVerdict } from "./sanity-api.js";
export { SANITY_RESULT_VAR } from "./sanity-api.js";
export { SanityCheck, SanityUriCheck, runSanityChecks, DEFAULT_SIZE_LIMITS } from "./checks.js";
export type { SanityFailure, SanityOptions, SizeLimits } from "./checks.js";
export { DEFAULT_SCANNER_UA } from "./params.js";

/**
 * sanity: SIP message sanity checks (Kamailio sanity module, bitmask-selected) and the default
 * kamailio.cfg REQINIT guards (scanner User-Agents, oversized messages and R-URIs).
 */
export default defineModule<SanityApi, SanityParams>({
  name: "sanity",
  doc: "SIP message sanity checks and REQINIT guards (Kamailio sanity)",
  params: sanityParams,
  stats: { group: "sanity", counters: ["failed", "scanners_dropped", "too_large"] },
  init(host) {
    const p = host.config;
    const stats = host.stats.group("sanity", ["failed", "scanners_dropped", "too_large"]);
    return createSanityApi(p, host.log, stats);
  },
});
