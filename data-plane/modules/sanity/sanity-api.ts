import type { Logger } from "../../core/api.js";
import type { RequestContext, SipMessageView } from "../../core/api.js";
import { runSanityChecks, SANITY_MAX_CHECKS, SANITY_URI_MAX_CHECKS, type SanityFailure, type SanityOptions } from "./checks.js";
import type { SanityParams } from "./params.js";

/** Request variable with the last failure of sanity.check (read by sanity.reply). */
export const SANITY_RESULT_VAR = "sanity:failure";

/** What reqinit() decided. */
export type ReqinitVerdict = "ok" | "scanner" | "message-too-large" | "ruri-too-large";

/**
 * The sanity script API: Kamailio's sanity_check plus the default kamailio.cfg REQINIT guards.
 *
 * @example
 *   request(req) {
 *     if (!sanity.reqinit(req)) return;                 // scanners dropped, 403 for oversize
 *     if (!req.processMaxForwards(10)) { req.reply(483, "Too Many Hops"); return; }
 *     if (!sanity.check(req)) return;                   // 17895 / 7, replies 4xx/5xx itself
 *   }
 *   reply: { default(r) { if (!sanity.checkReply(r.msg)) r.drop(); } }
 */
export interface SanityApi {
  /**
   * [sanity_check(msg_checks, uri_checks)] true when every selected check passes; otherwise false,
   * after replying (autodrop) with the failed check's code and reason unless the message cannot be
   * answered (missing Via/From/..., or an ACK) or noreply is set.
   */
  check(req: RequestContext, msgChecks?: number, uriChecks?: number): boolean;
  /** [sanity_check in reply_route] checks a reply (default 17604 / 6) plus msg_max_size; never replies. */
  checkReply(msg: SipMessageView, msgChecks?: number, uriChecks?: number): boolean;
  /** Pure: the first failing check of `msg`, or null. */
  inspect(msg: SipMessageView, msgChecks?: number, uriChecks?: number): SanityFailure | null;
  /** [sanity_reply] sends the reply of the last failed check (noreply mode); false when nothing to send. */
  reply(req: RequestContext): boolean;
  /**
   * Default kamailio.cfg REQINIT guards: scanner User-Agent → drop silently, message larger than
   * msg_max_size → 403 "Message too large", R-URI longer than ruri_max_size → 403 "R-URI too large".
   * Returns true to continue routing, false when the request is finished.
   */
  reqinit(req: RequestContext): boolean;
  /** The guard's verdict without acting on it. */
  reqinitVerdict(req: RequestContext): ReqinitVerdict;
  /** Whether the User-Agent matches the scanner pattern. */
  isScanner(msg: SipMessageView): boolean;
}

/** Builds the sanity script API from validated params. */
export function createSanityApi(p: SanityParams, log: Logger, stats: { inc(name: string): void }): SanityApi {
  const opts: SanityOptions = { proxyRequire: p.proxy_require, sizes: p.sizes };
  const valid = (m: number, u: number) => {
    if (!Number.isInteger(m) || m < 1 || m >= SANITY_MAX_CHECKS) throw new RangeError(`sanity: msg_checks ${m} outside 1..${SANITY_MAX_CHECKS - 1}`);
    if (!Number.isInteger(u) || u < 1 || u >= SANITY_URI_MAX_CHECKS) throw new RangeError(`sanity: uri_checks ${u} outside 1..${SANITY_URI_MAX_CHECKS - 1}`);
  };
  const send = (req: RequestContext, f: SanityFailure): boolean => {
    if (f.code === 0 || req.method === "ACK") return false;
    return req.reply(f.code, f.reason, f.headers ? { headers: f.headers } : undefined);
  };
  const isScanner = (msg: SipMessageView): boolean => {
    if (!p.scanner_ua) return false;
    const ua = msg.header("User-Agent");
    return ua !== null && p.scanner_ua.test(ua);
  };
  const verdict = (req: RequestContext): ReqinitVerdict => {
    if (isScanner(req.msg)) return "scanner";
    if (p.msg_max_size > 0 && req.msg.size > p.msg_max_size) return "message-too-large";
    if (p.ruri_max_size > 0 && req.ruri.length > p.ruri_max_size) return "ruri-too-large";
    return "ok";
  };
  return {
    check(req, msgChecks = p.default_checks, uriChecks = p.uri_checks) {
      valid(msgChecks, uriChecks);
      const f = runSanityChecks(req.msg, msgChecks, uriChecks, opts);
      if (f === null) return true;
      stats.inc("failed");
      req.vars.set(SANITY_RESULT_VAR, f);
      log.info("sanity check failed", { check: f.check, name: f.name, reason: f.reason, source: req.source.address, method: req.method });
      if (p.autodrop && !p.noreply) send(req, f);
      return false;
    },
    checkReply(msg, msgChecks = p.reply_checks, uriChecks = p.reply_uri_checks) {
      valid(msgChecks, uriChecks);
      if (p.msg_max_size > 0 && msg.size > p.msg_max_size) {
        stats.inc("failed");
        return false;
      }
      const f = runSanityChecks(msg, msgChecks, uriChecks, opts);
      if (f) {
        stats.inc("failed");
        log.info("reply sanity check failed", { check: f.check, name: f.name, reason: f.reason, status: msg.status });
      }
      return f === null;
    },
    inspect(msg, msgChecks = p.default_checks, uriChecks = p.uri_checks) {
      valid(msgChecks, uriChecks);
      return runSanityChecks(msg, msgChecks, uriChecks, opts);
    },
    reply(req) {
      const f = req.vars.get(SANITY_RESULT_VAR) as SanityFailure | undefined;
      return f !== undefined && send(req, f);
    },
    reqinit(req) {
      const v = verdict(req);
      switch (v) {
        case "ok":
          return true;
        case "scanner":
          stats.inc("scanners_dropped");
          return false;
        case "message-too-large":
          stats.inc("too_large");
          req.reply(403, "Message too large");
          return false;
        case "ruri-too-large":
          stats.inc("too_large");
          req.reply(403, "R-URI too large");
          return false;
      }
    },
    reqinitVerdict: verdict,
    isScanner,
  };
}
