/**
 * Olelo's default routing script: the kamailio.cfg default configuration, as TypeScript.
 *
 *   request → REQINIT → CANCEL → WITHINDLG → (REGISTRAR) → initial requests: strip preloaded
 *   Route, Record-Route dialog-creating requests → DISPATCH / next hop / R-URI → RELAY
 *
 * Settings (configuration `script.settings`):
 *   nextHop         send every initial request here (`sip:127.0.0.1:5070`) instead of the R-URI
 *   maxForwards     Max-Forwards added when absent (default 10, as Kamailio's default cfg)
 *   maxMessageSize  403 "Message too large" above this (default 16384)
 *   maxRuriSize     403 "R-URI too large" above this (default 512)
 *   dispatcherSet   with the dispatcher module: load-balance initial requests over this set
 *   dispatcherAlg   dispatcher algorithm (default 4, round robin)
 *
 * Modules are used when configured: sanity, pike/htable (ipban), auth, registrar, dispatcher.
 */
import { defineScript, type FailureContext, type RequestContext } from "../core/script/context.js";

const SCANNERS = /friendly|scanner|sipcli|sipvicious|VaxSIPUserAgent|pplsip/i;
const DIALOG_CREATING = new Set(["INVITE", "SUBSCRIBE", "REFER"]);

export default defineScript(({ settings, modules, log }) => {
  const nextHop = typeof settings.nextHop === "string" ? settings.nextHop : null;
  const maxFwd = typeof settings.maxForwards === "number" ? settings.maxForwards : 10;
  const maxSize = typeof settings.maxMessageSize === "number" ? settings.maxMessageSize : 16384;
  const maxRuri = typeof settings.maxRuriSize === "number" ? settings.maxRuriSize : 512;
  const dsSet = typeof settings.dispatcherSet === "number" ? settings.dispatcherSet : null;
  const dsAlg = typeof settings.dispatcherAlg === "number" ? settings.dispatcherAlg : 4;
  const ds = modules.dispatcher as
    | {
        selectDst(req: RequestContext, set: number, alg: number, limit?: number): boolean;
        nextDst(req: RequestContext): boolean;
        markDst(req: RequestContext, state?: string): boolean;
        loadUpdate(req: RequestContext): boolean;
        loadUnset(req: RequestContext): boolean;
      }
    | undefined;
  /** Alg 10 (call load) counts calls: BYE/CANCEL must end them, a failed call must drop its load. */
  const dsLoad = ds !== undefined && dsSet !== null && dsAlg === 10;
  const sanity = modules.sanity as { check(req: RequestContext, msgChecks?: number, uriChecks?: number): boolean } | undefined;
  const registrar = modules.registrar as
    | { save(req: RequestContext, table: string): number; lookup(req: RequestContext, table: string): number }
    | undefined;

  /** REQINIT: guards from Kamailio's default configuration. */
  function reqinit(req: RequestContext): boolean {
    const ua = req.msg.header("user-agent");
    if (ua !== null && SCANNERS.test(ua)) return false; // scanners are dropped silently
    if (req.msg.size > maxSize) {
      req.reply(403, "Message too large");
      return false;
    }
    if (req.ruri.length > maxRuri) {
      req.reply(403, "R-URI too large");
      return false;
    }
    if (!req.processMaxForwards(maxFwd)) {
      req.reply(483, "Too Many Hops");
      return false;
    }
    if (req.method === "OPTIONS" && req.ruriUser === null && req.isMyself()) {
      req.reply(200, "Keepalive");
      return false;
    }
    if (sanity && !sanity.check(req, 17895, 7)) return false;
    return true;
  }

  /** WITHINDLG: requests with a To-tag follow the Route set. */
  function withinDialog(req: RequestContext): void {
    if (req.looseRoute()) {
      if (dsLoad && req.method === "BYE") ds!.loadUpdate(req);
      relay(req);
      return;
    }
    if (req.method === "ACK") {
      if (req.checkTransaction()) req.relay();
      return; // ACK without matching transaction: absorb
    }
    req.reply(404, "Not here");
  }

  function relay(req: RequestContext): void {
    if (req.method === "INVITE" || req.method === "BYE" || req.method === "SUBSCRIBE" || req.method === "UPDATE") {
      // failure handling is armed only where the script has a use for it
    }
    if (!req.relay()) req.replyError();
  }

  return {
    request(req) {
      if (!reqinit(req)) return;
      if (req.method === "CANCEL") {
        if (req.checkTransaction()) {
          if (dsLoad) ds!.loadUpdate(req);
          req.relay();
        }
        return;
      }
      if (req.hasToTag) {
        withinDialog(req);
        return;
      }
      if (req.method === "ACK") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      // initial requests: drop preloaded Route headers, stay in the path of dialogs
      req.removeHeader("Route");
      if (DIALOG_CREATING.has(req.method)) req.recordRoute();

      if (req.method === "REGISTER") {
        if (registrar && req.isMyself()) {
          registrar.save(req, "location");
          return;
        }
        if (!nextHop) {
          req.reply(404, "Not here");
          return;
        }
      }
      if (req.ruriUser === null && !nextHop) {
        req.reply(484, "Address Incomplete");
        return;
      }
      if (ds && dsSet !== null) {
        if (!ds.selectDst(req, dsSet, dsAlg)) {
          req.reply(404, "No destination");
          return;
        }
        req.onFailure("DISPATCH_FAILURE");
        relay(req);
        return;
      }
      if (nextHop) {
        req.setDst(nextHop);
        relay(req);
        return;
      }
      if (req.isMyself()) {
        if (registrar) {
          const rc = registrar.lookup(req, "location");
          if (rc === -2) {
            req.reply(405, "Method Not Allowed");
            return;
          }
          if (rc < 0) {
            req.reply(404, "Not Found");
            return;
          }
          relay(req);
          return;
        }
        req.reply(404, "Not Found");
        return;
      }
      // SIPOUT: the R-URI is elsewhere
      relay(req);
    },

    failure: {
      /**
       * failure_route[RTF_DISPATCH] of Kamailio's dispatcher.cfg: unless the caller cancelled,
       * a 5xx (Kamailio's example: 500 only) or a timeout without any reply marks the
       * destination inactive + probing (keepalives bring it back) and tries the next one of the
       * failover list; when none is left the best reply goes upstream.
       */
      DISPATCH_FAILURE(f: FailureContext) {
        if (!ds) return;
        if (f.isCanceled()) {
          if (dsLoad) ds.loadUnset(f);
          return;
        }
        if (f.checkStatus(/^5\d\d$/) || (f.branchTimeout() && !f.branchReplied())) {
          ds.markDst(f, "ip");
          if (ds.nextDst(f)) {
            log.debug("dispatcher failover", { callId: f.msg.callId, dst: f.dst });
            f.onFailure("DISPATCH_FAILURE");
            f.relay();
            return;
          }
        }
        if (dsLoad) ds.loadUnset(f);
      },
    },
  };
});
