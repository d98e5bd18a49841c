import type { SipUac } from "../../../core/api.js";
import { GatewayProber } from "../../../core/kit/index.js";
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
  private readonly probes: GatewayProber;

  constructor(
    private readonly engine: DispatcherEngine,
    uac: SipUac,
  ) {
    const p = engine.params;
    this.probes = new GatewayProber({ uac, intervalS: p.pingInterval, round: () => this.round(), upReplies: p.pingReplyCodes });
  }

  /** Starts the interval timer (no-op when ping_interval is 0). */
  start(): void {
    this.probes.start();
  }

  /** Stops probing for good; pending results are dropped. */
  stop(): void {
    this.probes.stop();
  }

  get running(): boolean {
    return this.probes.running;
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
    return this.probes.tick();
  }

  private round(): number {
    if (!this.engine.pingActive) return 0;
    let n = 0;
    for (const set of this.engine.live.sets.values()) n += this.probeSet(set);
    return n;
  }

  private probeSet(set: LiveSet): number {
    let n = 0;
    for (let i = 0; i < set.size; i++) {
      const rt = set.rt[i]!;
      if (this.probes.inFlight(rt) || !this.shouldProbe(rt.flags)) continue;
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
    loc.rt.probesSent++;
    this.engine.deps.stats.inc("probes_sent");
    this.probes.send(
      loc.rt,
      { method: p.pingMethod, uri: loc.dest.uri, from: a.pingFrom !== "" ? a.pingFrom : p.pingFrom, destination: obproxy, socket, timeoutMs: p.pingTimeout },
      (o) => this.onResult(loc, o.code, o.reason, o.latencyMs),
    );
  }

  /**
   * Applies one keepalive result (Kamailio ds_options_callback): latency statistics first, then
   * the state change. Results for a destination that was removed, re-created by a reload in
   * "reset" mode, disabled meanwhile, or (mode 3) lost its P flag meanwhile are ignored.
   */
  onResult(loc: DestLocation, code: number, reason: string, latencyMs: number): void {
    const rt = loc.rt;
    if (this.probes.stopped) return;
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
