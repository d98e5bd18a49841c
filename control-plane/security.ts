/**
 * The control plane's security objects, built from SecurityConfig (security-config.ts): the push
 * server's certificates and access file, the management API's certificate and role tokens, and
 * one `reload()` for SIGHUP and the `access.reload` method. Nothing here logs a secret: status and
 * reload reports carry file names, subjects, expiry dates and counts only.
 *
 * @example
 *   const sec = createControlPlaneSecurity(cfg.security, cfg.token);
 *   await createPushServer({ source, security: sec.push });
 *   process.on("SIGHUP", () => sec.reload());
 */
import { WatchedCrl } from "../lib/tls/crl.js";
import { WatchedPemFiles } from "../lib/tls/pem-files.js";
import type { Logger } from "../lib/log/logger.js";
import { ApiTokens } from "./api/roles.js";
import { PushAccess } from "./push/push-access.js";
import { securityMode, type PushSecurity } from "./push/push-security.js";
import type { SecurityConfig } from "./security-config.js";

export interface ControlPlaneSecurity {
  readonly push: PushSecurity;
  readonly apiTls: WatchedPemFiles | undefined;
  readonly apiTokens: ApiTokens;
  reload(): SecurityReload;
  status(): Record<string, unknown>;
  close(): void;
}

export interface SecurityReload {
  ok: boolean;
  push: { tls: { ok: boolean; changed: boolean; error?: string } | null; crl: { ok: boolean; changed: boolean; error?: string } | null; access: { ok: boolean; error?: string } };
  api: { tls: { ok: boolean; changed: boolean; error?: string } | null; tokens: { ok: boolean; tokens: number; error?: string } };
}

/** Builds every part; throws an Error naming the bad file. */
export function createControlPlaneSecurity(cfg: SecurityConfig, adminToken: string | undefined, log: Logger): ControlPlaneSecurity {
  if (adminToken !== undefined && adminToken.length < 8) throw new Error("--token must have at least 8 characters");
  const pollMs = cfg.tlsPollMs;
  const made: Array<{ close(): void }> = [];
  try {
    const onPem = (what: string) => (r: { ok: boolean; changed: boolean; error?: string }) =>
      r.ok ? log.info(`${what} certificate files reloaded`) : log.error(`${what} certificate files not reloaded; the old ones stay`, { error: r.error });
    const pushPem = cfg.pushTlsCert
      ? new WatchedPemFiles({ ca: cfg.pushTlsCa, cert: cfg.pushTlsCert, key: cfg.pushTlsKey }, { pollMs, onReload: onPem("push") })
      : null;
    if (pushPem) made.push(pushPem);
    const crl = cfg.pushTlsCrl && pushPem
      ? new WatchedCrl(cfg.pushTlsCrl, () => pushPem.current().ca, {
          pollMs,
          onReload: (r) => (r.ok ? log.info("push CRL reloaded", { file: cfg.pushTlsCrl }) : log.error("push CRL not reloaded; the old one stays", { error: r.error })),
        })
      : null;
    if (crl) {
      made.push(crl);
      const st = crl.status();
      log.info("push CRL loaded", { file: st.file, revoked: st.revoked, issuers: st.crls.map((c) => c.issuer).join("; "), expired: st.expired });
      if (st.expired) log.warn("push CRL is past its nextUpdate; its revocations still apply: install a fresh CRL", { file: st.file });
    }
    const access = new PushAccess(cfg.pushAccess, { pollMs });
    made.push(access);
    const push: PushSecurity = { tls: pushPem ? { pem: pushPem, requireClientCert: cfg.pushTlsCa !== null } : null, access, crl };
    if (push.tls && !push.tls.requireClientCert && access.rules().tokens.size === 0) {
      throw new Error(`server-only TLS needs per-node tokens: ${cfg.pushAccess} has no "tokens"`);
    }
    const apiTls = cfg.apiTlsCert ? new WatchedPemFiles({ cert: cfg.apiTlsCert, key: cfg.apiTlsKey }, { pollMs, onReload: onPem("management API") }) : undefined;
    if (apiTls) made.push(apiTls);
    const apiTokens = new ApiTokens({ file: cfg.apiTokens, fixed: adminToken ? [{ name: "admin", token: adminToken, role: "admin" }] : [], pollMs });
    made.push(apiTokens);
    return {
      push,
      apiTls,
      apiTokens,
      reload() {
        const r: SecurityReload = {
          ok: true,
          push: { tls: pushPem ? pushPem.reload() : null, crl: null, access: access.reload() },
          api: { tls: apiTls ? apiTls.reload() : null, tokens: apiTokens.reload() },
        };
        r.push.crl = crl ? crl.reload() : null; // after the CA: a new CA may be what signs a new CRL
        r.ok = [r.push.tls, r.push.crl, r.push.access, r.api.tls, r.api.tokens].every((x) => x === null || x.ok);
        if (r.ok) log.info("certificates, access and token files reloaded");
        else log.error("reload failed for some files; their old contents stay", { report: JSON.stringify(r) });
        return r;
      },
      status: () => ({
        push: { mode: securityMode(push), tls: pushPem?.status() ?? null, crl: crl?.status() ?? null, access: access.status(), passwords: cfg.pushPasswords },
        api: { https: !!apiTls, tls: apiTls?.status() ?? null, tokens: apiTokens.status() },
      }),
      close() {
        for (const m of made) m.close();
      },
    };
  } catch (e) {
    for (const m of made) m.close();
    throw e;
  }
}
