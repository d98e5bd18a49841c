/**
 * Dictionary-attack limitation (Kamailio htable README's `$au::auth_count` pattern): count failed
 * authentications per user (or per source IP) in an htable and refuse (403) further attempts for
 * `blockSeconds` after `maxFailures` failures. Every failure restarts the block time.
 *
 * @example
 *   const limiter = auth.createFailureLimiter({ store: htable.table("auth_fail"), maxFailures: 3, blockSeconds: 900 });
 *   const user = auth.credentialsUser(req, realm);
 *   if (user && limiter.isBlocked(user)) { req.reply(403, "Try later"); return; }
 *   const code = auth.check(req, realm, "subscriber", 1);
 *   if (code === -2 || code === -3) limiter.recordFailure(user!);
 *   else if (code === 1) limiter.reset(user!);
 */

/** The slice of an htable table the limiter needs (htable's HashTable fits). */
export interface CounterStore {
  get(key: string): string | number | null;
  set(key: string, value: string | number, exSec?: number): void;
  delete(key: string): boolean;
}

/** A Map-based CounterStore with per-key expiry, for setups without an htable. */
export class MemoryCounterStore implements CounterStore {
  private readonly m = new Map<string, { v: string | number; exp: number }>();
  constructor(private readonly now: () => number = () => Date.now()) {}
  get(key: string): string | number | null {
    const e = this.m.get(key);
    if (!e) return null;
    if (e.exp !== 0 && this.now() >= e.exp) {
      this.m.delete(key);
      return null;
    }
    return e.v;
  }
  set(key: string, value: string | number, exSec = 0): void {
    this.m.set(key, { v: value, exp: exSec > 0 ? this.now() + exSec * 1000 : 0 });
  }
  delete(key: string): boolean {
    return this.m.delete(key);
  }
}

/** Limiter settings: where counts live, how many failures block, for how long. */
export interface FailureLimiterOptions {
  readonly store: CounterStore;
  /** Failures that block (Kamailio example: 3). */
  readonly maxFailures: number;
  /** Seconds the block (and the failure count) lasts after the last failure (Kamailio example: 900). */
  readonly blockSeconds: number;
  /** Key suffix, default "::auth_count". */
  readonly suffix?: string;
  /** Called once when an id reaches maxFailures (e.g. ban the source with the flood guard). */
  readonly onBlock?: (id: string, failures: number) => void;
}

/** Counts authentication failures per id (user or IP) with a sliding block time. */
export class AuthFailureLimiter {
  private readonly suffix: string;

  constructor(private readonly opts: FailureLimiterOptions) {
    if (!Number.isInteger(opts.maxFailures) || opts.maxFailures < 1) throw new Error("maxFailures must be a positive integer");
    if (!Number.isInteger(opts.blockSeconds) || opts.blockSeconds < 1) throw new Error("blockSeconds must be a positive integer");
    this.suffix = opts.suffix ?? "::auth_count";
  }

  /** Failures counted for `id` (0 when none or expired). */
  failures(id: string): number {
    const v = this.opts.store.get(id + this.suffix);
    return typeof v === "number" ? v : 0;
  }

  /** Whether `id` reached maxFailures within the block time. */
  isBlocked(id: string): boolean {
    return this.failures(id) >= this.opts.maxFailures;
  }

  /** Counts one failure and returns the new count. */
  recordFailure(id: string): number {
    const n = this.failures(id) + 1;
    this.opts.store.set(id + this.suffix, n, this.opts.blockSeconds);
    if (n === this.opts.maxFailures) this.opts.onBlock?.(id, n);
    return n;
  }

  /** Forgets the failures of `id` (after a successful authentication). */
  reset(id: string): void {
    this.opts.store.delete(id + this.suffix);
  }
}
