import type { EventBus, SipUac, StatGroup } from "../../core/api.js";
import type { CompiledDrouting, DrGateway } from "../../../tables/drouting/table.js";
import { GatewayProber, ProbedGateways } from "../../core/kit/index.js";

/**
 * Gateway keepalives of Kamailio's drouting with `enable_keepalive` (drouting hands every
 * gateway to the keepalive module, whose ka_options_callback sets a state the routing honours):
 * every `keepalive_interval` seconds each gateway gets an OPTIONS (R-URI and To =
 * `sip:<address>`, From `keepalive_from`) through the core's UAC. A 2xx marks it up, anything
 * else (including the local 408 of a silent gateway) down; do_routing leaves down gateways out
 * of the gateway list. Gateways start in the unknown state, which is usable, as in Kamailio.
 *
 * State is kept per gwid while the gateway keeps its address across table pushes; a reply for
 * an address a push has changed is ignored. A probe still pending is not sent again. Events
 * `drouting.gw_down { gwid, address, code }` and `drouting.gw_up { gwid, address, code }`.
 */
export interface DrKeepaliveConfig {
  readonly enabled: boolean;
  /** Seconds between rounds (Kamailio keepalive `ping_interval`, default 30). */
  readonly intervalS: number;
  /** From URI of the probes (keepalive `ping_from`). */
  readonly from: string;
  /** Final-response timeout of a probe in ms (0 = the core's fr_timer). */
  readonly timeoutMs: number;
}

/** Keepalive state of a gateway (Kamailio ka_state). */
export type DrGatewayState = "unknown" | "up" | "down";

interface Probe {
  state: DrGatewayState;
  address: string;
}

/** The keepalive table and timer of one drouting instance. */
export class DrKeepalive extends ProbedGateways {
  private readonly gws = new Map<number, Probe>();
  private downCount = 0;
  protected readonly prober: GatewayProber;
  /** With workers: a state this worker's probe found, to tell the others (drouting.ts). */
  onChange: ((gwid: number, state: DrGatewayState, address: string) => void) | null = null;

  constructor(
    private readonly cfg: DrKeepaliveConfig,
    private readonly deps: {
      readonly uac: SipUac;
      readonly events: EventBus;
      readonly stats: StatGroup;
      readonly current: () => CompiledDrouting;
      readonly log: { info(msg: string, f?: Record<string, unknown>): void };
    },
  ) {
    super();
    this.prober = new GatewayProber({ uac: deps.uac, intervalS: cfg.enabled ? cfg.intervalS : 0, timeoutMs: cfg.timeoutMs, round: () => this.round() });
  }

  /** Gateways known to be down (hot path: do_routing skips the check when 0). */
  get down(): number {
    return this.downCount;
  }

  /** Whether do_routing may use the gateway. */
  usable(gw: DrGateway): boolean {
    return this.downCount === 0 || this.gws.get(gw.gwid)?.state !== "down";
  }

  stateOf(gwid: number): DrGatewayState {
    return this.gws.get(gwid)?.state ?? "unknown";
  }

  /** After a push: gateways that are gone or moved to another address start over (unknown). */
  reconcile(c: CompiledDrouting): void {
    for (const [gwid, p] of this.gws) {
      const gw = c.gateways.get(gwid);
      if (gw === undefined || gw.address !== p.address) {
        if (p.state === "down") this.downCount--;
        this.gws.delete(gwid);
      }
    }
  }

  /** Every probed gateway as `[gwid, state, address]` (a worker that starts asks the others). */
  snapshot(): Array<[number, DrGatewayState, string]> {
    return [...this.gws].map(([gwid, p]) => [gwid, p.state, p.address]);
  }

  /** A state another worker's probe found (no events: that worker published them). */
  applyRemote(gwid: number, state: DrGatewayState, address: string): void {
    const gw = this.deps.current().gateways.get(gwid);
    if (gw === undefined || gw.address !== address) return;
    let p = this.gws.get(gwid);
    if (p === undefined) this.gws.set(gwid, (p = { state: "unknown", address }));
    if (p.address !== address || p.state === state) return;
    if (p.state === "down") this.downCount--;
    if (state === "down") this.downCount++;
    p.state = state;
  }

  private round(): number {
    if (!this.cfg.enabled) return 0;
    let n = 0;
    for (const gw of this.deps.current().gateways.values()) {
      let p = this.gws.get(gw.gwid);
      if (p === undefined) this.gws.set(gw.gwid, (p = { state: "unknown", address: gw.address }));
      if (this.prober.inFlight(p)) continue;
      this.probe(gw.gwid, p);
      n++;
    }
    return n;
  }

  private probe(gwid: number, p: Probe): void {
    const address = p.address;
    this.deps.stats.inc("keepalive_sent");
    this.prober.send(p, { uri: `sip:${address}`, from: this.cfg.from }, (o) => this.onReply(gwid, p, address, o.code));
  }

  /** ka_options_callback: 2xx up, anything else down; events on a change. */
  private onReply(gwid: number, p: Probe, address: string, code: number): void {
    if (this.gws.get(gwid) !== p || p.address !== address) return;
    const next: DrGatewayState = code >= 200 && code <= 299 ? "up" : "down";
    if (next === p.state) return;
    if (p.state === "down") this.downCount--;
    if (next === "down") this.downCount++;
    const was = p.state;
    p.state = next;
    this.onChange?.(gwid, next, address);
    // unknown → up is the normal start, not news
    if (next === "down" || was === "down") {
      this.deps.log.info(next === "down" ? "gateway down" : "gateway up", { gwid, address, code });
      this.deps.events.publish(next === "down" ? "drouting.gw_down" : "drouting.gw_up", { gwid, address, code });
    }
  }
}
