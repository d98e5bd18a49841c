import { defineModule, type RequestContext } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import { PresenceDbStore } from "./db-store.js";
import { DialogInfoPublisher } from "./dialoginfo.js";
import { PresenceFleet } from "./fleet.js";
import { presenceParams, type PresenceParams } from "./params.js";
import { handlePublish, newEtag, publishLocal } from "./publish.js";
import { RegInfoSource } from "./reginfo.js";
import { presenceRpcMethods } from "./rpc.js";
import { PresenceServer, nowS } from "./server.js";
import { handleSubscribe } from "./subscribe.js";
import { presentityUri } from "./types.js";
import type { UsrlocApi } from "../usrloc/api.js";

export type { PresenceParams } from "./params.js";
export type { Presentity, Watcher, WatcherAuth } from "./types.js";

/**
 * The presence server's script API (Kamailio presence + presence_xml / presence_mwi /
 * presence_dialoginfo + pua_dialoginfo).
 *
 * @example
 *   // PRESENCE route of the default script (Kamailio WITH_PRESENCE)
 *   if (req.method === "PUBLISH") return presence.handlePublish(req).then(() => undefined);
 *   if (req.method === "SUBSCRIBE") { presence.handleSubscribe(req); return; }
 *   // on an INVITE to / from a local user: BLF for its watchers
 *   presence.dialoginfoSet(req);
 */
export interface PresenceApi {
  readonly params: PresenceParams;
  /** [handle_publish] replies itself; 1 applied, -1 refused. */
  handlePublish(req: RequestContext): Promise<number>;
  /** [handle_subscribe] replies itself and sends the NOTIFY; 1 created/updated, -1 refused, -2 no such subscription. */
  handleSubscribe(req: RequestContext): number;
  /** [dialoginfo_set] BLF for this INVITE's local caller / callee; 1 marked, -1 not applicable. */
  dialoginfoSet(req: RequestContext): number;
  /** Publishes a state as Olelo's own publisher (what presence.publish does); resolves with the etag. */
  publish(o: { presentity: string; event: string; body: string; expires: number; etag?: string }): Promise<string>;
  /** [pres_has_subscribers] whether this node holds a watcher of the presentity for the event. */
  hasSubscribers(uri: string, event: string): boolean;
  /** The server (tests, benchmarks). */
  readonly server: PresenceServer;
  /** Resolves when the queued database writes are done. */
  flush(): Promise<void>;
}

const instances = new LiveInstances<PresenceApi>();

const COUNTERS = [
  "publications_new",
  "publications_modified",
  "publications_refreshed",
  "publications_removed",
  "publications_expired",
  "publish_412",
  "subscriptions_new",
  "subscriptions_refreshed",
  "subscriptions_ended",
  "subscriptions_expired",
  "subscriptions_rejected",
  "subscriptions_fetched",
  "notify_sent",
  "notify_failed",
  "fleet_received",
];

/** presence: PUBLISH / SUBSCRIBE / NOTIFY presence server in Kamailio's tables, shared by a fleet. */
export default defineModule<PresenceApi, PresenceParams>({
  name: "presence",
  doc: "Presence server: PUBLISH, SUBSCRIBE, NOTIFY for presence, message-summary, dialog, presence.winfo and reg (Kamailio presence)",
  params: presenceParams,
  optional: ["usrloc"],
  rpc: ["presence.presentity_list", "presence.watcher_list", "presence.refreshWatchers", "presence.cleanup", "presence.publish", "presence.publish_mwi"],
  stats: { group: "presence", counters: [...COUNTERS, "presentities", "active_watchers", "notify_queued"] },
  async init(host) {
    const p = host.config;
    if (p.redis_url && !p.db_url) throw new Error("presence: parameter 'redis_url' needs 'db_url' (the fleet shares the presence tables in MySQL)");
    const stats = host.stats.group("presence", COUNTERS);
    const db = p.db_url ? new PresenceDbStore(p.db_url, host.log) : null;
    const srv = new PresenceServer({ params: p, sip: host.sip, log: host.log, events: host.events, stats, db });
    stats.gauge("presentities", () => srv.pubs.size);
    stats.gauge("active_watchers", () => srv.watchers.size);
    stats.gauge("notify_queued", () => srv.queued);
    if (db) {
      try {
        for (const pub of await db.loadPresentities(nowS())) srv.putPublication(pub, null);
      } catch (e) {
        await db.close();
        throw new Error(`presence: cannot load the presentity table: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (p.redis_url && db) {
      srv.fleet = await PresenceFleet.connect(p.redis_url, p.redis_prefix, host.log, (uri, event) => {
        stats.inc("fleet_received");
        const m = /^sip:([^@]+)@(.+)$/.exec(uri);
        if (!m) return;
        db.loadPresentity(m[1]!, m[2]!, event, nowS()).then(
          (list) => {
            srv.replacePublications(uri, event, list);
            srv.changed(uri, event, true);
          },
          (e: unknown) => host.log.warn("presence: reload after a fleet change failed", { uri, event, error: String(e) }),
        );
      });
    }
    const blf = p.dialoginfo ? new DialogInfoPublisher(srv, host.events) : null;
    const ul = host.modules.usrloc as UsrlocApi | undefined;
    const reg = ul ? new RegInfoSource(srv, ul, p.reg_table) : null;
    srv.regInfo = reg;
    const timer = setInterval(() => srv.sweep(), p.timer_period * 1000);
    timer.unref();
    host.rpc.registerAll(presenceRpcMethods(srv));
    const api: PresenceApi = {
      params: p,
      handlePublish(req) {
        req.observeTransaction({}); // t_newtran: retransmissions are absorbed, the reply is stateful
        return handlePublish(srv, req);
      },
      handleSubscribe(req) {
        req.observeTransaction({});
        return handleSubscribe(srv, req);
      },
      dialoginfoSet: (req) => (blf ? blf.mark(req) : -1),
      async publish(o) {
        const m = /^(?:sips?:)?([^@]+)@(.+)$/.exec(o.presentity);
        if (!m) throw new Error(`presence: bad presentity '${o.presentity}'`);
        return publishLocal(srv, { user: m[1]!, domain: m[2]!, event: o.event, body: o.body, expires: o.expires, etag: o.etag ?? newEtag(), sender: "api" });
      },
      hasSubscribers: (uri, event) => srv.watchersOf(uri.startsWith("sip:") ? uri : presentityUri(uri.split("@")[0]!, uri.split("@")[1] ?? ""), event).length > 0,
      server: srv,
      flush: () => db?.flush() ?? Promise.resolve(),
    };
    instances.add(api, async () => {
      clearInterval(timer);
      blf?.close();
      reg?.close();
      srv.close();
      srv.fleet?.close();
      await db?.close();
    });
    return api;
  },
  destroy(api) {
    return instances.destroy(api);
  },
});
