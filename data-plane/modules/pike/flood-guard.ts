import type { EventBus } from "../../core/api.js";
import type { Logger } from "../../core/api.js";
import { canonicalIp, formatIp, maskBytes, parseIpInto } from "../../core/kit/index.js";
import type { PikeDetector } from "./pike-detector.js";

/**
 * Kamailio's ipban pattern as one object: a flooding source is banned for `banSeconds` and its
 * traffic is dropped before parsing more than needed.
 *
 *   REQINIT (kamailio.cfg):  if ($sht(ipban=>$si) != $null) exit;
 *                            if (!pike_check_req()) { $sht(ipban=>$si) = 1; exit; }
 *   Olelo core, per datagram/frame, before parsing:  if (guard.isBanned(srcIp)) drop;
 *   Olelo script (or core, once the source is known): if (guard.check(req.source.address) !== "ok") return;
 *
 * Trusted peers (permissions `isTrusted`) are never counted nor banned.
 */

/** Where bans live: an in-memory map by default, or an htable (Kamailio's `ipban` table). */
export interface BanStore {
  /** O(1): whether `key` is banned now. */
  isBanned(key: string): boolean;
  /** Bans `key` until `untilMs`. */
  ban(key: string, untilMs: number): void;
  unban(key: string): boolean;
  /** Current bans. */
  list(): Array<{ key: string; until: number }>;
  /** Removes expired bans (stores that expire on their own leave it out). */
  sweep?(): number;
}

/** Default BanStore: a Map of ban expiry times, cleaned lazily and by `sweep()`. */
export class MemoryBanStore implements BanStore {
  private readonly bans = new Map<string, number>();
  constructor(private readonly now: () => number = () => Date.now()) {}

  isBanned(key: string): boolean {
    if (this.bans.size === 0) return false;
    const until = this.bans.get(key);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.bans.delete(key);
    return false;
  }
  ban(key: string, untilMs: number): void {
    this.bans.set(key, untilMs);
  }
  unban(key: string): boolean {
    return this.bans.delete(key);
  }
  list(): Array<{ key: string; until: number }> {
    const now = this.now();
    const out: Array<{ key: string; until: number }> = [];
    for (const [key, until] of this.bans) if (until > now) out.push({ key, until });
    return out;
  }
  /** Removes expired bans; returns how many. */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [k, until] of this.bans) {
      if (until <= now) {
        this.bans.delete(k);
        n++;
      }
    }
    return n;
  }
}

/** The slice of an htable table the ban store needs (htable's HashTable fits). */
export interface HtableLike {
  has(key: string): boolean;
  set(key: string, value: string | number, exSec?: number): void;
  delete(key: string): boolean;
  expiresAt(key: string): number | null;
  entries(): Iterable<[string, { expires: number }]>;
}

/**
 * Keeps bans in an htable (e.g. `ipban=>size=8;autoexpire=300`), so `htable.dump ipban` shows them
 * and `htable.delete ipban <ip>` lifts one, as with Kamailio's default cfg.
 */
export function htableBanStore(table: HtableLike, now: () => number = () => Date.now()): BanStore {
  return {
    isBanned: (key) => table.has(key),
    ban: (key, untilMs) => table.set(key, 1, Math.max(1, Math.ceil((untilMs - now()) / 1000))),
    unban: (key) => table.delete(key),
    list: () => [...table.entries()].map(([key, it]) => ({ key, until: it.expires })),
  };
}

/** Shares bans with other nodes (pike's Redis sync): told about local bans and unbans. */
export interface BanSync {
  banned(key: string, untilMs: number, reason: string): void;
  unbanned(key: string): void;
  /** The guard's store was replaced: fill it with the fleet's current bans. */
  storeChanged(): void;
}

/** Outcome of FloodGuard.check: "flood" = banned by this very request. */
export type FloodVerdict = "ok" | "banned" | "flood";

/** FloodGuard settings: the detector, ban time and store, trust test, reporting sinks. */
export interface FloodGuardOptions {
  readonly detector: PikeDetector;
  /** Ban duration in seconds (Kamailio's ipban autoexpire, default cfg 300). */
  readonly banSeconds: number;
  readonly store?: BanStore;
  /** Exempts trusted peers (permissions.isTrusted). */
  readonly isTrusted?: (ip: string) => boolean;
  /** Receives `security.banned` {ip, reason, until}. */
  readonly events?: EventBus;
  readonly log?: Logger;
  /** Receives counters: banned, dropped. */
  readonly stats?: { inc(name: string): void };
  /** Group IPv6 sources by this prefix length (same as pike's ipv6_prefix). */
  readonly ipv6Prefix?: number;
  readonly now?: () => number;
}

const scratch = new Uint8Array(16);

/** A ban list in front of pike; see the file comment for the calling pattern. */
export class FloodGuard {
  private store: BanStore;
  private trusted: ((ip: string) => boolean) | null;
  private readonly now: () => number;
  private readonly prefix: number;
  private sync: BanSync | null = null;

  constructor(private readonly opts: FloodGuardOptions) {
    this.now = opts.now ?? (() => Date.now());
    this.store = opts.store ?? new MemoryBanStore(this.now);
    this.trusted = opts.isTrusted ?? null;
    this.prefix = opts.ipv6Prefix ?? 128;
  }

  /** Replaces the ban store (e.g. with htableBanStore(htable.table("ipban"))). Existing bans stay in the old store. */
  setStore(store: BanStore): void {
    this.store = store;
    this.sync?.storeChanged();
  }

  /** Shares this guard's bans and unbans with the fleet (pike's `redis_url`). */
  setSync(sync: BanSync | null): void {
    this.sync = sync;
  }

  /**
   * A ban (untilMs) or unban (null) another node made: applied to the store without publishing
   * it again. Trusted peers of this node are not banned.
   */
  applyRemote(key: string, untilMs: number | null): void {
    if (untilMs === null) {
      this.store.unban(key);
      return;
    }
    if (untilMs <= this.now()) return;
    if (this.trusted !== null && this.trusted(key)) return;
    this.store.ban(key, untilMs);
  }

  /** Sets the trusted-peer test (e.g. permissions.isTrusted). */
  setTrustCheck(fn: ((ip: string) => boolean) | null): void {
    this.trusted = fn;
  }

  /** The key a source is banned under: canonical address, or `prefix/len` for grouped IPv6. */
  banKey(ip: string): string | null {
    const fam = parseIpInto(ip, scratch);
    if (fam === 0) return null;
    if (fam === 6 && this.prefix < 128) {
      maskBytes(scratch, 6, this.prefix);
      return `${formatIp(6, scratch)}/${this.prefix}`;
    }
    return formatIp(fam, scratch);
  }

  /**
   * Pre-parse check: whether `ip` is banned. One map lookup for IPv4 text as sockets report it;
   * IPv6 text is normalised first. Counts `dropped`.
   */
  isBanned(ip: string): boolean {
    let hit = this.store.isBanned(ip);
    if (!hit && ip.includes(":")) {
      const k = this.prefix < 128 ? this.banKey(ip) : canonicalIp(ip);
      hit = k !== null && k !== ip && this.store.isBanned(k);
    }
    if (hit) this.opts.stats?.inc("dropped");
    return hit;
  }

  /**
   * Counts one request from `ip` (pike) and bans it when it floods: "ok", "banned" (already
   * banned: drop), or "flood" (banned now: drop). Trusted peers always get "ok".
   */
  check(ip: string): FloodVerdict {
    if (this.trusted !== null && this.trusted(ip)) return "ok";
    if (this.isBanned(ip)) return "banned";
    const r = this.opts.detector.check(ip);
    if (r === 1) return "ok";
    this.ban(ip, this.opts.banSeconds, "pike");
    return "flood";
  }

  /** Bans `ip` for `seconds` and publishes `security.banned`. Trusted peers are never banned. */
  ban(ip: string, seconds = this.opts.banSeconds, reason = "manual"): boolean {
    if (this.trusted !== null && this.trusted(ip)) return false;
    const key = this.banKey(ip);
    if (key === null) return false;
    const until = this.now() + seconds * 1000;
    this.store.ban(key, until);
    this.sync?.banned(key, until, reason);
    this.opts.stats?.inc("banned");
    this.opts.log?.warn("PIKE - BLOCKing ip", { ip: key, reason, seconds });
    this.opts.events?.publish("security.banned", { ip: key, reason, until: new Date(until).toISOString() });
    return true;
  }

  /** Lifts a ban. */
  unban(ip: string): boolean {
    const key = this.banKey(ip);
    if (key === null) return false;
    const had = this.store.unban(key);
    // lifted on every node, also when this node had no ban (it may have expired here first)
    this.sync?.unbanned(key);
    return had;
  }

  /** Current bans. */
  bans(): Array<{ key: string; until: number }> {
    return this.store.list();
  }

  /** Drops expired bans from stores that need it (called by the pike timer). */
  sweep(): number {
    return this.store.sweep?.() ?? 0;
  }
}
