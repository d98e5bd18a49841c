import mysql from "mysql2/promise";
import type { Logger } from "../../core/api.js";
import type { Presentity, Watcher, WatcherAuth } from "./types.js";

/**
 * Kamailio's presence tables in MySQL/MariaDB (presence db_mode "write-through" with a full
 * in-memory cache): `presentity` v5, `active_watchers` v12, `watchers` v3, created by the control
 * plane's migration 0011. Publications are written before the PUBLISH is answered (so another
 * node that reloads on the fleet notification finds them); subscriptions and authorisation rows
 * are written in order through a queue that never holds up the SIP path.
 *
 * @example
 *   const db = new PresenceDbStore("mysql://root@127.0.0.1/olelo", log);
 *   const pubs = await db.loadPresentities(nowS);
 */
export class PresenceDbStore {
  private readonly pool: mysql.Pool;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  writes = 0;
  errors = 0;

  constructor(
    url: string,
    private readonly log: Logger,
  ) {
    this.pool = mysql.createPool({ uri: url, connectionLimit: 4 });
  }

  /** Every publication that has not expired. */
  async loadPresentities(now: number): Promise<Presentity[]> {
    const [rows] = await this.pool.query("SELECT * FROM presentity WHERE expires > ?", [now]);
    return (rows as Array<Record<string, unknown>>).map(presentityOfRow);
  }

  /** The publications of one presentity for one event (after a change on another node). */
  async loadPresentity(username: string, domain: string, event: string, now: number): Promise<Presentity[]> {
    const [rows] = await this.pool.query("SELECT * FROM presentity WHERE username = ? AND domain = ? AND event = ? AND expires > ?", [username, domain, event, now]);
    return (rows as Array<Record<string, unknown>>).map(presentityOfRow);
  }

  /** Inserts or replaces a publication; `oldEtag` (a modify / refresh) is replaced by the new row. */
  async savePresentity(p: Presentity, oldEtag: string | null): Promise<void> {
    const conn = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      if (oldEtag !== null) await conn.query("DELETE FROM presentity WHERE username = ? AND domain = ? AND event = ? AND etag = ?", [p.username, p.domain, p.event, oldEtag]);
      await conn.query(
        "INSERT INTO presentity (username, domain, event, etag, expires, received_time, body, sender, priority, ruid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) " +
          "ON DUPLICATE KEY UPDATE expires = VALUES(expires), received_time = VALUES(received_time), body = VALUES(body), sender = VALUES(sender), priority = VALUES(priority)",
        [p.username, p.domain, p.event, p.etag, p.expires, p.receivedTime, Buffer.from(p.body, "latin1"), p.sender, p.priority, p.ruid],
      );
      await conn.commit();
      this.writes++;
    } catch (e) {
      await conn.rollback().catch(() => undefined);
      this.errors++;
      throw e;
    } finally {
      conn.release();
    }
  }

  async deletePresentity(p: Presentity): Promise<void> {
    await this.pool.query("DELETE FROM presentity WHERE username = ? AND domain = ? AND event = ? AND etag = ?", [p.username, p.domain, p.event, p.etag]);
    this.writes++;
  }

  /** Removes expired publications (every node runs it; the delete is idempotent). */
  async deleteExpired(now: number): Promise<void> {
    await this.pool.query("DELETE FROM presentity WHERE expires <= ?", [now]);
    await this.pool.query("DELETE FROM active_watchers WHERE expires <= ?", [now]);
  }

  /** The subscriptions this node owns (its sockets), after a restart. */
  async loadWatchers(sockets: readonly string[], now: number): Promise<Watcher[]> {
    if (sockets.length === 0) return [];
    const [rows] = await this.pool.query("SELECT * FROM active_watchers WHERE expires > ? AND socket_info IN (?)", [now, sockets]);
    return (rows as Array<Record<string, unknown>>).map(watcherOfRow);
  }

  /** Every subscription to a presentity for one event, whichever node owns it (presence.winfo). */
  async watchersOf(uri: string, event: string, now: number): Promise<Watcher[]> {
    const [rows] = await this.pool.query("SELECT * FROM active_watchers WHERE presentity_uri = ? AND event = ? AND expires > ?", [uri, event, now]);
    return (rows as Array<Record<string, unknown>>).map(watcherOfRow);
  }

  /** Queues an upsert of a subscription dialog. */
  saveWatcher(w: Watcher): void {
    const row = [
      w.presentityUri, w.watcherUsername, w.watcherDomain, w.toUser, w.toDomain, w.event, w.eventId, w.toTag, w.fromTag, w.callId,
      w.localCseq, w.remoteCseq, w.contact, w.recordRoute, w.expires, w.status, w.reason, w.version, w.socketInfo, w.localContact,
      w.fromUser, w.fromDomain, w.updated, w.updatedWinfo, w.flags, w.userAgent,
    ];
    this.enqueue(() =>
      this.pool.query(
        `INSERT INTO active_watchers (${WATCHER_COLUMNS.join(", ")}) VALUES (${WATCHER_COLUMNS.map(() => "?").join(", ")}) ` +
          "ON DUPLICATE KEY UPDATE local_cseq = VALUES(local_cseq), remote_cseq = VALUES(remote_cseq), contact = VALUES(contact), " +
          "expires = VALUES(expires), status = VALUES(status), reason = VALUES(reason), version = VALUES(version), updated = VALUES(updated)",
        row,
      ),
    );
  }

  deleteWatcher(w: Watcher): void {
    this.enqueue(() => this.pool.query("DELETE FROM active_watchers WHERE callid = ? AND to_tag = ? AND from_tag = ?", [w.callId, w.toTag, w.fromTag]));
  }

  /** Queues an upsert of an authorisation decision (`watchers`). */
  saveAuth(a: WatcherAuth): void {
    this.enqueue(() =>
      this.pool.query(
        "INSERT INTO watchers (presentity_uri, watcher_username, watcher_domain, event, status, reason, inserted_time) VALUES (?, ?, ?, ?, ?, ?, ?) " +
          "ON DUPLICATE KEY UPDATE status = VALUES(status), reason = VALUES(reason)",
        [a.presentityUri, a.watcherUsername, a.watcherDomain, a.event, a.status, a.reason, a.insertedTime],
      ),
    );
  }

  /** Resolves when every queued write is done. */
  flush(): Promise<void> {
    return this.queue;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.pool.end().catch(() => undefined);
  }

  private enqueue(op: () => Promise<unknown>): void {
    if (this.closed) return;
    this.queue = this.queue.then(
      () =>
        op().then(
          () => void this.writes++,
          (e: unknown) => {
            this.errors++;
            this.log.warn("presence: database write failed", { error: e instanceof Error ? e.message : String(e) });
          },
        ),
    );
  }
}

const WATCHER_COLUMNS = [
  "presentity_uri", "watcher_username", "watcher_domain", "to_user", "to_domain", "event", "event_id", "to_tag", "from_tag", "callid",
  "local_cseq", "remote_cseq", "contact", "record_route", "expires", "status", "reason", "version", "socket_info", "local_contact",
  "from_user", "from_domain", "updated", "updated_winfo", "flags", "user_agent",
];

const s = (v: unknown): string => (v === null || v === undefined ? "" : Buffer.isBuffer(v) ? v.toString("latin1") : String(v));
const n = (v: unknown): number => Number(v ?? 0);

function presentityOfRow(r: Record<string, unknown>): Presentity {
  return {
    username: s(r.username),
    domain: s(r.domain),
    event: s(r.event),
    etag: s(r.etag),
    expires: n(r.expires),
    receivedTime: n(r.received_time),
    body: s(r.body),
    sender: s(r.sender),
    priority: n(r.priority),
    ruid: s(r.ruid),
  };
}

function watcherOfRow(r: Record<string, unknown>): Watcher {
  return {
    presentityUri: s(r.presentity_uri),
    watcherUsername: s(r.watcher_username),
    watcherDomain: s(r.watcher_domain),
    toUser: s(r.to_user),
    toDomain: s(r.to_domain),
    event: s(r.event),
    eventId: r.event_id === null || r.event_id === undefined ? null : s(r.event_id),
    toTag: s(r.to_tag),
    fromTag: s(r.from_tag),
    callId: s(r.callid),
    localCseq: n(r.local_cseq),
    remoteCseq: n(r.remote_cseq),
    contact: s(r.contact),
    recordRoute: r.record_route ? s(r.record_route) : null,
    expires: n(r.expires),
    status: n(r.status) as Watcher["status"],
    reason: r.reason ? s(r.reason) : null,
    version: n(r.version),
    socketInfo: s(r.socket_info),
    localContact: s(r.local_contact),
    fromUser: s(r.from_user),
    fromDomain: s(r.from_domain),
    updated: n(r.updated),
    updatedWinfo: n(r.updated_winfo),
    flags: n(r.flags),
    userAgent: s(r.user_agent),
  };
}
