import type { FailureContext, RequestContext } from "../../core/script/context.js";
import type { ScriptModules } from "../module-apis.js";

/**
 * PRESENCE and the instant-messaging part of LOCATION in Kamailio's default configuration
 * (WITH_PRESENCE, plus msilo's example): PUBLISH / SUBSCRIBE for local presentities go to the
 * presence module (an in-dialog SUBSCRIBE to us too); a MESSAGE to a local user is relayed to
 * every registered contact, or stored by msilo (202 Accepted) when the user is offline or no
 * contact answered (408 / 480); a REGISTER delivers what was stored. INVITEs get BLF
 * (dialoginfo_set). Each step runs only when its module is configured.
 */
export function presenceRoutes(modules: ScriptModules, table: string) {
  const presence = modules.presence;
  const msilo = modules.msilo;
  const registrar = modules.registrar;

  /** Stores the MESSAGE and answers 202 Accepted (503 when it cannot be stored). */
  async function storeOffline(req: RequestContext): Promise<void> {
    const rc = await msilo!.store(req);
    if (rc > 0) req.reply(202, "Accepted");
    else if (rc === -2) req.reply(486, "Mailbox Full");
    else req.reply(503, "Service Unavailable");
  }

  return {
    presence,
    msilo,

    /** PRESENCE: true when the request was handled here (replied). */
    handle(req: RequestContext): boolean | Promise<void> {
      if (!presence || (req.method !== "PUBLISH" && req.method !== "SUBSCRIBE")) return false;
      if (!req.isMyself()) return false;
      if (req.method === "PUBLISH") return presence.handlePublish(req).then(() => undefined);
      presence.handleSubscribe(req);
      return true;
    },

    /** WITHINDLG without a Route to us: a SUBSCRIBE refresh / un-subscribe of our presence server. */
    inDialog(req: RequestContext): boolean {
      if (!presence || req.method !== "SUBSCRIBE" || !req.isMyself()) return false;
      presence.handleSubscribe(req);
      return true;
    },

    /** BLF for an initial INVITE of / to a local user. */
    markCall(req: RequestContext): void {
      if (presence && req.method === "INVITE") presence.dialoginfoSet(req);
    },

    /** LOCATION for a MESSAGE with msilo: every registered contact (parallel), else stored. */
    message(req: RequestContext): void | Promise<void> {
      if (!msilo || !registrar || req.method !== "MESSAGE") return undefined;
      if (registrar.lookup(req, table) < 0) return storeOffline(req);
      req.onFailure("MSILO_FAILURE");
      if (!req.relay()) req.replyError();
    },

    /** failure_route of a relayed MESSAGE: nobody took it (408 / 480): store it. */
    failure(f: FailureContext): void | Promise<void> {
      if (!msilo || !(f.checkStatus("408|480") || (f.branchTimeout() && !f.branchReplied()))) return;
      return storeOffline(f);
    },

    /** After a successful REGISTER: deliver the user's stored messages (m_dump). */
    registered(req: RequestContext): void {
      if (msilo) void msilo.dump(req);
    },
  };
}
