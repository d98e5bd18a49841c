import type { RequestContext } from "../../core/script/context.js";

/** Key in `req.vars`: the maximum call duration (s) the billing system granted. */
export const AUTHZ_MAX_DURATION_VAR = "authz:max_duration_s";

/** `script.settings.authorize`. */
export interface AuthzSettings {
  /** Billing system endpoint: POST JSON, answers `{allow, code?, reason?, maxDurationS?}`. */
  readonly url: string;
  /** How long to wait for the answer (default 1000 ms). */
  readonly timeoutMs: number;
  /** Relay when the billing system does not answer in time or fails (default false: 503). */
  readonly failOpen: boolean;
  readonly headers: Readonly<Record<string, string>>;
}

export function parseAuthz(raw: unknown): AuthzSettings | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "object" || Array.isArray(raw)) throw new Error("script.settings.authorize must be an object {url, timeoutMs?, failOpen?, headers?}");
  const o = raw as Record<string, unknown>;
  if (typeof o.url !== "string" || !/^https?:\/\//.test(o.url)) throw new Error("script.settings.authorize.url must be an http:// or https:// URL");
  const t = o.timeoutMs ?? 1000;
  if (typeof t !== "number" || !Number.isInteger(t) || t < 1 || t > 60_000) throw new Error("script.settings.authorize.timeoutMs must be 1..60000");
  if (o.failOpen !== undefined && typeof o.failOpen !== "boolean") throw new Error("script.settings.authorize.failOpen must be true or false");
  const h = o.headers ?? {};
  if (typeof h !== "object" || h === null || Object.values(h).some((v) => typeof v !== "string")) throw new Error("script.settings.authorize.headers must map names to strings");
  return { url: o.url, timeoutMs: t, failOpen: o.failOpen === true, headers: h as Record<string, string> };
}

/**
 * AUTHORIZE of the default script: before an initial INVITE is routed, the billing system is
 * asked over HTTP (`POST url`, JSON `{call_id, from, from_user, to, ruri, ruri_user, src_ip,
 * src_port}`). `{allow: true}` routes the call (with `maxDurationS`, the call is ended with BYE
 * both ways that long after the answer — a prepaid balance); `{allow: false, code?, reason?}`
 * answers the INVITE (default 403 "Forbidden"). No answer within `timeoutMs`, a non-2xx HTTP status
 * or a body that is not such JSON: the call is routed when `failOpen`, else answered 503
 * "Authorization unavailable".
 */
export function authzHook(raw: unknown, log: { warn(m: string, f?: Record<string, unknown>): void }) {
  const cfg = parseAuthz(raw);
  return {
    active: cfg !== null,
    /** Resolves true when the INVITE may be routed; false when it was answered. */
    async check(req: RequestContext): Promise<boolean> {
      if (!cfg) return true;
      const msg = req.msg;
      let from = "";
      let to = "";
      let fromUser = "";
      try {
        from = msg.from.uriText;
        to = msg.to.uriText;
        fromUser = msg.from.uri?.user ?? "";
      } catch {
        /* checked by the caller's sanity/auth steps; send what there is */
      }
      const body = { call_id: msg.callId, from, from_user: fromUser, to, ruri: req.ruri, ruri_user: req.ruriUser ?? "", src_ip: req.source.address, src_port: req.source.port };
      let answer: { allow?: unknown; code?: unknown; reason?: unknown; maxDurationS?: unknown };
      try {
        const r = await fetch(cfg.url, {
          method: "POST",
          headers: { "content-type": "application/json", ...cfg.headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(cfg.timeoutMs),
        });
        if (r.status < 200 || r.status > 299) throw new Error(`HTTP ${r.status}`);
        answer = (await r.json()) as typeof answer;
        if (typeof answer !== "object" || answer === null || typeof answer.allow !== "boolean") throw new Error("answer has no boolean 'allow'");
      } catch (e) {
        log.warn("authorization hook failed", { callId: msg.callId, error: (e as Error).message, failOpen: cfg.failOpen });
        if (cfg.failOpen) return true;
        req.reply(503, "Authorization unavailable");
        return false;
      }
      if (!answer.allow) {
        const code = typeof answer.code === "number" && answer.code >= 400 && answer.code <= 699 ? answer.code : 403;
        req.reply(code, typeof answer.reason === "string" ? answer.reason : "Forbidden");
        return false;
      }
      if (typeof answer.maxDurationS === "number" && Number.isInteger(answer.maxDurationS) && answer.maxDurationS > 0) {
        req.vars.set(AUTHZ_MAX_DURATION_VAR, answer.maxDurationS);
      }
      return true;
    },
  };
}
