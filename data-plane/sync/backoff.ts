/**
 * Reconnect delays: exponential backoff with jitter, as in gRPC's connection-backoff.md
 * (initial 1 s, multiplier 1.6, jitter ±20 %, max 120 s there; shorter defaults here because a
 * data plane without its control plane still routes from its cache and only misses updates).
 *
 * @example
 *   backoffDelay(0, { initialMs: 250 });  // 200..300 ms
 *   backoffDelay(20, { maxMs: 30_000 });  // 24000..36000 ms (jitter applies after the cap, as in gRPC)
 */

/** Backoff settings; every field optional. */
export interface BackoffOptions {
  /** First delay (default 250 ms). */
  initialMs?: number;
  /** Largest delay before jitter (default 30 s). */
  maxMs?: number;
  /** Growth per failed attempt (default 1.6). */
  multiplier?: number;
  /** Random spread, 0..1, as a fraction of the delay (default 0.2 → ±20 %). */
  jitter?: number;
}

/** Fills in the defaults and checks the ranges (throws for a config error). */
export function resolveBackoff(o: BackoffOptions = {}): Required<BackoffOptions> {
  const r = { initialMs: o.initialMs ?? 250, maxMs: o.maxMs ?? 30_000, multiplier: o.multiplier ?? 1.6, jitter: o.jitter ?? 0.2 };
  if (!(r.initialMs > 0) || !(r.maxMs >= r.initialMs)) throw new Error("backoff: need 0 < initialMs <= maxMs");
  if (!(r.multiplier >= 1)) throw new Error("backoff: multiplier must be >= 1");
  if (!(r.jitter >= 0 && r.jitter <= 1)) throw new Error("backoff: jitter must be in 0..1");
  return r;
}

/** Delay before reconnect attempt `attempt` (0-based): min(max, initial·multiplier^attempt) ± jitter. */
export function backoffDelay(attempt: number, o: BackoffOptions = {}, random: () => number = Math.random): number {
  const r = resolveBackoff(o);
  const base = Math.min(r.maxMs, r.initialMs * Math.pow(r.multiplier, Math.max(0, attempt)));
  return Math.max(0, Math.round(base * (1 - r.jitter + 2 * r.jitter * random())));
}
