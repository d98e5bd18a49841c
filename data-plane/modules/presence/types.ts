/**
 * The presence server's records: one per row of Kamailio's `presentity`, `active_watchers` and
 * `watchers` tables (presence-create.sql: v5 / v12 / v3), with the same fields in camelCase.
 * Times are Unix seconds, as in the tables.
 */

/** Subscription status (Kamailio's `enum subs_status`: the `status` column). */
export const SubsStatus = { ACTIVE: 1, PENDING: 2, TERMINATED: 3 } as const;
export type SubsStatus = (typeof SubsStatus)[keyof typeof SubsStatus];

/** One publication (a `presentity` row): one publisher's state for one event of one presentity. */
export interface Presentity {
  username: string;
  domain: string;
  event: string;
  etag: string;
  /** Absolute expiry (Unix seconds). */
  expires: number;
  receivedTime: number;
  body: string;
  /** Contact / source of the publisher. */
  sender: string;
  priority: number;
  ruid: string;
}

/** One subscription dialog (an `active_watchers` row). */
export interface Watcher {
  presentityUri: string;
  watcherUsername: string;
  watcherDomain: string;
  toUser: string;
  toDomain: string;
  event: string;
  eventId: string | null;
  /** Local tag (the To-tag of our 2xx). */
  toTag: string;
  fromTag: string;
  callId: string;
  localCseq: number;
  remoteCseq: number;
  /** The watcher's Contact (target of NOTIFYs). */
  contact: string;
  /** Route set (the SUBSCRIBE's Record-Route, in order), comma-separated, or null. */
  recordRoute: string | null;
  /** Absolute expiry (Unix seconds). */
  expires: number;
  status: SubsStatus;
  reason: string | null;
  version: number;
  /** Local socket the SUBSCRIBE arrived on (`proto:ip:port`): the node that owns the dialog. */
  socketInfo: string;
  localContact: string;
  fromUser: string;
  fromDomain: string;
  updated: number;
  updatedWinfo: number;
  flags: number;
  userAgent: string;
}

/** An authorisation decision (a `watchers` row). */
export interface WatcherAuth {
  presentityUri: string;
  watcherUsername: string;
  watcherDomain: string;
  event: string;
  status: SubsStatus;
  reason: string | null;
  insertedTime: number;
}

/** `sip:user@domain` of a presentity. */
export function presentityUri(username: string, domain: string): string {
  return `sip:${username}@${domain}`;
}

/** Key of a presentity's publications for one event in the caches. */
export function presKey(uri: string, event: string): string {
  return `${event}\u0000${uri}`;
}

/** Key of a subscription dialog. */
export function watcherKey(callId: string, toTag: string, fromTag: string): string {
  return `${callId}\u0000${toTag}\u0000${fromTag}`;
}
