import type { RequestContext } from "../../core/script/context.js";
import type { ScriptModules } from "../module-apis.js";

/**
 * The default script's multi-domain checks (Kamailio default cfg WITH_MULTIDOMAIN) and number
 * translation (dialplan), each active only when its module is configured:
 *
 * - domain: a URI is local when it is `myself` or its host is in the domain table
 *   (is_domain_local), for the From check of AUTH and the R-URI checks of REGISTRAR / LOCATION.
 *   A REGISTER for a domain that is not local is answered 403 "Not relaying" (no challenge for a
 *   realm this proxy does not serve) unless `nextHop` forwards it.
 * - dialplan, with the setting `dialplanId`: the R-URI user of every initial INVITE is translated
 *   with that dpid (dp_translate(dpid, "$rU/$rU")) before routing; `dialplanFrom: "trusted"`
 *   limits it to INVITEs from trusted peers (permissions address group 1, allow_source_address).
 *   No matching rule leaves the R-URI as it was.
 */
export function numbering(modules: ScriptModules, settings: Readonly<Record<string, unknown>>) {
  const domain = modules.domain;
  const dp = modules.dialplan;
  const dpid = typeof settings.dialplanId === "number" && Number.isInteger(settings.dialplanId) ? settings.dialplanId : null;
  const trustedOnly = settings.dialplanFrom === "trusted";
  const permissions = modules.permissions;

  /** uri==myself, or (with the domain module) is_domain_local of its host. */
  function isLocal(req: RequestContext, uri?: string): boolean {
    if (req.isMyself(uri)) return true;
    return domain !== undefined && domain.isDomainLocal(uri ?? req.ruri) > 0;
  }

  return {
    isLocal,
    /** Whether a REGISTER must be refused as not for a local domain (domain module only). */
    foreignRegister(req: RequestContext): boolean {
      return domain !== undefined && req.method === "REGISTER" && !isLocal(req);
    },
    /** dp_translate of the R-URI user of an initial INVITE (setting dialplanId). */
    translate(req: RequestContext): void {
      if (!dp || dpid === null || req.method !== "INVITE" || req.ruriUser === null) return;
      if (trustedOnly && !(permissions?.allowSourceAddress(req) ?? false)) return;
      dp.translate(req, dpid);
    },
  };
}
