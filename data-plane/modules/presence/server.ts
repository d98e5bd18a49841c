import type { EventBus, Logger, SipUac, StatGroup } from "../../core/api.js";
import type { PresenceDbStore } from "./db-store.js";
import type { PresenceFleet } from "./fleet.js";
import { notifyBody, watcherInfoBody, PACKAGES } from "./packages.js";
import type { PresenceParams } from "./params.js";
import { SubsStatus, presKey, presentityUri, watcherKey, type Presentity, type Watcher, type WatcherAuth } from "./types.js";

/** Renders a NOTIFY body for one watcher at send time (its version is already counted). */
export type BodyBuilder = (w: Watcher) => string | null;

/** What the server needs of the `reg` package's source (reginfo.ts). */
export interface RegInfoHook {
  watch(uri: string): void;
  unwatch(uri: string): void;
  body(w: Watcher): string;
}

/** Unix seconds now. */
export const nowS = (): number => Math.floor(Date.now() / 1000);

export interface PresenceDeps {
  readonly params: PresenceParams;
  readonly sip: SipUac;
  readonly log: Logger;
  readonly events: EventBus;
  readonly stats: StatGroup;
  readonly db: PresenceDbStore | null;
}

/**
 * The presence server's state and its notifier (Kamailio presence's hash tables `pres_htable`
 * and `subs_htable` plus notify.c): publications by presentity and event, subscription dialogs,
 * authorisation decisions; NOTIFYs Olelo sends itself through the core's UAC, in the
 * subscription dialog (RFC 6665 §4.2.2: Call-ID, tags, route set, increasing CSeq).
 */
export class PresenceServer {
  /** presKey → etag → publication. */
  readonly pubs = new Map<string, Map<string, Presentity>>();
  /** watcherKey → subscription dialog (the ones this node holds). */
  readonly watchers = new Map<string, Watcher>();
  /** presKey → its subscription dialogs. */
  readonly byPres = new Map<string, Set<Watcher>>();
  /** `uri|watcher|event` → decision. */
  readonly auths = new Map<string, WatcherAuth>();
  fleet: PresenceFleet | null = null;
  /** The `reg` package's state source (usrloc configured), else null: `reg` gets 489. */
  regInfo: RegInfoHook | null = null;
  private inflight = 0;
  private readonly queue: Array<() => void> = [];
  private queueHead = 0;
  private readonly allow: Set<string>;
  private closed = false;

  constructor(readonly d: PresenceDeps) {
    this.allow = new Set(
      d.params.allow_list
        .split(",")
        .map((s) => s.trim().toLowerCase().replace(/^sips?:/, ""))
        .filter((s) => s !== ""),
    );
  }

  /** The live publications of a presentity for an event. */
  publicationsOf(uri: string, event: string): Presentity[] {
    const m = this.pubs.get(presKey(uri, event));
    if (!m) return [];
    const now = nowS();
    return [...m.values()].filter((p) => p.expires > now);
  }

  /** Stores a publication in the cache (replacing `oldEtag`). */
  putPublication(p: Presentity, oldEtag: string | null): void {
    const k = presKey(presentityUri(p.username, p.domain), p.event);
    let m = this.pubs.get(k);
    if (!m) this.pubs.set(k, (m = new Map()));
    if (oldEtag !== null) m.delete(oldEtag);
    m.set(p.etag, p);
  }

  dropPublication(p: Presentity): void {
    const k = presKey(presentityUri(p.username, p.domain), p.event);
    const m = this.pubs.get(k);
    if (!m) return;
    m.delete(p.etag);
    if (m.size === 0) this.pubs.delete(k);
  }

  /** Replaces the cached publications of one presentity/event (after a change on another node). */
  replacePublications(uri: string, event: string, list: readonly Presentity[]): void {
    const k = presKey(uri, event);
    if (list.length === 0) this.pubs.delete(k);
    else this.pubs.set(k, new Map(list.map((p) => [p.etag, p])));
  }

  /** Whether `watcher` (user@domain) may watch `uri` (the README's policy). */
  authorize(watcherUser: string, watcherDomain: string, presUser: string, presDomain: string): boolean {
    const p = this.d.params.watcher_policy;
    if (p === "all") return true;
    if (watcherDomain.toLowerCase() === presDomain.toLowerCase()) return true;
    if (p !== "allow_list") return false;
    return this.allow.has(`${watcherUser}@${watcherDomain}`.toLowerCase()) || this.allow.has(`@${watcherDomain.toLowerCase()}`);
  }

  recordAuth(a: WatcherAuth): void {
    const k = `${a.presentityUri}|${a.watcherUsername}@${a.watcherDomain}|${a.event}`;
    const had = this.auths.get(k);
    if (had && had.status === a.status) return;
    this.auths.set(k, a);
    this.d.db?.saveAuth(a);
  }

  addWatcher(w: Watcher): void {
    this.watchers.set(watcherKey(w.callId, w.toTag, w.fromTag), w);
    const k = presKey(w.presentityUri, w.event);
    let s = this.byPres.get(k);
    if (!s) this.byPres.set(k, (s = new Set()));
    s.add(w);
    if (w.event === "reg") this.regInfo?.watch(w.presentityUri);
    this.d.db?.saveWatcher(w);
  }

  findWatcher(callId: string, toTag: string, fromTag: string): Watcher | undefined {
    return this.watchers.get(watcherKey(callId, toTag, fromTag));
  }

  removeWatcher(w: Watcher): void {
    if (!this.watchers.delete(watcherKey(w.callId, w.toTag, w.fromTag))) return;
    const k = presKey(w.presentityUri, w.event);
    const s = this.byPres.get(k);
    s?.delete(w);
    if (s && s.size === 0) {
      this.byPres.delete(k);
      if (w.event === "reg") this.regInfo?.unwatch(w.presentityUri);
    }
    this.d.db?.deleteWatcher(w);
  }

  /** The subscription dialogs this node holds for a presentity and event. */
  watchersOf(uri: string, event: string): Watcher[] {
    return [...(this.byPres.get(presKey(uri, event)) ?? [])];
  }

  /**
   * A presentity's state changed for `event`: NOTIFY every watcher this node holds (Kamailio
   * publ_notify), publish `presence.changed`, and tell the fleet unless the change came from it.
   */
  changed(uri: string, event: string, fromFleet: boolean): void {
    for (const w of this.watchersOf(uri, event)) if (w.status === SubsStatus.ACTIVE) void this.notify(w, null);
    this.d.events.publish("presence.changed", { presentity: uri, event, publications: this.publicationsOf(uri, event).length, remote: fromFleet });
    if (!fromFleet) this.fleet?.announce(uri, event);
  }

  /**
   * A state this server does not store changed (the `reg` package): NOTIFY the watchers this node
   * holds with the body `build` renders for each, and publish `presence.changed`.
   */
  changedWith(uri: string, event: string, build: BodyBuilder): void {
    for (const w of this.watchersOf(uri, event)) if (w.status === SubsStatus.ACTIVE) void this.notify(w, null, build);
    this.d.events.publish("presence.changed", { presentity: uri, event, publications: 0, remote: false });
  }

  /** The watcher list of a presentity changed: NOTIFY its presence.winfo subscribers (RFC 3857). */
  watchersChanged(uri: string, event: string): void {
    if (event === "presence.winfo") return;
    for (const w of this.watchersOf(uri, "presence.winfo")) if (w.status === SubsStatus.ACTIVE) void this.notify(w, null);
  }

  /**
   * Sends a NOTIFY in the subscription dialog: `reason` null = active (state and expires), else
   * the final NOTIFY `terminated;reason=<reason>` (RFC 6665 §4.2.2). Resolves with the reply code;
   * a 481 or 408 ends the subscription (Kamailio deletes the watcher on these).
   */
  notify(w: Watcher, reason: string | null, build?: BodyBuilder): Promise<number> {
    if (this.closed) return Promise.resolve(0);
    if (this.inflight < this.d.params.notify_window) return this.send(w, reason, build);
    // a burst (a PUBLISH to a presentity with many watchers, a fleet-wide change): a bounded
    // window of NOTIFYs in flight, the rest queued in order (a watcher's NOTIFYs stay in CSeq order)
    return new Promise((resolve) => this.queue.push(() => this.send(w, reason, build).then(resolve)));
  }

  /** NOTIFYs waiting for the send window. */
  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  private async send(w: Watcher, reason: string | null, build?: BodyBuilder): Promise<number> {
    this.inflight++;
    try {
      return await this.sendNow(w, reason, build);
    } finally {
      this.inflight--;
      if (this.queueHead < this.queue.length) {
        const next = this.queue[this.queueHead]!;
        this.queue[this.queueHead++] = undefined as unknown as () => void;
        if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
          this.queue.splice(0, this.queueHead);
          this.queueHead = 0;
        }
        next();
      }
    }
  }

  private async sendNow(w: Watcher, reason: string | null, build?: BodyBuilder): Promise<number> {
    if (this.closed) return 0;
    const now = nowS();
    w.localCseq++;
    w.version++;
    w.updated = now;
    const state =
      reason !== null ? `terminated;reason=${reason}` : `${w.status === SubsStatus.PENDING ? "pending" : "active"};expires=${Math.max(0, w.expires - now)}`;
    let body: string | null;
    if (build) body = build(w);
    else if (w.event === "reg") body = this.regInfo?.body(w) ?? null;
    else if (w.event === "presence.winfo") body = watcherInfoBody(w.presentityUri, "presence", await this.allWatchersOf(w.presentityUri, "presence"), w.version - 1);
    else body = notifyBody(w, this.publicationsOf(w.presentityUri, w.event));
    const headers: Record<string, string> = {
      Event: w.eventId ? `${w.event};id=${w.eventId}` : w.event,
      "Subscription-State": state,
      Contact: `<${w.localContact}>`,
    };
    if (body !== null) headers["Content-Type"] = PACKAGES.get(w.event)?.contentType ?? "text/plain";
    const routes = w.recordRoute ? splitRoutes(w.recordRoute) : [];
    const dest = routes.length > 0 ? routeUri(routes[0]!) : undefined;
    this.d.stats.inc("notify_sent");
    if (reason === null && this.d.db) this.d.db.saveWatcher(w);
    const r = await this.d.sip.request({
      method: "NOTIFY",
      uri: w.contact,
      ...(dest ? { destination: dest } : {}),
      from: w.presentityUri,
      fromTag: w.toTag,
      to: `sip:${w.fromUser}@${w.fromDomain}`,
      toTag: w.fromTag,
      callId: w.callId,
      cseq: w.localCseq,
      routes,
      headers,
      ...(body !== null ? { body } : {}),
      socket: w.socketInfo,
      timeoutMs: this.d.params.notify_timeout,
    });
    if (r.code >= 300) this.d.stats.inc("notify_failed");
    if ((r.code === 481 || r.code === 408) && reason === null) {
      this.d.log.info("presence: subscription ended by the NOTIFY reply", { callId: w.callId, code: r.code });
      this.removeWatcher(w);
      this.watchersChanged(w.presentityUri, w.event);
    }
    return r.code;
  }

  /** Every subscription to a presentity (the whole fleet's when a database is shared). */
  private async allWatchersOf(uri: string, event: string): Promise<Watcher[]> {
    if (!this.d.db) return this.watchersOf(uri, event);
    try {
      return await this.d.db.watchersOf(uri, event, nowS());
    } catch {
      return this.watchersOf(uri, event);
    }
  }

  /** Expiry sweep: publications past their expiry (NOTIFY the new state), subscriptions (final NOTIFY). */
  sweep(): void {
    const now = nowS();
    // subscriptions first: an expired one gets its final NOTIFY only, never a state update
    for (const w of [...this.watchers.values()]) {
      if (w.expires > now) continue;
      this.removeWatcher(w);
      this.d.stats.inc("subscriptions_expired");
      void this.notify(w, "timeout");
      this.watchersChanged(w.presentityUri, w.event);
    }
    const changed = new Set<string>();
    for (const [k, m] of this.pubs) {
      for (const p of m.values()) {
        if (p.expires > now) continue;
        m.delete(p.etag);
        changed.add(k);
        this.d.stats.inc("publications_expired");
      }
      if (m.size === 0) this.pubs.delete(k);
    }
    for (const k of changed) {
      const [event, uri] = k.split("\u0000") as [string, string];
      for (const w of this.watchersOf(uri, event)) if (w.status === SubsStatus.ACTIVE) void this.notify(w, null);
      this.d.events.publish("presence.changed", { presentity: uri, event, publications: this.publicationsOf(uri, event).length, expired: true });
    }
    if (this.d.db) this.d.db.deleteExpired(now).catch(() => undefined);
  }

  close(): void {
    this.closed = true;
  }
}

/** Route set entries of a stored record_route value (`<a>,<b>`). */
export function splitRoutes(v: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  let quoted = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '"' && v[i - 1] !== "\\") quoted = !quoted;
    else if (quoted) continue;
    else if (c === "<") depth++;
    else if (c === ">") depth--;
    else if (c === "," && depth === 0) {
      out.push(v.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = v.slice(start).trim();
  if (last) out.push(last);
  return out;
}

function routeUri(r: string): string {
  const lt = r.indexOf("<");
  const gt = r.indexOf(">");
  return lt >= 0 && gt > lt ? r.slice(lt + 1, gt) : r;
}
