import type { SipUac } from "../../../core/api.js";
import type { DispatcherEngine } from "../engine.js";
import { DS_DISABLED, DS_INACTIVE, DS_NODNSARES, DS_NOPING, DS_PROBING, DS_TRYING } from "../../../../tables/dispatcher/flags.js";
import { isAcceptedReply } from "../params.js";
import type { DestLocation, LiveSet } from "../state.js";
import { updateCongestion } from "./congestion.js";

/**
 * Keepalive probing (Kamailio ds_check_timer / ds_ping_set / ds_options_callback): every
 * `ping_interval` seconds, send `ping_method` to each destination the probing mode selects,
 * through the core's SipUac, and feed the result into the state machine.
 *
 * Probing modes (ds_probing_mode), exactly as Kamailio:
 *  - 0: probe destinations with the P flag; a result clears P (one-shot after start/reload,
 *       except that an inactive destination short of `inactive_threshold` keeps P);
 *  - 1: probe every destination (not disabled, not flag 32/16); results keep/add P, and a
 *       failed probe on an active one makes it trying;
 *  - 2: probe only destinations that are inactive and have P;
 *  - 3: probe P-flagged destinations forever (P is kept).
 * Olelo additions: a destination whose previous probe is still pending is not probed again
 * (no pile-up when the timeout exceeds the interval); `destroy()` leaves no timer behind and
 * late results after it are ignored.
 */
export class Prober {
  private timer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;

  constructor(
    private readonly engine: DispatcherEngine,
    private readonly uac: SipUac,
  ) {}

  /** Starts the interval timer (no-op when ping_interval is 0). */
  start(): void {
    const iv = this.engine.params.pingInterval;
    if (iv <= 0 || this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => this.tick(), iv * 1000);
    const t = this.timer as { unref?: () => void };
    if (typeof t.unref === "function") t.unref();
  }

  /** Stops probing for good; pending results are dropped. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** Whether the probing mode selects this destination now (Kamailio ds_ping_result_helper). */
  shouldProbe(flags: number): boolean {
    if (flags & (DS_DISABLED | DS_NOPING | DS_NODNSARES)) return false;
    const mode = this.engine.params.probingMode;
    if (mode === 1) return true;
    if (mode !== 2 && flags & DS_PROBING) return true;
    return mode === 2 && (flags & DS_PROBING) !== 0 && (flags & DS_INACTIVE) !== 0;
  }

  /** One keepalive round over every set; returns how many probes were sent. */
  tick(): number {
    if (this.stopped || !this.engine.pingActive) return 0;
    let n = 0;
    for (const set of this.engine.live.sets.values()) n += this.probeSet(set);
    return n;
  }

  private probeSet(set: LiveSet): number {
    let n = 0;
    for (let i = 0; i < set.size; i++) {
      const rt = set.rt[i]!;
      if (rt.probeInFlight || !this.shouldProbe(rt.flags)) continue;
      this.probe({ set, idx: i, dest: set.def.dests[i]!, rt });
      n++;
    }
    return n;
  }

  private probe(loc: DestLocation): void {
    const p = this.engine.params;
    const a = loc.dest.attrs;
    const socket = a.sockname !== "" ? a.sockname : a.socket !== "" ? a.socket : p.pingSocket !== "" ? p.pingSocket : p.defaultSocket;
    const obproxy = a.obproxy !== "" ? a.obproxy : p.outboundProxy;
    loc.rt.probeInFlight = true;
    loc.rt.probesSent++;
    this.engine.deps.stats.inc("probes_sent");
    let pending: Promise<{ code: number; reason: string; latencyMs: number }>;
    try {
      pending = this.uac.request({
        method: p.pingMethod,
        uri: loc.dest.uri,
        to: loc.dest.uri,
        from: a.pingFrom !== "" ? a.pingFrom : p.pingFrom,
        ...(obproxy !== "" ? { destination: obproxy } : {}),
        ...(socket !== "" ? { socket } : {}),
        ...(p.pingTimeout > 0 ? { timeoutMs: p.pingTimeout } : {}),
      });
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending.then(
      (r) => this.onResult(loc, r.code, r.reason, r.latencyMs),
      () => this.onResult(loc, 500, "Sending keepalive failed", -1),
    );
  }

  /**
   * Applies one keepalive result (Kamailio ds_options_callback): latency statistics first, then
   * the state change. Results for a destination that was removed, re-created by a reload in
   * "reset" mode, disabled meanwhile, or (mode 3) lost its P flag meanwhile are ignored.
   */
  onResult(loc: DestLocation, code: number, reason: string, latencyMs: number): void {
    const rt = loc.rt;
    rt.probeInFlight = false;
    if (this.stopped) return;
    const cur = this.engine.live.byKey.get(loc.dest.key);
    if (!cur || cur.rt !== rt) return;
    const p = this.engine.params;
    rt.lastCode = code;
    rt.lastReason = reason;
    rt.lastProbeAt = this.engine.now();
    if (p.pingLatencyStats) {
      if (code === 408) rt.latency.timeout++;
      else if (latencyMs >= 0) rt.latency.update(latencyMs, p.latencyEstimatorAlpha);
      updateCongestion(cur.set, this.engine.random);
    }
    if (p.probingMode === 3 && !(rt.flags & DS_PROBING)) return;
    if (rt.flags & DS_DISABLED) return;
    const info = { reason: "probe" as const, code, replyReason: reason };
    if (isAcceptedReply(code, p.pingReplyCodes)) {
      const keepP = p.probingMode === 1 || (p.probingMode === 3 && (rt.flags & DS_PROBING) !== 0);
      this.engine.updateState(cur, keepP ? DS_PROBING : 0, info);
    } else {
      rt.probesFailed++;
      this.engine.deps.stats.inc("probe_failures");
      this.engine.updateState(cur, DS_TRYING | (p.probingMode !== 0 ? DS_PROBING : 0), info);
    }
  }
}
