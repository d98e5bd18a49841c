import type { AuthFailureLimiter } from "../../modules/auth/failure-limiter.js";
import type { ScriptModules } from "../module-apis.js";

/**
 * SAFEGUARD/AUTH wiring, once per script load: pike's guard keeps bans in htable "ipban" (when
 * defined) and never counts nor bans trusted peers; failed authentications are counted per source
 * IP in htable `authFailTable` and ban the source through the guard (Kamailio's auth_count pattern).
 */
export function firewall(modules: ScriptModules, settings: Readonly<Record<string, unknown>>) {
  const pike = modules.pike;
  const htable = modules.htable;
  const permissions = modules.permissions;
  const auth = modules.auth;
  if (pike) {
    if (htable?.hasTable("ipban")) pike.guard.setStore(pike.htableBanStore(htable.table("ipban")));
    if (permissions) pike.guard.setTrustCheck((ip) => permissions.isTrusted(ip));
  }
  const failTable = typeof settings.authFailTable === "string" ? settings.authFailTable : "auth_fail";
  const banSeconds = typeof settings.authBanSeconds === "number" ? settings.authBanSeconds : 900;
  let failures: AuthFailureLimiter | null = null;
  if (auth && htable?.hasTable(failTable)) {
    failures = auth.createFailureLimiter({
      store: htable.table(failTable),
      maxFailures: typeof settings.authMaxFailures === "number" ? settings.authMaxFailures : 10,
      blockSeconds: banSeconds,
      onBlock: pike ? (ip) => pike.guard.ban(ip, banSeconds, "auth") : undefined,
    });
  }
  return { pike, auth, permissions, failures };
}
