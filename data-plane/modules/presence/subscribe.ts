import { randomBytes } from "node:crypto";
import type { RequestContext } from "../../core/api.js";
import { ALLOW_EVENTS, ALLOW_EVENTS_NO_REG, PACKAGES, eventName } from "./packages.js";
import { acceptedExpires } from "./publish.js";
import { nowS, type PresenceServer } from "./server.js";
import { SubsStatus, presentityUri, type Watcher } from "./types.js";

/** The Contact of the presence server: `server_address`, else the socket the request came in on. */
function localContact(srv: PresenceServer, req: RequestContext): string {
  if (srv.d.params.server_address) return srv.d.params.server_address;
  const [proto, ...rest] = req.localSocket.split(":");
  const port = rest.pop();
  let host = rest.join(":");
  if (host.includes(":")) host = `[${host}]`;
  return `sip:${host}:${port}${proto && proto !== "udp" ? `;transport=${proto}` : ""}`;
}

/**
 * [handle_subscribe] The presence server's SUBSCRIBE (RFC 6665 §4.2.1): an initial SUBSCRIBE
 * (no To-tag) to a presentity of a local domain creates a subscription dialog — 200 OK with our
 * To-tag, Contact, Expires and the request's Record-Route — after the watcher policy allowed it
 * (403 otherwise); a SUBSCRIBE in the dialog refreshes it; Expires: 0 ends it. Each accepted
 * SUBSCRIBE is followed by a NOTIFY with the current state (`terminated;reason=timeout` for the
 * un-subscribe). Replies itself (489 unknown event, 423, 400, 481 no such dialog). Returns 1 when
 * the subscription was created or updated, -1 when refused, -2 for an unknown dialog.
 */
export function handleSubscribe(srv: PresenceServer, req: RequestContext): number {
  const p = srv.d.params;
  const ev = req.msg.header("event");
  const parsed = ev === null ? null : eventName(ev);
  const pkg = parsed ? PACKAGES.get(parsed.name) : undefined;
  if (!pkg || !parsed || (pkg.name === "reg" && !srv.regInfo)) {
    req.reply(489, "Bad Event", { headers: [["Allow-Events", srv.regInfo ? ALLOW_EVENTS : ALLOW_EVENTS_NO_REG]] });
    return -1;
  }
  const expires = acceptedExpires(req, p);
  if (expires === null) return -1;
  const msg = req.msg;
  let fromUser: string;
  let fromDomain: string;
  let toUser: string;
  let toDomain: string;
  let contact: string;
  try {
    fromUser = msg.from.uri?.user ?? "";
    fromDomain = msg.from.uri?.host ?? "";
    toUser = msg.to.uri?.user ?? "";
    toDomain = msg.to.uri?.host ?? "";
    const cs = msg.contacts();
    contact = cs === "*" ? "" : (cs[0]?.uriText ?? "");
  } catch {
    req.reply(400, "Bad Request");
    return -1;
  }
  const fromTag = msg.fromTag;
  if (!fromTag || contact === "") {
    req.reply(400, fromTag ? "Missing Contact" : "Missing From-tag");
    return -1;
  }
  const now = nowS();
  const cseq = msg.cseq.seq;
  if (msg.toTag !== null) {
    // in-dialog: refresh or un-subscribe
    const w = srv.findWatcher(msg.callId, msg.toTag, fromTag);
    if (!w) {
      req.reply(481, "Subscription does not exist");
      return -2;
    }
    if (cseq <= w.remoteCseq) {
      req.reply(500, "Server Internal Error", { headers: [["Retry-After", "1"]] });
      return -1;
    }
    w.remoteCseq = cseq;
    w.contact = contact;
    w.expires = now + expires;
    w.updated = now;
    req.reply(200, "OK", { headers: [["Contact", `<${w.localContact}>`], ["Expires", String(expires)]] });
    if (expires === 0) {
      srv.removeWatcher(w);
      srv.d.stats.inc("subscriptions_ended");
      void srv.notify(w, "timeout");
      srv.watchersChanged(w.presentityUri, w.event);
    } else {
      srv.d.db?.saveWatcher(w);
      srv.d.stats.inc("subscriptions_refreshed");
      void srv.notify(w, null);
    }
    return 1;
  }
  const ruri = req.ruriParsed;
  const presUser = ruri?.user ?? toUser;
  const presDomain = ruri?.host ?? toDomain;
  if (!presUser || !presDomain) {
    req.reply(400, "Bad Request-URI");
    return -1;
  }
  const pres = presentityUri(presUser, presDomain);
  // presence.winfo: only the presentity itself may see who watches it (RFC 3857 §5.1.4)
  const allowed =
    pkg.name === "presence.winfo"
      ? fromUser === presUser && fromDomain.toLowerCase() === presDomain.toLowerCase()
      : srv.authorize(fromUser, fromDomain, presUser, presDomain);
  if (!allowed) {
    srv.d.stats.inc("subscriptions_rejected");
    srv.recordAuth({ presentityUri: pres, watcherUsername: fromUser, watcherDomain: fromDomain, event: pkg.name, status: SubsStatus.TERMINATED, reason: "rejected", insertedTime: now });
    req.reply(403, "Forbidden");
    return -1;
  }
  const rr = msg.headerAll("record-route");
  const w: Watcher = {
    presentityUri: pres,
    watcherUsername: fromUser,
    watcherDomain: fromDomain,
    toUser,
    toDomain,
    event: pkg.name,
    eventId: parsed.id,
    toTag: `pr-${randomBytes(8).toString("hex")}`,
    fromTag,
    callId: msg.callId,
    localCseq: 0,
    remoteCseq: cseq,
    contact,
    recordRoute: rr.length > 0 ? rr.join(",") : null,
    expires: now + expires,
    status: SubsStatus.ACTIVE,
    reason: null,
    version: 0,
    socketInfo: req.localSocket,
    localContact: localContact(srv, req),
    fromUser,
    fromDomain,
    updated: now,
    updatedWinfo: now,
    flags: 0,
    userAgent: msg.header("user-agent") ?? "",
  };
  const headers: Array<[string, string]> = [["Contact", `<${w.localContact}>`], ["Expires", String(expires)]];
  for (const r of rr) headers.push(["Record-Route", r]);
  req.reply(200, "OK", { headers, toTag: w.toTag });
  srv.recordAuth({ presentityUri: pres, watcherUsername: fromUser, watcherDomain: fromDomain, event: pkg.name, status: SubsStatus.ACTIVE, reason: null, insertedTime: now });
  if (expires === 0) {
    // a fetch (RFC 6665 §4.4.3): one NOTIFY with the state, no subscription kept
    srv.d.stats.inc("subscriptions_fetched");
    void srv.notify(w, "timeout");
    return 1;
  }
  srv.addWatcher(w);
  srv.d.stats.inc("subscriptions_new");
  void srv.notify(w, null);
  srv.watchersChanged(pres, pkg.name);
  return 1;
}
