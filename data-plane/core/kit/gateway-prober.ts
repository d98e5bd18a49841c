import type { SipUac } from "../api.js";

/**
 * The one gateway prober of the routing modules (dispatcher's ds_check_timer, lcr's ping_timer,
 * drouting's keepalive): an interval timer that runs the module's probe round, and `send()`,
 * which puts one keepalive request (OPTIONS by default) through the core's UAC and hands back
 * the outcome: the reply code and reason, the latency, and whether the reply counts as "up"
 * (any 2xx, or a configured code or class). A local failure (the request could not be sent)
 * is reported as the configured failure code. What a result does to a gateway (flags,
 * thresholds, events) stays with the module, in its `onResult`.
 *
 * Shared rules: a gateway (identified by the key object the module passes) whose probe is still
 * pending is not probed again (no pile-up when the timeout exceeds the interval); `stop()` leaves
 * no timer behind and results arriving after it are dropped.
 *
 * @example
 *   const prober = new GatewayProber({ uac: host.sip, intervalS: 30, round: () => probeAll() });
 *   prober.start();
 *   // in probeAll: prober.send(gw, { uri: gw.uri, from: "sip:ping@proxy" }, (o) => mark(gw, o.up));
 */
export interface GatewayProberOptions {
  readonly uac: SipUac;
  /** Seconds between rounds; 0 or less = no timer. */
  readonly intervalS: number;
  /** The module's round, run by the timer and by `tick()`; returns how many probes it sent. */
  readonly round: () => number;
  /** Request method (default OPTIONS); a probe may override it. */
  readonly method?: string;
  /** Final-response timeout in ms (0 = the core's fr_timer); a probe may override it. */
  readonly timeoutMs?: number;
  /** Replies treated as up besides any 2xx. */
  readonly upReplies?: UpReplies;
  /** What a probe that could not be sent counts as (default 500 "Sending keepalive failed"). */
  readonly failure?: { readonly code: number; readonly reason: string };
  /** Told about a probe that could not be sent (before its outcome is reported). */
  readonly onError?: (error: unknown, probe: Probe) => void;
}

/** Reply codes (e.g. 403, 501) and classes (4 = every 4xx) that count as up besides 2xx. */
export interface UpReplies {
  readonly codes: readonly number[];
  readonly classes?: readonly number[];
}

/** One keepalive request. */
export interface Probe {
  /** Request URI; also the To URI unless `to` is given. */
  readonly uri: string;
  readonly to?: string;
  readonly from: string;
  /** Local socket to send from ("" or absent = the core's choice). */
  readonly socket?: string;
  /** Outbound proxy / next hop ("" or absent = the request URI). */
  readonly destination?: string;
  readonly method?: string;
  readonly timeoutMs?: number;
}

export interface ProbeOutcome {
  readonly code: number;
  readonly reason: string;
  /** Round trip in ms, -1 when the probe could not be sent. */
  readonly latencyMs: number;
  /** A 2xx or a reply listed in `upReplies`. */
  readonly up: boolean;
  /** Set when the probe could not be sent. */
  readonly error?: unknown;
}

/** True for any 2xx and for a listed code or class. */
export function isUpReply(code: number, up?: UpReplies): boolean {
  if (code >= 200 && code <= 299) return true;
  if (up === undefined) return false;
  if (up.codes.includes(code)) return true;
  return up.classes !== undefined && up.classes.includes(Math.floor(code / 100));
}

export class GatewayProber {
  private timer: ReturnType<typeof setInterval> | null = null;
  private halted = false;
  private readonly pending = new Set<object>();

  constructor(private readonly opts: GatewayProberOptions) {}

  /** Starts the interval timer (no-op when the interval is 0, after `stop()`, or when running). */
  start(): void {
    if (this.opts.intervalS <= 0 || this.timer !== null || this.halted) return;
    this.timer = setInterval(() => this.tick(), this.opts.intervalS * 1000);
    this.timer.unref?.();
  }

  /** Stops probing for good; pending results are dropped. */
  stop(): void {
    this.halted = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  get stopped(): boolean {
    return this.halted;
  }

  /** One round now (what the timer runs); 0 after `stop()`. */
  tick(): number {
    return this.halted ? 0 : this.opts.round();
  }

  /** Whether the gateway's previous probe is still unanswered. */
  inFlight(key: object): boolean {
    return this.pending.has(key);
  }

  /**
   * Sends one probe for the gateway `key` unless one is pending; `onResult` gets the outcome
   * (not after `stop()`). Returns false when nothing was sent.
   */
  send(key: object, probe: Probe, onResult: (o: ProbeOutcome) => void): boolean {
    if (this.halted || this.pending.has(key)) return false;
    this.pending.add(key);
    const o = this.opts;
    const timeoutMs = probe.timeoutMs ?? o.timeoutMs ?? 0;
    let pending: Promise<{ code: number; reason: string; latencyMs: number }>;
    try {
      pending = o.uac.request({
        method: probe.method ?? o.method ?? "OPTIONS",
        uri: probe.uri,
        to: probe.to ?? probe.uri,
        from: probe.from,
        ...(probe.destination ? { destination: probe.destination } : {}),
        ...(probe.socket ? { socket: probe.socket } : {}),
        ...(timeoutMs > 0 ? { timeoutMs } : {}),
      });
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending.then(
      (r) => this.done(key, onResult, { code: r.code, reason: r.reason, latencyMs: r.latencyMs, up: isUpReply(r.code, o.upReplies) }),
      (error: unknown) => {
        o.onError?.(error, probe);
        const f = o.failure ?? { code: 500, reason: "Sending keepalive failed" };
        this.done(key, onResult, { code: f.code, reason: f.reason, latencyMs: -1, up: isUpReply(f.code, o.upReplies), error });
      },
    );
    return true;
  }

  private done(key: object, onResult: (o: ProbeOutcome) => void, outcome: ProbeOutcome): void {
    this.pending.delete(key);
    if (!this.halted) onResult(outcome);
  }
}

/**
 * A module's set of probed gateways (drouting keepalive, lcr gateway health): the timer is the
 * GatewayProber's, the module supplies `prober` (built with its own `round`).
 */
export abstract class ProbedGateways {
  protected abstract readonly prober: GatewayProber;

  /** Starts the probe timer (no-op when the interval is 0). */
  start(): void {
    this.prober.start();
  }

  stop(): void {
    this.prober.stop();
  }

  /** One probe round now (Kamailio's ping timer); returns how many OPTIONS went out. */
  tick(): number {
    return this.prober.tick();
  }
}
