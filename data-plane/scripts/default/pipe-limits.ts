import type { RequestContext } from "../../core/script/context.js";
import type { ScriptModules } from "../module-apis.js";

/**
 * PIPELIMIT (Kamailio pipelimit README examples), when the pipelimit module is configured:
 * every initial INVITE goes through the per-source pipe `inv:<source address>` — made from the
 * template `inv:*` of the pl_pipes table when there is one, else from the script's template
 * `inv:` with `settings.inviteLimitPerSource` (TAILDROP, per timer_interval) — and through the pipe `inv`
 * when it exists (a limit for all INVITEs). A drop is answered with pl_drop: reply_code /
 * reply_reason (503 Server Unavailable), with Retry-After `settings.pipeRetryAfter` when set.
 * Returns false when the request was refused.
 */
export function pipeLimits(modules: ScriptModules, settings: Readonly<Record<string, unknown>>) {
  const pl = modules.pipelimit;
  if (!pl) return null;
  const perSource = typeof settings.inviteLimitPerSource === "number" ? settings.inviteLimitPerSource : null;
  const retry = typeof settings.pipeRetryAfter === "number" ? settings.pipeRetryAfter : undefined;
  if (perSource !== null) pl.defineTemplate("inv:", "TAILDROP", perSource);
  return (req: RequestContext): boolean => {
    if (req.method !== "INVITE" || req.hasToTag) return true;
    const r = pl.check(`inv:${req.source.address}`);
    const all = r === -1 || pl.active("inv") < 0 ? 1 : pl.check("inv");
    if (r === -1 || all === -1) {
      pl.drop(req, retry);
      return false;
    }
    return true;
  };
}
