/**
 * Replay protection for stateless nonces (Kamailio auth's nonce_count / one_time_nonce).
 *
 * With qop the client numbers its requests per nonce (nc). The tracker remembers, per nonce that
 * has been used successfully, the highest nc and a 32-wide window of the ones below it (the IPsec
 * anti-replay scheme, RFC 4303 §3.4.3): a reordered nc inside the window is accepted once, a
 * repeated nc or one older than the window is a replay. With one-time nonces any second use is a
 * replay. Entries die with their nonce (expired nonces are rejected as stale before the tracker).
 *
 * Memory is bounded: when full, the oldest entry is evicted and the tracker remembers the latest
 * issue time it evicted ("horizon"); a nonce issued at or before the horizon that it does not know
 * any more may have been used already, so it is answered "forgotten" (the caller re-challenges with
 * stale=true) instead of being accepted.
 */

export type NonceUse = "ok" | "replay" | "forgotten";

/** What the authenticator asks of a tracker (this one, or shared-nonce-tracker.ts with workers). */
export interface NonceUses {
  readonly size: number;
  use(nonce: string, issued: number, expires: number, nc: number | null, oneTime: boolean): NonceUse;
  sweep(): number;
}

interface Entry {
  /** Nonce expiry, Unix seconds. */
  expires: number;
  issued: number;
  maxNc: number;
  /** Bit k set = nc (maxNc - k) seen, k in 0..31. */
  window: number;
  /** Uses without nc (no qop). */
  uses: number;
}

const WINDOW = 32;

/** Bounded per-nonce nc window (see the file comment); one instance per node. */
export class NonceTracker implements NonceUses {
  private readonly map = new Map<string, Entry>();
  private horizon = -1;

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get size(): number {
    return this.map.size;
  }

  /**
   * Records a successful use of `nonce` (issued/expires from the nonce itself) with `nc`
   * (null without qop). `oneTime` rejects every second use.
   */
  use(nonce: string, issued: number, expires: number, nc: number | null, oneTime: boolean): NonceUse {
    let e = this.map.get(nonce);
    if (e === undefined) {
      if (issued <= this.horizon) return "forgotten";
      if (this.map.size >= this.maxEntries) this.evictOldest();
      e = { expires, issued, maxNc: 0, window: 0, uses: 0 };
      this.map.set(nonce, e);
    } else if (oneTime) {
      return "replay";
    }
    if (nc === null) {
      if (oneTime && e.uses > 0) return "replay";
      e.uses++;
      return "ok";
    }
    if (oneTime && (e.uses > 0 || e.maxNc > 0)) return "replay";
    if (nc > e.maxNc) {
      const shift = nc - e.maxNc;
      e.window = shift >= WINDOW ? 1 : ((e.window << shift) | 1) >>> 0;
      e.maxNc = nc;
      return "ok";
    }
    const back = e.maxNc - nc;
    if (back >= WINDOW) return "replay";
    const bit = (1 << back) >>> 0;
    if ((e.window & bit) !== 0) return "replay";
    e.window = (e.window | bit) >>> 0;
    return "ok";
  }

  private evictOldest(): void {
    const first = this.map.entries().next();
    if (first.done) return;
    const [k, e] = first.value;
    this.map.delete(k);
    if (e.issued > this.horizon) this.horizon = e.issued;
  }

  /** Drops entries of expired nonces; returns how many. */
  sweep(): number {
    const nowS = this.now() / 1000;
    let n = 0;
    for (const [k, e] of this.map) {
      if (e.expires <= nowS) {
        this.map.delete(k);
        n++;
      }
    }
    return n;
  }
}
