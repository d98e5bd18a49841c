import { RpcCode, RpcError, defineRpc, type RpcMethod } from "../../core/api.js";
import { PACKAGES } from "./packages.js";
import { newEtag, publishLocal } from "./publish.js";
import { nowS, type PresenceServer } from "./server.js";
import { presentityUri } from "./types.js";

function parseAor(uri: string): { user: string; domain: string } {
  const m = /^(?:sips?:)?([^@;:>]+)@([^;:>]+)/i.exec(uri.trim());
  if (!m) throw new RpcError(RpcCode.InvalidParams, `bad presentity URI '${uri}'`);
  return { user: m[1]!, domain: m[2]!.toLowerCase() };
}

/**
 * The presence RPCs: presence.presentity_list / presence.watcher_list (listing, Kamailio's
 * presence.presentity_list), presence.refreshWatchers and presence.cleanup (Kamailio's), and the
 * publisher API for other systems: presence.publish (Kamailio pua_rpc's pua.publish) and
 * presence.publish_mwi (a voicemail system's message summary, RFC 3842).
 */
export function presenceRpcMethods(srv: PresenceServer): RpcMethod[] {
  return [
    defineRpc({
      name: "presence.presentity_list",
      doc: "Publications in the cache (one per publisher, presentity and event)",
      params: [{ name: "event", type: "string", optional: true, doc: "only this event package" }],
      returns: "[{presentity, event, etag, expires, received_time, sender, body}]",
      handler: ({ event }) => {
        const out: Array<Record<string, unknown>> = [];
        const now = nowS();
        for (const m of srv.pubs.values()) {
          for (const p of m.values()) {
            if (event && p.event !== event) continue;
            out.push({ presentity: presentityUri(p.username, p.domain), event: p.event, etag: p.etag, expires: p.expires - now, received_time: p.receivedTime, sender: p.sender, body: p.body });
          }
        }
        return out;
      },
    }),
    defineRpc({
      name: "presence.watcher_list",
      doc: "Subscription dialogs this node holds",
      params: [
        { name: "presentity", type: "string", optional: true, doc: "only watchers of this presentity URI" },
        { name: "event", type: "string", optional: true, doc: "only this event package" },
      ],
      returns: "[{presentity, event, watcher, contact, callid, to_tag, from_tag, expires, status, version}]",
      handler: ({ presentity, event }) => {
        const now = nowS();
        const want = presentity ? presentityUri(parseAor(presentity).user, parseAor(presentity).domain) : null;
        return [...srv.watchers.values()]
          .filter((w) => (!want || w.presentityUri === want) && (!event || w.event === event))
          .map((w) => ({
            presentity: w.presentityUri,
            event: w.event,
            watcher: `sip:${w.watcherUsername}@${w.watcherDomain}`,
            contact: w.contact,
            callid: w.callId,
            to_tag: w.toTag,
            from_tag: w.fromTag,
            expires: w.expires - now,
            status: w.status === 1 ? "active" : w.status === 2 ? "pending" : "terminated",
            version: w.version,
            socket: w.socketInfo,
          }));
      },
    }),
    defineRpc({
      name: "presence.refreshWatchers",
      doc: "Sends a NOTIFY with the current state to every watcher of a presentity for an event",
      params: [
        { name: "presentity", type: "string" },
        { name: "event", type: "string" },
      ],
      returns: "{notified}",
      handler: async ({ presentity, event }) => {
        const a = parseAor(String(presentity));
        const list = srv.watchersOf(presentityUri(a.user, a.domain), String(event));
        await Promise.all(list.map((w) => srv.notify(w, null)));
        return { notified: list.length };
      },
    }),
    defineRpc({
      name: "presence.cleanup",
      doc: "Runs the expiry sweep now (expired publications and subscriptions)",
      params: [],
      returns: '"Ok"',
      handler: () => {
        srv.sweep();
        return "Ok";
      },
    }),
    defineRpc({
      name: "presence.publish",
      doc: "Publishes a state for a presentity as Olelo's own publisher (Kamailio pua.publish); NOTIFYs its watchers",
      params: [
        { name: "presentity", type: "string" },
        { name: "event", type: "string" },
        { name: "expires", type: "int" },
        { name: "body", type: "string" },
        { name: "etag", type: "string", optional: true, doc: "replace this earlier publication (default: a new one)" },
      ],
      returns: "{etag}",
      handler: async ({ presentity, event, expires, body, etag }) => {
        const a = parseAor(String(presentity));
        const pkg = PACKAGES.get(String(event));
        if (!pkg || !pkg.publishable) throw new RpcError(RpcCode.InvalidParams, `unknown event package '${String(event)}'`);
        const exp = Number(expires);
        if (!Number.isInteger(exp) || exp < 0 || exp > srv.d.params.max_expires) throw new RpcError(RpcCode.InvalidParams, `expires must be 0..${srv.d.params.max_expires}`);
        const tag = await publishLocal(srv, { user: a.user, domain: a.domain, event: pkg.name, body: String(body), expires: exp, etag: etag ? String(etag) : newEtag(), sender: "rpc" });
        return { etag: tag };
      },
    }),
    defineRpc({
      name: "presence.publish_mwi",
      doc: "Publishes a message summary (RFC 3842) for a mailbox: NOTIFYs its message-summary watchers",
      params: [
        { name: "presentity", type: "string" },
        { name: "new", type: "int" },
        { name: "old", type: "int", optional: true },
        { name: "account", type: "string", optional: true, doc: "Message-Account URI (default the presentity)" },
      ],
      returns: "{etag}",
      handler: async (p) => {
        const a = parseAor(String(p.presentity));
        const fresh = Number(p.new);
        const old = Number(p.old ?? 0);
        if (!Number.isInteger(fresh) || fresh < 0 || !Number.isInteger(old) || old < 0) throw new RpcError(RpcCode.InvalidParams, "message counts must be integers >= 0");
        const uri = presentityUri(a.user, a.domain);
        const body = `Messages-Waiting: ${fresh > 0 ? "yes" : "no"}\r\nMessage-Account: ${p.account ? String(p.account) : uri}\r\nVoice-Message: ${fresh}/${old}\r\n`;
        // one mailbox = one publisher: the etag is derived from the presentity, so a new count replaces the old
        const tag = await publishLocal(srv, { user: a.user, domain: a.domain, event: "message-summary", body, expires: srv.d.params.max_expires, etag: `mwi-${a.user}@${a.domain}`, sender: "rpc" });
        return { etag: tag };
      },
    }),
  ];
}
