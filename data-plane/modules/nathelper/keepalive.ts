import type { Logger, SipUac, UacResult, StatGroup } from "../../core/api.js";
import type { Binding } from "../usrloc/api.js";
import type { UsrlocApi } from "../usrloc/api.js";
import { nowSeconds, type ChangeOrigin, type LocationTable } from "../usrloc/api.js";
import { nameAddrUri, splitHeaderList, splitUri, uriProto } from "../../core/kit/index.js";
import type { NathelperParams } from "./params.js";

const ZEROS = Buffer.from([0, 0, 0, 0]);
const CRLF2 = Buffer.from("\r\n\r\n", "latin1");
const KEEPALIVE_ORIGIN: ChangeOrigin = Object.freeze({ source: "keepalive" });
/** At most this many SIP pings wait for replies at once; further ones wait for the next round. */
const MAX_INFLIGHT = 2000;

/** Where and how one binding is pinged. */
export interface PingPlan {
  readonly proto: string;
  readonly address: string;
  readonly port: number;
  /** Destination URI for a SIP ping. */
  readonly destination: string;
}

/** Next hop of a binding's keep-alives: received address, else the contact (Path first hop for SIP pings). */
export function pingPlan(b: Binding, sip: boolean): PingPlan | null {
  let dest = b.received ?? b.contact;
  if (sip && b.path) {
    const first = splitHeaderList(b.path)[0];
    if (first) dest = nameAddrUri(first);
  }
  const u = splitUri(dest);
  if (!u || u.scheme === "tel") return null;
  const proto = uriProto(u);
  const port = u.port ?? (proto === "tls" ? 5061 : 5060);
  return { proto, address: u.host, port, destination: dest };
}

/** A local failure (no reply at all) as opposed to any answer from the device. */
function noReply(r: UacResult): boolean {
  return r.code === 408 || r.code === 477 || r.code === 478 || r.reason === "No socket" || r.reason === "Send failed";
}

/**
 * NAT keep-alives (Kamailio nathelper natping): every `natping_interval` seconds each contact in
 * the pinged tables (only NATed ones with ping_nated_only) gets either a SIP request (OPTIONS,
 * when it has the sipping branch flag) or raw bytes — 4 zero bytes over UDP (Kamailio's), or
 * CRLFCRLF (RFC 5626) over UDP with udp_keepalive "crlf" and always over streams — sent to its
 * received address from the socket it registered through. The round is spread over the interval
 * (one slice per second), so a million bindings do not go out in one burst. Contacts that
 * answer SIP pings get Last-Keepalive / KA-Roundtrip; with keepalive_timeout, a contact that has
 * not answered for that long is removed.
 */
export class NatPinger {
  enabled = true;
  private timer: NodeJS.Timeout | null = null;
  private round: Array<[LocationTable, Binding]> = [];
  private cursor = 0;
  private ticks = 0;
  private inflight = 0;

  constructor(
    private readonly p: NathelperParams,
    private readonly ul: UsrlocApi,
    private readonly sip: SipUac,
    private readonly stats: StatGroup,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.p.natping_interval <= 0 || this.timer) return;
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
    // the first round starts right away
    this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One second of work: start a round every natping_interval ticks, send this tick's slice. */
  tick(): void {
    if (!this.enabled) return;
    const interval = this.p.natping_interval;
    if (this.ticks % interval === 0) this.startRound();
    this.ticks++;
    const perTick = Math.ceil(this.round.length / interval);
    const end = Math.min(this.round.length, this.cursor + perTick);
    for (; this.cursor < end; this.cursor++) {
      const [t, b] = this.round[this.cursor]!;
      this.ping(t, b);
    }
  }

  private startRound(): void {
    const mask = this.ul.natMask;
    const out: Array<[LocationTable, Binding]> = [];
    const now = nowSeconds();
    for (const name of this.p.natping_tables) {
      const t = this.ul.existing(name);
      if (!t) continue;
      for (const b of t.bindings()) {
        if (!b.isValid(now)) continue;
        if (this.p.ping_nated_only && (b.cflags & mask) === 0) continue;
        out.push([t, b]);
      }
    }
    this.round = out;
    this.cursor = 0;
  }

  /** Sends one keep-alive to a binding (exposed for tests and nathelper.ping). */
  ping(t: LocationTable, b: Binding): void {
    const sflag = this.p.sipping_bflag;
    const sipping = sflag >= 0 && ((b.cflags & (1 << sflag)) !== 0 || !this.p.ping_nated_only);
    const plan = pingPlan(b, sipping);
    if (!plan) return;
    const socket = this.p.natping_socket || b.socket || undefined;
    if (!sipping) {
      const stream = plan.proto !== "udp";
      this.sip.sendRaw({ proto: plan.proto, address: plan.address, port: plan.port }, stream || this.p.udp_keepalive === "crlf" ? CRLF2 : ZEROS, socket);
      this.stats.inc("natpings_sent");
      return;
    }
    if (this.inflight >= MAX_INFLIGHT) return;
    this.inflight++;
    this.stats.inc("sippings_sent");
    this.sip
      .request({
        method: this.p.sipping_method,
        uri: b.contact,
        destination: plan.destination,
        from: this.p.sipping_from,
        socket,
        timeoutMs: this.p.sipping_timeout || undefined,
      })
      .then(
        (r) => this.onResult(t, b, r),
        (e: unknown) => {
          this.log.debug("sip ping failed", { contact: b.contact, error: String(e) });
          this.onResult(t, b, { code: 477, reason: "Send failed", latencyMs: 0 });
        },
      )
      .finally(() => this.inflight--);
  }

  private onResult(t: LocationTable, b: Binding, r: UacResult): void {
    const now = nowSeconds();
    if (!noReply(r)) {
      b.lastKeepalive = now;
      b.kaRoundtrip = r.latencyMs;
      this.stats.inc("sipping_replies");
      return;
    }
    this.stats.inc("sipping_failures");
    const timeout = this.p.keepalive_timeout;
    if (timeout <= 0) return;
    const last = Math.max(b.lastKeepalive, b.lastModified);
    if (now - last < timeout) return;
    if (t.byRuid(b.aor, b.ruid) !== b) return; // refreshed or gone meanwhile
    this.log.info("keep-alive timeout: removing contact", { aor: b.aor, contact: b.contact, silentFor: now - last });
    this.stats.inc("keepalive_removed");
    t.remove(b, KEEPALIVE_ORIGIN);
  }
}
