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
 *   lcrId           with the lcr module: route initial requests by least cost over this lcr instance
 *                   (LCR route; failover to the next gateway in LCR_FAILURE)
 *   authFailTable   htable counting authentication failures per source IP (default "auth_fail",
 *                   used when the htable module defines it)
 *   authMaxFailures failures (wrong password / unknown user) that ban the source (default 10)
 *   authBanSeconds  how long: pike guard ban when pike is loaded, else 403 "Try later" (default 900)
 *   locationTable   usrloc table of REGISTRAR / LOCATION (default "location")
 *   natTestFlags    nat_uac_test flags of NATDETECT (default 19 = 1|2|16, as Kamailio)
 *   natSipPing      REGISTRAR sets FLB_NATSIPPING on NATed contacts: OPTIONS keep-alives (WITH_NATSIPPING)
 *   serialForking   LOCATION forks by q: t_load_contacts / t_next_contacts (default false: parallel)
 *   serialTimeoutMs ring time of one serial group before the next is tried (default 15000)
 *   authorize       {url, timeoutMs?, failOpen?, headers?}: ask a billing system over HTTP before
 *                   routing an INVITE (default/authz-hook.ts)
 *   inviteLimitPerSource  with pipelimit: initial INVITEs per source address and timer_interval
 *                   (pipe `inv:<ip>`, TAILDROP; a pl_pipes template `inv:*` takes precedence)
 *   pipeRetryAfter  with pipelimit: Retry-After of the 503 the pipes answer (default: none)
 *   limits          with dialog: per-account call control {maxCalls, maxDurationS, accounts:
 *                   {"1001": {maxCalls, maxDurationS}}, rejectCode, rejectReason} (default/call-limits.ts)
 *   dialplanId      with the dialplan module: translate the R-URI user of initial INVITEs with this dpid
 *   dialplanFrom    "all" (default) or "trusted": only INVITEs from trusted peers (permissions)
 *                   are translated (default/numbering.ts)
 *
 * Modules are used when configured: sanity, pike/htable (ipban), permissions, auth, registrar,
 * dispatcher, uac (carrier challenges answered in UAC_AUTH / DISPATCH_FAILURE / LCR_FAILURE, calls to
 * registered trunks mapped by uac_reg_lookup, in-dialog CSeq/From/To fixes after loose_route). SAFEGUARD/AUTH (Kamailio WITH_ANTIFLOOD, WITH_AUTH, WITH_IPAUTH): pike's flood guard
 * keeps its bans in htable "ipban" when defined (pike `ipban: 1` drops them before parsing) and
 * exempts trusted peers (permissions); with the sanity module its REQINIT guards replace the
 * built-in scanner/size guards (then its scanner_ua / msg_max_size / ruri_max_size apply).
 * REGISTRAR / LOCATION / NATDETECT / NATMANAGE (Kamailio WITH_NAT, WITH_SPEEDDIAL, WITH_ALIASDB):
 * active when registrar (+ usrloc), nathelper, speed_dial, alias_db, callfwd are configured.
 * DOMAIN (Kamailio WITH_MULTIDOMAIN): with the domain module, From / R-URI hosts in the domain
 * table count as local (is_domain_local) besides `myself`; a REGISTER for another domain is 403.
 * DIALOG / ACC (Kamailio WITH_ACCDB, dlg_manage): with the dialog module, INVITEs and in-dialog
 * requests are managed (call.* events, dlg.* RPCs); with acc, the default cfg's flags are set —
 * FLT_ACC on INVITEs, FLT_ACCMISSED on INVITEs to local users, FLT_ACC + FLT_ACCFAILED on BYEs.
 * PRESENCE (Kamailio WITH_PRESENCE + msilo, default/presence.ts): with presence, PUBLISH / SUBSCRIBE
 * for local presentities (and in-dialog SUBSCRIBEs) are handled there and INVITEs to local users get
 * BLF; with msilo + registrar, a MESSAGE to an offline user is stored (202 Accepted) and delivered
 * after the user's next REGISTER.
 */
import { defineScript, type FailureContext, type RequestContext } from "../core/script/context.js";
import type { ReplyContext } from "../core/script/context.js";
import { accounting } from "./default/accounting.js";
import { authzHook } from "./default/authz-hook.js";
import { firewall } from "./default/firewall.js";
import { location } from "./default/location.js";
import { media as mediaRelay } from "./default/media.js";
import { numbering } from "./default/numbering.js";
import { pipeLimits } from "./default/pipe-limits.js";
import { presenceRoutes } from "./default/presence.js";
import { scriptModules, type ModuleApis } from "./module-apis.js";

const SCANNERS = /friendly|scanner|sipcli|sipvicious|VaxSIPUserAgent|pplsip/i;
const DIALOG_CREATING = new Set(["INVITE", "SUBSCRIBE", "REFER"]);

export default defineScript(({ settings, modules: loaded, log }) => {
  const modules = scriptModules(loaded);
  const nextHop = typeof settings.nextHop === "string" ? settings.nextHop : null;
  const maxFwd = typeof settings.maxForwards === "number" ? settings.maxForwards : 10;
  const maxSize = typeof settings.maxMessageSize === "number" ? settings.maxMessageSize : 16384;
  const maxRuri = typeof settings.maxRuriSize === "number" ? settings.maxRuriSize : 512;
  const dsSet = typeof settings.dispatcherSet === "number" ? settings.dispatcherSet : null;
  const dsAlg = typeof settings.dispatcherAlg === "number" ? settings.dispatcherAlg : 4;
  const lcr = modules.lcr;
  const lcrId = typeof settings.lcrId === "number" ? settings.lcrId : null;
  const ds = modules.dispatcher;
  /** Alg 10 (call load) counts calls: BYE/CANCEL must end them, a failed call must drop its load. */
  const dsLoad = ds !== undefined && dsSet !== null && dsAlg === 10;
  const sanity = modules.sanity;
  const acct = accounting(modules, settings.limits);
  const authz = authzHook(settings.authorize, log);
  const media = mediaRelay(modules);
  const loc = location(modules, settings, log, acct.beforeLocalRelay, media);
  const num = numbering(modules, settings);
  const im = presenceRoutes(modules, loc.table);

  const { pike, auth, permissions, failures } = firewall(modules, settings);
  const pipes = pipeLimits(modules, settings);
  const uac = modules.uac;

  /** UAC_AUTH (Kamailio uac README, TRUNKAUTH): answer a carrier's 401/407 once and relay again. */
  function uacAnswer(f: FailureContext): boolean {
    if (!uac || f.isCanceled() || !f.checkStatus("401|407")) return false;
    if (uac.auth(f) < 0) return false;
    f.relay();
    return true;
  }

  /** REQINIT: guards from Kamailio's default configuration. */
  function reqinit(req: RequestContext): boolean {
    // SAFEGUARD: ipban + pike (trusted peers exempt); banned or flooding sources are dropped silently
    if (pike && pike.guard.check(req.source.address) !== "ok") return false;
    if (sanity) {
      if (!sanity.reqinit(req)) return false; // scanners dropped; 403 Message / R-URI too large
    } else {
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
    // PIPELIMIT: per-source (and global) INVITE pipes, 503 when over the limit
    if (pipes && !pipes(req)) return false;
    return true;
  }

  /** WITHINDLG: requests with a To-tag follow the Route set. */
  function withinDialog(req: RequestContext): void | Promise<void> {
    if (req.looseRoute()) {
      uac?.inDialog(req); // uac_auth CSeq offset, From/To restore (auto mode)
      loc.dlgUri(req);
      if (dsLoad && req.method === "BYE") ds!.loadUpdate(req);
      return relay(req);
    }
    if (req.method === "ACK") {
      if (req.checkTransaction()) req.relay();
      return; // ACK without matching transaction: absorb
    }
    if (im.inDialog(req)) return; // SUBSCRIBE refresh / un-subscribe to our presence server
    req.reply(404, "Not here");
  }

  /**
   * AUTH (Kamailio default cfg WITH_AUTH + WITH_IPAUTH), with the auth module: trusted peers
   * (permissions address group 1) skip it except for REGISTER; REGISTER and requests from local
   * users (From = myself) must authenticate (auth_check "$fd" flags 1, else 401/407 challenge;
   * malformed credentials 400); credentials are consumed before relaying; 403 "Not relaying" when
   * neither From nor R-URI is local. Password / user guessing from one source bans it.
   */
  function authorize(req: RequestContext): boolean {
    if (num.foreignRegister(req) && !nextHop) {
      req.reply(403, "Not relaying"); // multi-domain: not a domain of this proxy
      return false;
    }
    if (!auth) return true;
    const register = req.method === "REGISTER";
    if (!register && permissions?.allowSourceAddress(req)) return true;
    let fromUri: string;
    let fromDomain: string;
    try {
      fromUri = req.msg.from.uriText;
      fromDomain = req.msg.from.uri?.host ?? "";
    } catch {
      req.reply(400, "Bad From header");
      return false;
    }
    const fromLocal = num.isLocal(req, fromUri);
    if ((register && !num.foreignRegister(req)) || fromLocal) {
      const ip = req.source.address;
      if (failures?.isBlocked(ip)) {
        req.reply(403, "Try later");
        return false;
      }
      const r = auth.verify(req, fromDomain, { flags: 1 });
      if (r.outcome === "malformed") {
        req.reply(400, "Bad Auth Header");
        return false;
      }
      if (r.code < 0) {
        if (failures && (r.outcome === "wrong-password" || r.outcome === "unknown-user")) {
          failures.recordFailure(ip);
          if (failures.isBlocked(ip)) {
            if (!pike?.guard.isBanned(ip)) req.reply(403, "Try later"); // banned by the guard now: drop
            return false;
          }
        }
        auth.challenge(req, fromDomain, 1); // one answer for every failure (qop=auth; stale=true after -4)
        return false;
      }
      if (!register && req.method !== "PUBLISH") auth.consumeCredentials(req);
    }
    if (!fromLocal && !num.isLocal(req)) {
      req.reply(403, "Not relaying");
      return false;
    }
    return true;
  }

  function relay(req: RequestContext): void | Promise<void> {
    if (!acct.beforeRelay(req)) {
      // answered here (over a call limit): an alg 10 destination chosen for it carries no call
      if (dsLoad && req.method === "INVITE" && !req.hasToTag) ds!.loadUnset(req);
      return;
    }
    const send = () => {
      if (!req.relay()) req.replyError();
    };
    // NATMANAGE with rtpengine (WITH_RTPENGINE): offer / answer / delete before the relay
    const m = media?.request(req);
    if (m) return m.then(send);
    send();
  }

  /**
   * LCR (Kamailio lcr README, load_gws / next_gw): the gateways for the R-URI user and the
   * caller (From URI) in least-cost order, the first one into the R-URI/$du, failover in
   * LCR_FAILURE.
   */
  function lcrRoute(req: RequestContext, lcr: ModuleApis["lcr"], lcrId: number): void | Promise<void> {
    let caller: string;
    try {
      caller = req.msg.from.uriText;
    } catch {
      req.reply(400, "Bad From header");
      return;
    }
    const rc = lcr.loadGws(req, lcrId, req.ruriUser ?? "", caller);
    if (rc < 0) {
      req.reply(503, "Error loading gateways");
      return;
    }
    if (rc !== 1 || !lcr.nextGw(req)) {
      req.reply(503, "No available gateways");
      return;
    }
    req.onFailure("LCR_FAILURE");
    return relay(req);
  }

  /** Routing of an initial request after REQINIT / AUTH / AUTHORIZE. */
  function routeInitial(req: RequestContext): void | Promise<void> {
    // PRESENCE (WITH_PRESENCE): PUBLISH / SUBSCRIBE for local presentities
    const handled = im.handle(req);
    if (handled !== false) return handled === true ? undefined : handled;
    if (req.method === "REGISTER") {
      if (loc.registrar && num.isLocal(req)) {
        const rc = loc.register(req);
        if (rc === 1 || rc === 2) im.registered(req); // msilo: deliver stored messages
        return;
      }
      if (!nextHop) {
        req.reply(404, "Not here");
        return;
      }
    }
    // a call from a carrier to a trunk registered by uac: R-URI user = l_uuid of its uacreg row
    if (uac && req.ruriUser !== null && uac.regLookup(req) > 0) log.debug("uac: call to a registered trunk", { callId: req.msg.callId, ruri: req.ruri });
    if (req.ruriUser === null && !nextHop) {
      req.reply(484, "Address Incomplete");
      return;
    }
    num.translate(req); // dialplan (setting dialplanId)
    if (lcr && lcrId !== null) return lcrRoute(req, lcr, lcrId);
    if (ds && dsSet !== null) {
      if (!ds.selectDst(req, dsSet, dsAlg)) {
        req.reply(404, "No destination");
        return;
      }
      req.onFailure("DISPATCH_FAILURE");
      return relay(req);
    }
    if (nextHop) {
      req.setDst(nextHop);
      if (uac) req.onFailure("UAC_AUTH");
      return relay(req);
    }
    if (num.isLocal(req)) {
      im.markCall(req); // BLF (dialoginfo_set) with presence
      if (req.method === "MESSAGE" && im.msilo && loc.registrar) return im.message(req);
      if (loc.registrar) return loc.location(req);
      req.reply(404, "Not Found");
      return;
    }
    // SIPOUT: the R-URI is elsewhere
    if (uac) req.onFailure("UAC_AUTH");
    return relay(req);
  }

  return {
    request(req) {
      if (!reqinit(req)) return;
      loc.natDetect(req);
      if (req.method === "CANCEL") {
        if (req.checkTransaction()) {
          if (dsLoad) ds!.loadUpdate(req);
          const m = media?.request(req);
          if (m) return m.then(() => void req.relay());
          req.relay();
        }
        return;
      }
      if (req.hasToTag) return withinDialog(req);
      if (req.method === "ACK") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      if (!authorize(req)) return;
      // initial requests: drop preloaded Route headers, stay in the path of dialogs
      req.removeHeader("Route");
      if (DIALOG_CREATING.has(req.method)) req.recordRoute();
      // AUTHORIZE (settings.authorize): the billing system decides before an INVITE is routed
      if (authz.active && req.method === "INVITE") {
        return authz.check(req).then((ok) => (ok ? routeInitial(req) : undefined));
      }
      return routeInitial(req);
    },

    failure: {
      /**
       * failure_route[RTF_DISPATCH] of Kamailio's dispatcher.cfg: unless the caller cancelled,
       * a 5xx (Kamailio's example: 500 only) or a timeout without any reply marks the
       * destination inactive + probing (keepalives bring it back) and tries the next one of the
       * failover list; when none is left the best reply goes upstream.
       */
      DISPATCH_FAILURE(f: FailureContext) {
        if (!ds || uacAnswer(f)) return;
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
      /**
       * LCR_FAILURE: unless the caller cancelled, a 5xx (Kamailio's example: 500) or a branch
       * timeout without any reply moves the call to the next gateway; a timeout or 503 also
       * counts a failure for the gateway's health (inactivate_gw, with lcr ping_interval). When
       * no gateway is left the best reply goes upstream.
       */
      LCR_FAILURE(f: FailureContext) {
        if (!lcr || f.isCanceled() || uacAnswer(f)) return;
        const silent = f.branchTimeout() && !f.branchReplied();
        if (!silent && !f.checkStatus(/^5\d\d$/)) return;
        if (silent || f.replyCode === 503) lcr.inactivateGw(f);
        if (lcr.nextGw(f)) {
          f.onFailure("LCR_FAILURE");
          f.relay();
        }
      },
      /** MANAGE_FAILURE (LOCATION calls): next serial-fork group, call forwarding on busy / no answer. */
      MANAGE_FAILURE: (f: FailureContext) => loc.failure(f),
      /** UAC_AUTH: with the uac module, a carrier's challenge is answered from uacreg / credential. */
      UAC_AUTH(f: FailureContext) {
        uacAnswer(f);
      },
      /** MSILO_FAILURE: a MESSAGE no contact took (408 / 480) is stored for the next REGISTER. */
      MSILO_FAILURE: (f: FailureContext) => im.failure(f),
    },
    reply: {
      /** MANAGE_REPLY: NATMANAGE for replies of NATed callees. */
      MANAGE_REPLY: (r: ReplyContext) => {
        loc.manageReply(r);
        return media?.reply(r);
      },
    },
  };
});
