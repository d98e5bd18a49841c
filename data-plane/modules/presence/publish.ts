import { randomBytes } from "node:crypto";
import type { RequestContext } from "../../core/api.js";
import { ALLOW_EVENTS, PACKAGES, eventName } from "./packages.js";
import { nowS, type PresenceServer } from "./server.js";
import { presentityUri, type Presentity } from "./types.js";

/** A fresh entity tag (RFC 3903 §4.1: unique per publication). */
export function newEtag(): string {
  return `a.${Date.now().toString(36)}.${randomBytes(6).toString("hex")}`;
}

/** Expires of a PUBLISH / SUBSCRIBE: the header, else the default, lowered to max_expires. Null when malformed. */
export function requestedExpires(req: RequestContext, dflt: number, max: number): number | null {
  const h = req.msg.header("expires");
  if (h === null) return Math.min(dflt, max);
  const t = h.trim();
  if (!/^\d{1,10}$/.test(t)) return null;
  return Math.min(Number(t), max);
}

/**
 * The Expires a PUBLISH / SUBSCRIBE asks for (`requestedExpires`), or null once it replied 400 (malformed)
 * or 423 with Min-Expires (RFC 3903 §6, RFC 6665 §4.2.1.1: shorter than min_expires, 0 excepted).
 */
export function acceptedExpires(req: RequestContext, p: { default_expires: number; max_expires: number; min_expires: number }): number | null {
  const expires = requestedExpires(req, p.default_expires, p.max_expires);
  if (expires === null) {
    req.reply(400, "Bad Expires");
    return null;
  }
  if (expires > 0 && expires < p.min_expires) {
    req.reply(423, "Interval Too Brief", { headers: [["Min-Expires", String(p.min_expires)]] });
    return null;
  }
  return expires;
}

/**
 * [handle_publish] The presence server's PUBLISH (RFC 3903 §6): the R-URI names the presentity;
 * without SIP-If-Match a body creates a publication with a new SIP-ETag; with it the publication
 * is refreshed (no body), modified (body) or removed (Expires: 0), and an unknown tag gets 412.
 * Replies itself: 200 with SIP-ETag and Expires, 400 / 412 / 415 / 423 / 489. Returns 1 when
 * the publication was applied, -1 when the request was refused (the reply is sent either way).
 * With a database the row is written before the 200 (a fleet node reloading it finds it).
 */
export async function handlePublish(srv: PresenceServer, req: RequestContext): Promise<number> {
  const p = srv.d.params;
  const ev = req.msg.header("event");
  const pkg = ev === null ? undefined : PACKAGES.get(eventName(ev).name);
  if (!pkg || !pkg.publishable) {
    req.reply(489, "Bad Event", { headers: [["Allow-Events", ALLOW_EVENTS]] });
    return -1;
  }
  const uri = req.ruriParsed;
  if (!uri || uri.user === null || uri.host === "") {
    req.reply(400, "Bad Request-URI");
    return -1;
  }
  const expires = acceptedExpires(req, p);
  if (expires === null) return -1;
  const body = req.msg.body;
  const ctype = req.msg.contentType?.split(";")[0]!.trim().toLowerCase() ?? null;
  if (body.length > 0 && ctype !== pkg.contentType) {
    req.reply(415, "Unsupported Media Type", { headers: [["Accept", pkg.contentType]] });
    return -1;
  }
  const user = uri.user;
  const domain = uri.host;
  const pres = presentityUri(user, domain);
  const ifMatch = req.msg.header("sip-if-match")?.trim() ?? null;
  const now = nowS();
  let old: Presentity | undefined;
  if (ifMatch !== null) {
    old = srv.publicationsOf(pres, pkg.name).find((x) => x.etag === ifMatch);
    if (!old) {
      srv.d.stats.inc("publish_412");
      req.reply(412, "Conditional Request Failed");
      return -1;
    }
  } else if (body.length === 0) {
    req.reply(400, "Missing Body");
    return -1;
  }
  let sender = "";
  try {
    sender = req.msg.contacts() === "*" ? "" : ((req.msg.contacts() as readonly { uriText: string }[])[0]?.uriText ?? "");
  } catch {
    sender = "";
  }
  if (expires === 0) {
    // removal (RFC 3903 §4.5): only an existing publication can be removed
    if (!old) {
      req.reply(400, "Missing SIP-If-Match");
      return -1;
    }
    srv.dropPublication(old);
    try {
      await srv.d.db?.deletePresentity(old);
    } catch (e) {
      srv.d.log.warn("presence: cannot delete a presentity row", { error: String(e) });
    }
    req.reply(200, "OK", { headers: [["SIP-ETag", old.etag], ["Expires", "0"]] });
    srv.d.stats.inc("publications_removed");
    srv.changed(pres, pkg.name, false);
    return 1;
  }
  const next: Presentity = {
    username: user,
    domain,
    event: pkg.name,
    etag: newEtag(),
    expires: now + expires,
    receivedTime: now,
    body: body.length > 0 ? body : old!.body,
    sender: sender || old?.sender || `${req.source.proto}:${req.source.address}:${req.source.port}`,
    priority: old?.priority ?? 0,
    ruid: old?.ruid ?? newEtag(),
  };
  try {
    await srv.d.db?.savePresentity(next, old?.etag ?? null);
  } catch (e) {
    srv.d.log.warn("presence: cannot write a presentity row", { error: String(e) });
    req.reply(500, "Server Internal Error");
    return -1;
  }
  srv.putPublication(next, old?.etag ?? null);
  req.reply(200, "OK", { headers: [["SIP-ETag", next.etag], ["Expires", String(expires)]] });
  srv.d.stats.inc(old ? (body.length > 0 ? "publications_modified" : "publications_refreshed") : "publications_new");
  // a refresh without a new body changes nothing a watcher sees (RFC 3903 §4.3)
  if (body.length > 0) srv.changed(pres, pkg.name, false);
  return 1;
}

/**
 * A publication made by Olelo itself (a voicemail system's MWI through `presence.publish`, the
 * BLF state of a call): replaces this publisher's previous one (`etag` chosen by the caller) and
 * NOTIFYs the watchers. Resolves with the publication's etag.
 */
export async function publishLocal(
  srv: PresenceServer,
  o: { user: string; domain: string; event: string; body: string; expires: number; etag: string; sender: string },
): Promise<string> {
  const pres = presentityUri(o.user, o.domain);
  const old = srv.publicationsOf(pres, o.event).find((x) => x.etag === o.etag);
  const now = nowS();
  if (o.expires === 0) {
    if (old) {
      srv.dropPublication(old);
      await srv.d.db?.deletePresentity(old);
      srv.changed(pres, o.event, false);
    }
    return o.etag;
  }
  const next: Presentity = {
    username: o.user,
    domain: o.domain,
    event: o.event,
    etag: o.etag,
    expires: now + o.expires,
    receivedTime: now,
    body: o.body,
    sender: o.sender,
    priority: 0,
    ruid: old?.ruid ?? newEtag(),
  };
  await srv.d.db?.savePresentity(next, old ? old.etag : null);
  srv.putPublication(next, null);
  srv.d.stats.inc(old ? "publications_modified" : "publications_new");
  srv.changed(pres, o.event, false);
  return o.etag;
}
