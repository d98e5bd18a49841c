import type { FailureContext, ReplyContext, RequestContext } from "../../core/script/context.js";
import type { ScriptModules } from "../module-apis.js";
import type { Media } from "./media.js";

/** Kamailio default cfg flags: FLT_NATS (message), FLB_NATB and FLB_NATSIPPING (branch). */
const FLT_NATS = 5;
const FLB_NATB = 6;
const FLB_NATSIPPING = 7;

/**
 * REGISTRAR, LOCATION, NATDETECT, NATMANAGE, DLGURI and the serial-fork / forwarding failure
 * route of Kamailio's default configuration, for whichever of registrar, nathelper, speed_dial,
 * alias_db and callfwd are configured (each step is skipped when its module is not).
 */
export function location(
  modules: ScriptModules,
  settings: Readonly<Record<string, unknown>>,
  log: { debug(m: string, f?: Record<string, unknown>): void },
  beforeRelay: (req: RequestContext) => boolean = () => true,
  media: Media | null = null,
) {
  const registrar = modules.registrar;
  const nat = modules.nathelper;
  const sd = modules.speed_dial;
  const alias = modules.alias_db;
  const cf = modules.callfwd;
  const table = typeof settings.locationTable === "string" ? settings.locationTable : "location";
  const natFlags = typeof settings.natTestFlags === "number" ? settings.natTestFlags : 19;
  const sipPing = settings.natSipPing === true;
  const serial = settings.serialForking === true;
  const serialMs = typeof settings.serialTimeoutMs === "number" ? settings.serialTimeoutMs : 15000;
  const firstHop = (m: { msg: { vias: readonly unknown[] } }, reply: boolean) => m.msg.vias.length === (reply ? 2 : 1);

  /**
   * RELAY with NATMANAGE: NATed calls' SDP goes through the media relay hook (awaited when the
   * relay is asynchronous), the reply route and the failure route are armed, then t_relay.
   */
  function relayManaged(req: RequestContext): void | Promise<void> {
    if (!beforeRelay(req)) return; // answered (call limit)
    if (nat) req.onReply("MANAGE_REPLY");
    req.onFailure("MANAGE_FAILURE");
    const send = () => {
      if (!req.relay()) req.replyError();
    };
    if (media) {
      // WITH_RTPENGINE: rtpengine_manage for every call, NATed or not (Kamailio's default cfg)
      const m = media.request(req);
      if (m) return m.then(send);
    } else if (nat && !req.hasToTag && (req.isFlagSet(FLT_NATS) || registrar?.isbflagset(req, FLB_NATB))) {
      const m = nat.manageMedia(req, true);
      if (typeof m !== "number") return m.then(send);
    }
    send();
  }

  /** lookup + relay of a local target (404 / 405 when there is none). */
  function lookupAndRelay(req: RequestContext, uris: readonly string[] | null = null): void | Promise<void> {
    const rc = uris ? registrar!.lookupBranches(req, table, uris) : registrar!.lookup(req, table);
    if (rc < 0) {
      if (cf && cf.forward(req, "unavailable") > 0) {
        if (!req.isMyself() || registrar!.lookup(req, table) > 0) return relayManaged(req);
      }
      if (rc === -2) req.reply(405, "Method Not Allowed");
      else req.reply(404, "Not Found");
      return;
    }
    if (serial && req.method === "INVITE" && registrar!.loadContacts(req) > 0 && registrar!.nextContacts(req) > 0) {
      if (registrar!.hasMoreContacts(req)) req.setFinalResponseTimers(serialMs, serialMs);
    }
    if (cf && req.method === "INVITE") cf.armNoAnswer(req);
    return relayManaged(req);
  }

  return {
    registrar,
    table,

    /** NATDETECT: NATed REGISTER → received for save(); other first-hop requests → Contact alias. */
    natDetect(req: RequestContext): void {
      if (!nat || !nat.natUacTest(req, natFlags)) return;
      if (req.method === "REGISTER") nat.fixNatedRegister(req);
      else if (firstHop(req, false) && !req.hasToTag) nat.setContactAlias(req);
      req.setFlag(FLT_NATS);
    },

    /** DLGURI: an in-dialog R-URI with ;alias= (NATed peer) gets its $du back. */
    dlgUri(req: RequestContext): void {
      if (nat && req.dst === null) nat.handleRuriAlias(req);
    },

    /** REGISTRAR: NATed contacts get FLB_NATB (and FLB_NATSIPPING) as cflags, then save. */
    register(req: RequestContext): number {
      if (req.isFlagSet(FLT_NATS)) {
        registrar!.setbflag(req, FLB_NATB);
        if (sipPing) registrar!.setbflag(req, FLB_NATSIPPING);
      }
      const rc = registrar!.save(req, table);
      if (rc < 0) log.debug("REGISTER rejected", { callId: req.msg.callId });
      return rc;
    },

    /** LOCATION: speed dial, aliases, screening / unconditional forwarding, lookup, relay. */
    location(req: RequestContext): void | Promise<void> {
      // speed dial / alias to a non-local URI: SIPOUT
      if (sd && /^[0-9]{2}$/.test(req.ruriUser ?? "") && sd.lookup(req, "speed_dial") > 0 && !req.isMyself()) return relayManaged(req);
      // alias_db: an alias of local users looks up every user it names (lookup_branches)
      let aliased: string[] | null = null;
      if (alias) {
        const targets = alias.findAll(req.ruri, "dbaliases");
        if (targets.length > 0 && alias.lookup(req, "dbaliases") > 0) {
          if (!req.isMyself()) return relayManaged(req);
          req.clearBranches();
          aliased = alias.params.append_branches ? targets : targets.slice(0, 1);
        }
      }
      if (cf && req.method === "INVITE") {
        if (cf.screen(req) < 0) {
          req.reply(603, "Decline");
          return;
        }
        if (cf.forward(req, "unconditional") > 0) {
          if (!req.isMyself()) return relayManaged(req);
          aliased = null;
        }
      }
      return lookupAndRelay(req, aliased);
    },

    /** MANAGE_FAILURE: stop when cancelled; next q group; busy / no-answer forwarding. */
    failure(f: FailureContext): void {
      if (f.isCanceled()) return;
      if (serial && registrar && registrar.nextContacts(f) > 0) {
        if (registrar.hasMoreContacts(f)) f.setFinalResponseTimers(serialMs, serialMs);
        f.onFailure("MANAGE_FAILURE");
        f.relay();
        return;
      }
      if (cf && cf.onFailure(f) > 0) {
        if (f.isMyself() && registrar) {
          if (registrar.lookup(f, table) < 0) return;
        }
        f.onFailure("MANAGE_FAILURE");
        f.relay();
      }
    },

    /** NATMANAGE on a reply: a NATed callee's Contact gets an alias (first hop only). */
    manageReply(r: ReplyContext): void {
      if (!nat || !r.request || r.status >= 300) return;
      const natedCallee = registrar?.isbflagset(r.request, FLB_NATB) ?? false;
      if ((natedCallee || nat.natUacTest(r, 1)) && firstHop(r, true)) nat.setContactAlias(r);
    },
  };
}
