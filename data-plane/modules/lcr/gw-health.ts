import type { EventBus, SipUac, StatGroup } from "../../core/api.js";
import type { CompiledLcr, LcrGw } from "../../../tables/lcr/table.js";
import { GatewayProber, ProbedGateways } from "../../core/kit/index.js";

/**
 * Gateway health of Kamailio's lcr (lcr_mod.c inactivate_gw / ping_timer / ping_callback):
 *
 * - a gateway starts active (state 0, GW_ACTIVE);
 * - `inactivate_gw()` in a failure route counts a failure: the first one sets the state to
 *   GW_PINGING + ping_inactivate_threshold, every further one takes one off, and at 2
 *   (GW_INACTIVE) the gateway is skipped by load_gws;
 * - every `ping_interval` seconds each gateway in a state ≥ 1 (failed at least once) gets an
 *   OPTIONS request (From `ping_from`, R-URI and To = the gateway URI, from `ping_socket`); a 2xx
 *   or a code in `ping_valid_reply_codes` makes it active again.
 *
 * States are kept per (lcr_id, gw_id), like the gateway copies Kamailio keeps per instance. They
 * survive table pushes while the gateway keeps its URI (Kamailio's reload resets them all); a
 * reply to a probe sent before a push that changed the gateway's URI is ignored, as in Kamailio.
 * Olelo additions: a gateway whose probe is still pending is not probed again, and events
 * `lcr.gw_inactive` / `lcr.gw_active` are published.
 */
export const GW_ACTIVE = 0;
export const GW_PINGING = 1;
export const GW_INACTIVE = 2;

/** The probing params (Kamailio names; interval in seconds, 0 = off). */
export interface LcrPingConfig {
  readonly interval: number;
  /** Failures (inactivate_gw calls) before a gateway is skipped, 1..32 (default 1). */
  readonly inactivateThreshold: number;
  /** Codes accepted besides 2xx (`ping_valid_reply_codes`, e.g. "403,405,501"). */
  readonly validReplyCodes: readonly number[];
  /** From URI of the probes (default `sip:pinger@localhost`). */
  readonly from: string;
  /** Socket the probes go out from ("" = the core's choice). */
  readonly socket: string;
  /** Final-response timeout of a probe in ms (0 = the core's fr_timer). Olelo addition. */
  readonly timeoutMs: number;
}

/** Parses `ping_valid_reply_codes` ("403,405"); throws naming the bad code (Kamailio: 100..999). */
export function parseValidReplyCodes(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(",")) {
    const t = part.trim();
    if (t === "") continue;
    if (!/^\d{3}$/.test(t) || Number(t) < 100) throw new Error(`lcr: ping_valid_reply_codes: '${t}' is not a SIP reply code (100..999)`);
    out.push(Number(t));
  }
  return out;
}

interface GwState {
  state: number;
  /** The gateway URI when the state was set (a push that changes it drops the state). */
  uri: string;
  lcrId: number;
  gw: LcrGw;
}

/** The health table and the probe timer of one lcr module instance. */
export class GwHealth extends ProbedGateways {
  private readonly states = new Map<string, GwState>();
  protected readonly prober: GatewayProber;
  /** With workers: a local change (inactivate_gw, probe answer) to tell the others; null state = active again. */
  onChange: ((key: string, state: number | null, uri: string) => void) | null = null;

  constructor(
    private readonly cfg: LcrPingConfig,
    private readonly deps: {
      readonly uac: SipUac;
      readonly events: EventBus;
      readonly stats: StatGroup;
      readonly current: () => CompiledLcr;
      readonly log: { info(msg: string, f?: Record<string, unknown>): void; warn(msg: string, f?: Record<string, unknown>): void };
    },
  ) {
    super();
    this.prober = new GatewayProber({
      uac: deps.uac,
      intervalS: cfg.interval,
      timeoutMs: cfg.timeoutMs,
      upReplies: { codes: cfg.validReplyCodes },
      failure: { code: 0, reason: "" },
      round: () => this.round(),
      onError: (e, probe) => this.deps.log.warn("unable to ping gateway", { uri: probe.uri, error: e instanceof Error ? e.message : String(e) }),
    });
  }

  /** True when probing is configured (inactivate_gw needs it, as in Kamailio). */
  get enabled(): boolean {
    return this.cfg.interval > 0;
  }

  /** Gateways that are not active (hot path: load_gws skips the check when this is 0). */
  get size(): number {
    return this.states.size;
  }

  /** Kamailio's gw state: 0 active, 1.. failing (pinged), 2 inactive (skipped). */
  stateOf(lcrId: number, gwId: number): number {
    return this.states.get(key(lcrId, gwId))?.state ?? GW_ACTIVE;
  }

  /** Whether load_gws must skip the gateway. */
  isInactive(lcrId: number, gwId: number): boolean {
    return this.states.size > 0 && this.states.get(key(lcrId, gwId))?.state === GW_INACTIVE;
  }

  /** inactivate_gw(): counts one failure of the gateway; returns its new state, or -1 without probing. */
  inactivate(lcrId: number, gw: LcrGw): number {
    if (!this.enabled) return -1;
    const k = key(lcrId, gw.gwId);
    let s = this.states.get(k);
    if (s === undefined) {
      s = { state: GW_PINGING + this.cfg.inactivateThreshold, uri: gw.uri, lcrId, gw };
      this.states.set(k, s);
    } else if (s.state > GW_INACTIVE) {
      s.state--;
    }
    this.onChange?.(k, s.state, gw.uri);
    if (s.state === GW_INACTIVE) {
      this.deps.log.info("gateway inactivated", { lcr_id: lcrId, gw_id: gw.gwId, uri: gw.uri });
      this.deps.events.publish("lcr.gw_inactive", { lcr_id: lcrId, gw_id: gw.gwId, uri: gw.uri });
    }
    return s.state;
  }

  /**
   * After a table push: states of gateways that are gone or now have another URI are dropped
   * (the gateway starts active); the others follow the new gateway objects.
   */
  reconcile(c: CompiledLcr): void {
    for (const [k, s] of this.states) {
      const inst = c.instances.get(s.lcrId);
      const idx = inst?.gwIndexById.get(s.gw.gwId);
      const gw = idx === undefined ? undefined : inst!.gws[idx - 1];
      if (gw === undefined || gw.uri !== s.uri) this.states.delete(k);
      else s.gw = gw;
    }
  }

  /** Every non-active gateway as `[key, state, uri]` (a worker that starts asks the others). */
  snapshot(): Array<[string, number, string]> {
    return [...this.states].map(([k, s]) => [k, s.state, s.uri]);
  }

  /** A change another worker made (no events: that worker published them). */
  applyRemote(key: string, state: number | null, uri: string): void {
    if (state === null) {
      if (this.states.get(key)?.uri === uri) this.states.delete(key);
      return;
    }
    const had = this.states.get(key);
    if (had !== undefined && had.uri === uri) {
      had.state = state;
      return;
    }
    const [lcrId, gwId] = key.split(":").map(Number) as [number, number];
    const inst = this.deps.current().instances.get(lcrId);
    const idx = inst?.gwIndexById.get(gwId);
    const gw = idx === undefined ? undefined : inst!.gws[idx - 1];
    if (gw !== undefined && gw.uri === uri) this.states.set(key, { state, uri, lcrId, gw });
  }

  private round(): number {
    let n = 0;
    for (const s of this.states.values()) {
      if (this.prober.inFlight(s) || s.state < GW_PINGING) continue;
      this.probe(s);
      n++;
    }
    return n;
  }

  private probe(s: GwState): void {
    const uri = s.uri;
    this.deps.stats.inc("ping_sent");
    this.prober.send(s, { uri, from: this.cfg.from, socket: this.cfg.socket }, (o) => this.onReply(s, uri, o.code, o.up));
  }

  /** ping_callback: a 2xx or a listed code brings the gateway back. */
  private onReply(s: GwState, uri: string, code: number, ok: boolean): void {
    const k = key(s.lcrId, s.gw.gwId);
    if (this.states.get(k) !== s || s.uri !== uri) return; // dropped or changed by a push meanwhile
    if (!ok) {
      this.deps.stats.inc("ping_failed");
      return;
    }
    this.states.delete(k);
    this.onChange?.(k, null, uri);
    this.deps.log.info("activating gateway", { lcr_id: s.lcrId, gw_id: s.gw.gwId, uri, code });
    this.deps.events.publish("lcr.gw_active", { lcr_id: s.lcrId, gw_id: s.gw.gwId, uri, code });
  }
}

function key(lcrId: number, gwId: number): string {
  return `${lcrId}:${gwId}`;
}
