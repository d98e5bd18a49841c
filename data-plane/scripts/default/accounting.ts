import type { RequestContext } from "../../core/script/context.js";
import type { ScriptModules } from "../module-apis.js";
import { callLimits } from "./call-limits.js";

/** Kamailio default cfg accounting flags. */
const FLT_ACC = 1;
const FLT_ACCMISSED = 2;
const FLT_ACCFAILED = 3;

/**
 * DIALOG / ACC hooks, active only with their modules: dlg_manage() for INVITEs and in-dialog
 * requests, and the acc flags of Kamailio's default cfg (the acc module reads them when the
 * final reply goes out, so a failure route may still change them).
 */
export function accounting(modules: ScriptModules, limitSettings?: unknown) {
  const dialog = modules.dialog;
  const acc = modules.acc;
  const limits = callLimits(modules, limitSettings);

  /**
   * Before t_relay: call limits (settings.limits) on initial INVITEs, manage the dialog; FLT_ACC
   * on INVITEs, FLT_ACC + FLT_ACCFAILED on BYEs. false: the request was answered (over its limit).
   */
  function beforeRelay(req: RequestContext): boolean {
    const initialInvite = req.method === "INVITE" && !req.hasToTag;
    if (initialInvite && !limits.admit(req)) return false;
    if (dialog && (req.method === "INVITE" || req.hasToTag)) {
      dialog.manage(req);
      if (initialInvite && !limits.managed(req)) return false;
    }
    if (!acc) return true;
    if (req.hasToTag) {
      if (req.method !== "BYE") return true;
      req.setFlag(FLT_ACC);
      req.setFlag(FLT_ACCFAILED);
      acc.track(req);
    } else if (req.method === "INVITE") {
      req.setFlag(FLT_ACC);
      acc.track(req);
    }
    return true;
  }

  return {
    beforeRelay,
    /** LOCATION: a call to a local user that was found also logs missed calls (FLT_ACCMISSED). */
    beforeLocalRelay(req: RequestContext): boolean {
      if (acc && !req.hasToTag && req.method === "INVITE") req.setFlag(FLT_ACCMISSED);
      return beforeRelay(req);
    },
  };
}
