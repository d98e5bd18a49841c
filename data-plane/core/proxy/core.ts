import { lookup } from "node:dns/promises";
import { MyselfSet } from "./myself.js";
import type { CoreConfig } from "../config.js";
import type { StatsRegistry, StatGroup } from "../stats/counters.js";
import type { EventBus } from "../events/bus.js";
import type { Endpoint, TransportProto } from "../../../lib/sip/types.js";
import type { SendOptions, TransactionObserver } from "../script/context.js";
import type { UacRequestOptions, UacResult } from "../module.js";
import { createLogger } from "../../../lib/log/logger.js";
import { SipMessage, Patch, parseMessage, scanReplyHeaders, firstListComma, serializeBuffer, type ParseLimits } from "../sip/message.js";
import { validateRequest, validateResponse } from "../sip/validate.js";
import { TransportLayer, type Connection } from "../transport/transport-layer.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import { parseUri, formatHost } from "../../../lib/sip/uri.js";
import {
  REASONS,
  LOCAL_TAG_PREFIX,
  buildAckForBranch,
  buildCancelForBranch,
  buildRawReply,
  buildReply,
  viaWithReceived,
} from "./builders.js";
import { fnvHex, randomToken } from "./hash.js";
import { Branch, ServerTxn, type ClientHandler } from "./transaction.js";
import { nextHopOf, recordRouteValue, type NextHop } from "./routing.js";
import { TransportGateway } from "../transport/gateway.js";
import { encodeFlowToken, needsFlowToken } from "../transport/flow-token.js";
import { CORE_STATS, SL_STATS, TMX_STATS } from "./stat-names.js";

const log = createLogger("core");

/** What the core needs from the script runtime (implemented in script/runtime.ts). */
export interface ScriptRunner {
  /** Runs request_route for a request that is not a retransmission. */
  onRequest(core: SipCore, msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void;
  /** Runs the failure route armed on a transaction; returns true when it ran (may be async). */
  onFailure(core: SipCore, txn: ServerTxn): boolean | Promise<boolean>;
  /** Runs reply routes for a reply on a branch; returns false to drop the reply. */
  onReply(core: SipCore, txn: ServerTxn | null, msg: SipMessage, branch: Branch | null, src: Endpoint): boolean;
  /** Runs the branch route armed for this transaction on one branch before it is sent. */
  onBranch?(core: SipCore, txn: ServerTxn, target: BranchTarget, index: number): { drop: boolean; patches: Patch[] | null };
}

/** One target of a relay: R-URI, optional destination ($du), socket and branch flags. */
export interface BranchTarget {
  uri: string;
  dst: string | null;
  socket: string | null;
  flags: number;
  path: string | null;
}

/** Per-relay request-level decisions made by the script (what t_relay needs). */
export interface RelayPlan {
  targets: BranchTarget[];
  /** Record-Route requested with these extra params (null = no RR). */
  recordRoute: string | null;
  /** Preset Record-Route value (record_route_preset) or null. */
  recordRoutePreset: string | null;
  /** The script already processed Max-Forwards. */
  maxForwardsDone: boolean;
}

export interface CoreHooks {
  /** Called with the source address before parsing; return true to drop (ipban). */
  preParse: ((src: Endpoint) => boolean) | null;
  /** Resolves a host name to addresses (RFC 3263 plugs in here). */
  resolve: (hop: NextHop) => Promise<Endpoint[]>;
  /** Destination blocklist check (dst_blocklist): a blocked target is not sent to. */
  blocked?: ((ep: Endpoint) => boolean) | null;
  /** A branch target failed: 408 no reply, 503 reply, 477 send failure (feeds the blocklist). */
  targetFailed?: ((ep: Endpoint, status: number) => void) | null;
  /**
   * A target answered a request of the proxy's own (a keepalive probe) with a final reply other
   * than 503: it is reachable again, so it leaves the blocklist. Without this a dispatcher
   * destination that came back was probed "up" while relayed calls to it stayed blocked until
   * the blocklist entry expired (60 s by default).
   */
  targetAlive?: ((ep: Endpoint) => void) | null;
  /** use_dns_failover: a failed branch moves on to the next resolved target. */
  failover?: boolean;
}

/** What a branch needs to fail over to the next DNS target in the same transaction. */
interface FailoverState {
  plan: RelayPlan;
  target: BranchTarget;
  hop: NextHop;
  patches: Patch[] | null;
  rest: Endpoint[];
}

let txnIds = 0;

/**
 * The SIP engine: receives messages from the transports, matches them to transactions, runs the
 * routing script, forwards requests on branches and relays replies (RFC 3261 §16, §17; Kamailio
 * tm/sl/rr). One instance per data-plane process.
 */
export class SipCore {
  readonly transport: TransportLayer;
  readonly serverTxns = new Map<string, ServerTxn>();
  readonly clientTxns = new Map<string, ClientHandler>();
  readonly limits: ParseLimits;
  readonly core: StatGroup;
  readonly tmx: StatGroup;
  readonly sl: StatGroup;
  runner: ScriptRunner | null = null;
  hooks: CoreHooks = { preParse: null, resolve: defaultResolve };
  /** TLS/WS/WSS transports, RFC 3263 resolver and dst blocklist (installed by start()). */
  gateway: TransportGateway | null = null;
  /** Branches that still have DNS targets to fail over to (use_dns_failover). */
  private readonly failover = new WeakMap<Branch, FailoverState>();
  /** host:port pairs and aliases that are "myself" */
  private readonly myself = new MyselfSet();
  private readonly branchPrefix: string;
  /** hot counters, incremented inline */
  private readonly k: Record<string, import("../stats/counters.js").Counter>;
  private readonly rcvReplyClass: import("../stats/counters.js").Counter[];
  private readonly txnClass: import("../stats/counters.js").Counter[];
  private readonly methodCounter = new Map<string, import("../stats/counters.js").Counter>();
  private readonly branchReplyFn = (b: Branch, m: SipMessage, src: Endpoint) => this.onBranchReply(b, m, src);
  private branchSeq = 0;
  private uacSeq = 0;
  readonly startedAt = Date.now();

  constructor(
    readonly config: CoreConfig,
    readonly stats: StatsRegistry,
    readonly events: EventBus,
  ) {
    this.limits = config.limits;
    this.transport = new TransportLayer((d, s, k, c) => this.onInbound(d, s, k, c), {
      idleTimeoutMs: config.tcp.idleTimeoutMs,
      maxConnections: config.tcp.maxConnections,
      maxMessageSize: config.limits.maxMessageSize,
      connectTimeoutMs: config.tcp.connectTimeoutMs,
    });
    this.core = stats.group("core", CORE_STATS);
    this.tmx = stats.group("tmx", TMX_STATS);
    this.sl = stats.group("sl", SL_STATS);
    this.tmx.gauge("inuse_transactions", () => this.serverTxns.size);
    this.tmx.gauge("active_transactions", () => {
      let n = 0;
      for (const t of this.serverTxns.values()) if (!t.finalSent) n++;
      return n;
    });
    this.branchPrefix = `z9hG4bK-ole${randomToken(4)}`;
    const c = this.core;
    const t = this.tmx;
    this.k = {
      rcv_requests: c.counter("rcv_requests"),
      rcv_replies: c.counter("rcv_replies"),
      fwd_requests: c.counter("fwd_requests"),
      fwd_replies: c.counter("fwd_replies"),
      rcv_replies_18x: c.counter("rcv_replies_18x"),
      rpl_received: t.counter("rpl_received"),
      rpl_sent: t.counter("rpl_sent"),
      rpl_relayed: t.counter("rpl_relayed"),
      rpl_generated: t.counter("rpl_generated"),
      rpl_absorbed: t.counter("rpl_absorbed"),
      UAS_transactions: t.counter("UAS_transactions"),
      UAC_transactions: t.counter("UAC_transactions"),
    };
    this.rcvReplyClass = [0, 1, 2, 3, 4, 5, 6].map((n) => c.counter(`rcv_replies_${n}xx`));
    this.txnClass = [0, 1, 2, 3, 4, 5, 6].map((n) => t.counter(`${n}xx_transactions`));
    for (const [m, name] of Object.entries(METHOD_STAT)) this.methodCounter.set(m, c.counter(name));
    this.transport.acceptFilter = (src) => (this.hooks.preParse ? this.hooks.preParse(src) : false);
  }

  async start(): Promise<void> {
    this.gateway ??= TransportGateway.install(this);
    await this.transport.listen(this.config.listen);
    for (const s of this.transport.sockets) {
      for (const host of s.advertise ? [s.address, s.advertise.host] : [s.address]) {
        this.myself.addSocket(host, s.viaPort);
        this.myself.addSocket(host, s.boundPort);
      }
    }
    for (const a of this.config.aliases) this.myself.addAlias(a);
  }

  async stop(): Promise<void> {
    for (const t of this.serverTxns.values()) this.clearTxnTimers(t);
    for (const h of this.clientTxns.values()) if (h instanceof Branch) this.clearBranchTimers(h);
    this.serverTxns.clear();
    this.clientTxns.clear();
    await this.transport.close();
    await this.gateway?.close();
  }

  // ------------------------------------------------------------------ myself

  /** [uri==myself] host and port (default 5060/5061) name a listen socket or an alias (myself.ts). */
  isMyself(uriText: string): boolean {
    const u = parseUri(uriText);
    return u !== null && this.isMyselfUri(u);
  }

  isMyselfUri(u: import("../../../lib/sip/types.js").SipUri): boolean {
    if (u.scheme === "tel") return false;
    return this.myself.has(u.host, u.port, u.scheme === "sips");
  }

  isMyHostPort(host: string, port: number | null, proto?: string): boolean {
    return this.myself.has(host, port, proto === "TLS");
  }

  // ------------------------------------------------------------------ receive

  private onInbound(data: Buffer, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    try {
      this.handleInbound(data, src, sock, conn);
    } catch (e) {
      // a bug must cost one message, never the process: count it, log it, keep serving
      this.core.inc("err_requests");
      log.error("message handling failed", { src: `${src.address}:${src.port}`, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  }

  private handleInbound(data: Buffer, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    if (data.length <= 4 && isKeepAlive(data)) return; // CRLF / NUL keep-alives over UDP
    if (this.hooks.preParse && this.hooks.preParse(src)) {
      this.core.inc("drop_requests");
      return;
    }
    const r = parseMessage(data, this.limits);
    if (!r.ok) {
      this.core.inc("bad_msg_hdr");
      this.answerUnparseable(data, r.reason, src, sock, conn);
      return;
    }
    const msg = r.msg;
    if (msg.isRequest) this.onRequest(msg, src, sock, conn);
    else this.onResponse(msg, src, sock, conn);
  }

  private answerUnparseable(data: Buffer, reason: string, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    const text = data.toString("latin1");
    const scan = scanReplyHeaders(text.replace(/^(\r?\n)+/, ""));
    if (!scan) {
      this.core.inc("err_replies");
      log.debug("dropped unparseable message", { src: `${src.address}:${src.port}`, reason });
      return;
    }
    this.core.inc("err_requests");
    if (scan.method === "ACK") return;
    const reply = buildRawReply(scan.lines, 400, `Bad Request (${reason})`, this.config.serverHeader);
    if (!reply) return;
    this.sl.inc("400_replies");
    this.sl.inc("4xx_replies");
    this.sl.inc("sent_err_replies");
    this.sl.inc("sent_replies");
    this.transport.send(sock, src, Buffer.from(reply, "latin1"), conn?.id ?? null, true);
  }

  private onRequest(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    const core = this.core;
    this.k.rcv_requests!.v++;
    const m = msg.method;
    const perMethod = this.methodCounter.get(m);
    if (perMethod) perMethod.v++;
    const rej = validateRequest(msg);
    if (rej) {
      core.inc("err_requests");
      if (rej.status === 416) core.inc("bad_URIs_rcvd");
      if (m === "ACK") return;
      if (msg.topViaOrNull) {
        this.sendStatelessReply(msg, src, sock, conn, rej.status, rej.reason, { headers: rej.headers });
      } else {
        // the Via itself is malformed: answer the source address with the raw header lines
        const scan = scanReplyHeaders(msg.raw);
        const reply = scan ? buildRawReply(scan.lines, rej.status, rej.reason, this.config.serverHeader) : null;
        if (reply) {
          this.countSlReply(rej.status);
          this.transport.send(sock, src, Buffer.from(reply, "latin1"), conn?.id ?? null, true);
        }
      }
      return;
    }
    // transaction matching (RFC 3261 §17.2.3)
    if (m === "ACK") {
      const t = this.serverTxns.get(serverKey(msg, "INVITE"));
      if (t && t.lastStatus >= 300) {
        this.absorbAck(t);
        return;
      }
      if (!t && msg.toTag !== null && msg.toTag.startsWith(LOCAL_TAG_PREFIX) && !msg.hasHeader("route")) {
        // ACK to a stateless local reply (sl filters it)
        this.sl.inc("received_ACKs");
        return;
      }
    } else {
      const t = this.serverTxns.get(serverKey(msg, m));
      if (t) {
        this.k.rpl_absorbed!.v++;
        if (t.lastResponse) this.sendUpstream(t, t.lastResponse);
        return;
      }
      if (m !== "CANCEL") {
        const pr = msg.header("proxy-require");
        if (pr !== null && pr.trim() !== "") {
          core.inc("unsupported_methods");
          this.sendStatelessReply(msg, src, sock, conn, 420, "Bad Extension", { headers: [["Unsupported", pr.trim()]] });
          return;
        }
      }
    }
    if (!this.runner) {
      this.sendStatelessReply(msg, src, sock, conn, 500, "No Routing Script");
      return;
    }
    this.runner.onRequest(this, msg, src, sock, conn);
  }

  private absorbAck(t: ServerTxn): void {
    if (t.ackReceived) return;
    t.ackReceived = true;
    if (t.retransTimer) clearTimeout(t.retransTimer);
    t.retransTimer = null;
    // Timer I (T4 for unreliable transports, 0 for reliable), bounded by wt_timer
    this.scheduleDelete(t, t.src.proto === "udp" ? Math.min(this.config.tm.t4, this.config.tm.wtTimer) : 0);
  }

  // ------------------------------------------------------------------ transactions

  /** [t_newtran] creates the server transaction for a request (sends 100 Trying for INVITE). */
  createServerTxn(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): ServerTxn | null {
    const key = serverKey(msg, msg.method);
    const existing = this.serverTxns.get(key);
    if (existing) return existing;
    if (this.serverTxns.size >= this.config.tm.maxTransactions) return null;
    const dest = this.replyDestination(msg, src);
    const t = new ServerTxn(++txnIds, key, msg, src, sock, conn?.id ?? null, dest);
    this.serverTxns.set(key, t);
    this.k.UAS_transactions!.v++;
    if (t.isInvite && this.config.tm.autoInv100) this.txnReply(t, 100, "Trying");
    return t;
  }

  /** Where replies to this request go (RFC 3261 §18.2.2, RFC 3581). */
  replyDestination(msg: SipMessage, src: Endpoint): Endpoint {
    if (src.proto !== "udp") return src;
    const via = msg.topVia;
    if (via.rport !== null || this.config.forceRport) return src;
    const maddr = via.params.get("maddr");
    const host = maddr ?? via.received ?? src.address;
    return { proto: "udp", address: host, port: via.port ?? 5060 };
  }

  /** Sends bytes upstream for a server transaction and remembers them for retransmissions. */
  private sendUpstream(t: ServerTxn, data: Buffer): void {
    const ok = this.transport.send(t.sock, t.replyDest, data, t.connId);
    if (!ok && t.src.proto !== "udp") {
      // connection gone: RFC 3261 §18.2.2 — open a new one to received/sent-by
      const via = t.req.topVia;
      const dest: Endpoint = { proto: t.src.proto, address: via.received ?? t.src.address, port: via.port ?? 5060 };
      this.transport.send(t.sock, dest, data, null);
    }
  }

  /** [t_reply] a local reply on a server transaction. Returns false after a final reply. */
  txnReply(t: ServerTxn, status: number, reason: string, opts: SendOptions = {}): boolean {
    if (t.finalSent && !(t.isInvite && status >= 200 && status < 300)) return false;
    const text = buildReply(t.req, t.src, status, reason || REASONS[status] || "Unknown", this.config.forceRport, {
      headers: opts.headers,
      body: opts.body,
      contentType: opts.contentType,
      server: this.config.serverHeader,
    });
    const data = Buffer.from(text, "latin1");
    this.k.rpl_generated!.v++;
    this.k.rpl_sent!.v++;
    this.recordUpstream(t, status, data);
    if (t.observers) this.notifyLocalReply(t, status, data);
    return true;
  }

  /** Sends a reply upstream for a transaction and updates its state (retransmission, deletion). */
  private recordUpstream(t: ServerTxn, status: number, data: Buffer): void {
    t.lastResponse = data;
    t.lastStatus = status;
    this.sendUpstream(t, data);
    if (status < 200) return;
    const first = !t.finalSent;
    t.finalSent = true;
    if (first) this.txnClass[(status / 100) | 0]!.v++;
    if (t.isInvite && status >= 300) {
      // Timer G retransmissions over UDP until the ACK, Timer H gives up
      if (t.src.proto === "udp") {
        t.retransInterval = this.config.tm.t1;
        const g = () => {
          if (t.deleted || t.ackReceived || !t.lastResponse) return;
          this.sendUpstream(t, t.lastResponse);
          t.retransInterval = Math.min(t.retransInterval * 2, this.config.tm.t2);
          t.retransTimer = setTimeout(g, t.retransInterval);
        };
        t.retransTimer = setTimeout(g, t.retransInterval);
      }
      this.scheduleDelete(t, 64 * this.config.tm.t1);
    } else if (first) {
      this.scheduleDelete(t, this.config.tm.wtTimer);
    }
  }

  private scheduleDelete(t: ServerTxn, ms: number): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = setTimeout(deleteCb, ms, this, t);
  }

  /** @internal timer callback: frees a finished transaction (later if branches still run). */
  deleteWhenDone(t: ServerTxn): void {
    // keep transactions whose branches are still running (e.g. forked INVITE after a 2xx)
    if (t.pendingBranches() > 0 && !t.deleted) {
      t.timer = setTimeout(deleteCb, this.config.tm.wtTimer, this, t);
      return;
    }
    this.deleteTxn(t);
  }

  private deleteTxn(t: ServerTxn): void {
    if (t.deleted) return;
    t.deleted = true;
    this.clearTxnTimers(t);
    for (const b of t.branches) {
      this.clearBranchTimers(b);
      this.clientTxns.delete(b.key);
    }
    if (this.serverTxns.get(t.key) === t) this.serverTxns.delete(t.key);
    if (t.observers) notifyObservers(t.observers, "ended");
  }

  private clearTxnTimers(t: ServerTxn): void {
    if (t.timer) clearTimeout(t.timer);
    if (t.retransTimer) clearTimeout(t.retransTimer);
    t.timer = null;
    t.retransTimer = null;
  }

  private clearBranchTimers(b: Branch): void {
    if (b.retransTimer) clearTimeout(b.retransTimer);
    if (b.frTimer) clearTimeout(b.frTimer);
    b.retransTimer = null;
    b.frTimer = null;
  }

  /** A transaction whose route finished without relaying or replying: answer it so it ends. */
  finishIdle(t: ServerTxn): void {
    if (t.branches.length === 0 && !t.finalSent) {
      log.warn("request route ended without an action; replying 500", { callId: t.req.callId, method: t.method });
      this.txnReply(t, 500, "Server Internal Error (no route action)");
    }
  }

  // ------------------------------------------------------------------ stateless

  /** [sl_send_reply] a stateless local reply (no transaction). */
  sendStatelessReply(
    msg: SipMessage,
    src: Endpoint,
    sock: ListenSocket,
    conn: Connection | null,
    status: number,
    reason: string,
    opts: SendOptions = {},
  ): boolean {
    if (msg.method === "ACK") return false;
    const text = buildReply(msg, src, status, reason || REASONS[status] || "Unknown", this.config.forceRport, {
      headers: opts.headers,
      body: opts.body,
      contentType: opts.contentType,
      server: this.config.serverHeader,
    });
    this.countSlReply(status);
    const dest = this.replyDestination(msg, src);
    return this.transport.send(sock, dest, Buffer.from(text, "latin1"), conn?.id ?? null);
  }

  private countSlReply(status: number): void {
    const sl = this.sl;
    sl.inc("sent_replies");
    const cls = Math.floor(status / 100);
    if (status >= 300) sl.inc("sent_err_replies");
    const exact = SL_EXACT[status];
    if (exact) sl.inc(exact);
    sl.inc(cls >= 1 && cls <= 6 ? `${cls}xx_replies` : "xxx_replies");
  }

  /**
   * [forward] stateless forwarding (RFC 3261 §16.11): Via with a branch derived from the incoming
   * one, so retransmissions get the same branch. No transaction; replies are relayed by Via.
   */
  forwardStateless(msg: SipMessage, src: Endpoint, inSock: ListenSocket, plan: RelayPlan): boolean {
    const target = plan.targets[0];
    if (!target) return false;
    const hop = nextHopOf(target.dst ?? target.uri);
    if (!hop || hop.family === 0) return false;
    const sock = this.transport.chooseSocket(hop.proto, hop.family, target.socket);
    if (!sock) return false;
    const branch = `${this.branchPrefix}s${fnvHex(msg.topVia.branch ?? msg.callId, msg.method, target.uri)}`;
    const dest: Endpoint = { proto: hop.proto, address: hop.host, port: hop.port };
    const patches = this.requestPatches(msg, src, inSock, sock, plan, target, branch, dest);
    if (!patches) return false;
    const data = serializeBuffer(msg, patches, hop.proto !== "udp");
    this.k.fwd_requests!.v++;
    return this.transport.send(sock, dest, data);
  }

  // ------------------------------------------------------------------ relay

  /**
   * [t_relay] statefully forwards `t.req` to every target. Returns the number of branches started
   * (0 = nothing could be sent). Branch sending over DNS names completes asynchronously.
   */
  relay(t: ServerTxn, plan: RelayPlan): number {
    const msg = t.req;
    if (t.isInvite && this.isLoop(msg)) {
      this.txnReply(t, 482, "Loop Detected");
      return 0;
    }
    let started = 0;
    for (const target of plan.targets) {
      const index = t.branches.length + started;
      let branchPatches: Patch[] | null = null;
      if (this.runner?.onBranch) {
        const r = this.runner.onBranch(this, t, target, index);
        if (r.drop) continue;
        branchPatches = r.patches;
      }
      const hop = nextHopOf(target.dst ?? target.uri);
      if (!hop) {
        log.info("relay: target is not a SIP URI", { target: target.dst ?? target.uri });
        continue;
      }
      if (hop.proto !== "tls" && hop.proto !== "wss" && target.uri.slice(0, 5).toLowerCase() === "sips:") {
        // RFC 5630 §3.1.3: a SIPS request goes over TLS on every hop; never downgrade it
        log.info("relay: sips target needs a TLS/WSS next hop", { target: target.uri, dst: target.dst });
        continue;
      }
      if (hop.family === 0) {
        started++;
        void this.hooks.resolve(hop).then(
          (eps) => {
            const ep = eps[0];
            if (!ep || t.deleted) return this.branchUnreachable(t, target, index);
            // the other targets are kept for DNS failover inside this transaction
            this.startBranch(t, plan, target, withEndpoint(hop, ep), branchPatches, eps.slice(1));
          },
          () => this.branchUnreachable(t, target, index),
        );
        continue;
      }
      if (this.startBranch(t, plan, target, hop, branchPatches)) started++;
    }
    return started;
  }

  private branchUnreachable(t: ServerTxn, target: BranchTarget, index: number): void {
    log.info("relay: destination not resolvable", { target: target.dst ?? target.uri });
    // account as a failed branch so the transaction can complete
    const fake = new Branch(t, index, "", `unresolved-${t.id}-${index}`, target.uri, { proto: "udp", address: "0.0.0.0", port: 0 }, t.sock, Buffer.alloc(0), () => null, () => {});
    fake.final = 478;
    t.branches.push(fake);
    this.considerReply(t, 478, null, fake.index);
    this.checkCompletion(t);
  }

  private startBranch(t: ServerTxn, plan: RelayPlan, target: BranchTarget, hop: NextHop, branchPatches: Patch[] | null, rest: Endpoint[] = []): boolean {
    const msg = t.req;
    const sock = this.transport.chooseSocket(hop.proto, hop.family as 4 | 6, target.socket);
    if (!sock) {
      log.info("relay: no socket for destination", { proto: hop.proto, family: hop.family, target: target.uri });
      return false;
    }
    const index = t.branches.length;
    const branchId = `${this.branchPrefix}${fnvHex(target.uri, msg.callId, msg.fromTag ?? "", String(msg.cseq.seq))}.${(++this.branchSeq).toString(36)}`;
    const dest: Endpoint = { proto: hop.proto, address: hop.host, port: hop.port };
    let patches = this.requestPatches(msg, t.src, t.sock, sock, plan, target, branchId, dest);
    if (!patches) {
      // Max-Forwards exhausted
      this.txnReply(t, 483, "Too Many Hops");
      return false;
    }
    if (branchPatches && branchPatches.length) patches = patches.concat(branchPatches);
    const data = serializeBuffer(msg, patches, hop.proto !== "udp");
    const key = `${branchId}|${msg.method}`;
    const b = new Branch(t, index, branchId, key, target.uri, dest, sock, data, reparse, this.branchReplyFn);
    t.branches.push(b);
    if (t.observers) {
      const info = { index, uri: target.uri, dstUri: target.dst, dst: dest };
      notifyObservers(t.observers, "branchSent", info);
    }
    this.clientTxns.set(key, b);
    this.k.UAC_transactions!.v++;
    this.k.fwd_requests!.v++;
    b.sentAt = Date.now();
    if (rest.length && this.hooks.failover) this.failover.set(b, { plan, target, hop, patches: branchPatches, rest });
    const blocked = this.hooks.blocked ? this.hooks.blocked(dest) : false;
    const ok = !blocked && this.transport.send(sock, dest, data);
    if (!ok) {
      b.final = 503;
      this.considerReply(t, 503, null, index);
      if (!blocked) this.hooks.targetFailed?.(dest, 477);
      this.nextTarget(b);
      queueMicrotask(() => this.checkCompletion(t));
      return true;
    }
    if (dest.proto === "udp") {
      b.retransInterval = this.config.tm.t1;
      b.retransTimer = setTimeout(retransmitCb, b.retransInterval, this, b);
    }
    this.armFr(b, t.isInvite ? (t.frNonInv || this.config.tm.frTimer) : (t.frNonInv || this.config.tm.frTimer));
    return true;
  }

  /** @internal timer callback */
  retransmitBranch(b: Branch): void {
    b.retransTimer = null;
    if (b.final || b.txn.deleted) return;
    if (b.txn.isInvite && b.provisional) return; // Timer A stops on a provisional
    this.transport.send(b.sock, b.dst, b.sent);
    b.retransInterval = b.txn.isInvite ? b.retransInterval * 2 : Math.min(b.retransInterval * 2, this.config.tm.t2);
    b.retransTimer = setTimeout(retransmitCb, b.retransInterval, this, b);
  }

  private armFr(b: Branch, ms: number): void {
    if (b.frTimer) clearTimeout(b.frTimer);
    b.frTimer = setTimeout(frCb, ms, this, b);
  }

  /** @internal timer callback */
  branchTimeout(b: Branch): void {
    b.frTimer = null;
    if (b.final || b.txn.deleted) return;
    if (b.retransTimer) clearTimeout(b.retransTimer);
    b.retransTimer = null;
    b.timedOut = true;
    const t = b.txn;
    if (t.isInvite && b.provisional && !b.cancelSent) this.sendCancel(b, null);
    b.final = 408;
    this.considerReply(t, 408, null, b.index);
    if (!b.replied) {
      // no reply at all: the target is dead (blocklist) and DNS failover may try the next one
      this.hooks.targetFailed?.(b.dst, 408);
      this.nextTarget(b);
    }
    this.checkCompletion(t);
  }

  /**
   * A stream connection to `dest` ended before it was usable (connect refused, TLS handshake or
   * certificate failure; reported by the transport gateway): branches waiting on it fail now, as
   * a send failure would, instead of waiting for fr_timer — and may fail over to the next target.
   */
  connectionFailed(dest: Endpoint): void {
    const hit: Branch[] = [];
    for (const h of this.clientTxns.values()) {
      if (!(h instanceof Branch) || h.final !== 0 || h.replied) continue;
      const d = h.dst;
      if (d.proto === dest.proto && d.port === dest.port && d.address === dest.address) hit.push(h);
    }
    for (const b of hit) {
      this.clearBranchTimers(b);
      b.final = 503;
      this.considerReply(b.txn, 503, null, b.index);
      this.hooks.targetFailed?.(b.dst, 477);
      this.nextTarget(b);
      this.checkCompletion(b.txn);
    }
  }

  /**
   * [use_dns_failover] starts a new branch of the same transaction to the next target the
   * resolver returned for this branch's host, unless the caller cancelled or a final reply went out.
   */
  private nextTarget(b: Branch): void {
    const fo = this.failover.get(b);
    if (!fo) return;
    this.failover.delete(b);
    const t = b.txn;
    if (t.canceled || t.finalSent || t.deleted) return;
    const ep = fo.rest[0]!;
    log.info("dns failover to next target", { from: `${b.dst.address}:${b.dst.port}`, to: `${ep.address}:${ep.port}`, callId: t.req.callId });
    this.startBranch(t, fo.plan, fo.target, withEndpoint(fo.hop, ep), fo.patches, fo.rest.slice(1));
  }

  /**
   * Request-level and branch patches for one outgoing copy: our Via on top, received/rport on the
   * previous top Via, R-URI rewrite, Max-Forwards, Record-Route (double when sockets differ).
   * Returns null when Max-Forwards is exhausted.
   */
  private requestPatches(
    msg: SipMessage,
    src: Endpoint,
    inSock: ListenSocket,
    outSock: ListenSocket,
    plan: RelayPlan,
    target: BranchTarget,
    branchId: string,
    dest: Endpoint,
  ): Patch[] | null {
    const out: Patch[] = [];
    // received / rport on the top Via (RFC 3261 §18.2.1, RFC 3581)
    const vf = msg.field("via")!;
    const vr = viaWithReceived(msg, src, this.config.forceRport);
    if (vr.changed) {
      const full = msg.valueOf(vf);
      const comma = firstListComma(full);
      if (!vf.folded) {
        const topEnd = comma < 0 ? vf.valueEnd : vf.valueStart + comma;
        out.push(new Patch(vf.valueStart, topEnd, vr.value));
      }
    }
    // Max-Forwards (RFC 3261 §16.6 step 3)
    if (!plan.maxForwardsDone) {
      const mf = msg.field("max-forwards");
      if (!mf) out.push(new Patch(msg.headersEnd, msg.headersEnd, `Max-Forwards: ${this.config.maxfwd.default}\r\n`));
      else {
        const v = msg.maxForwards ?? 0;
        if (v <= 0) return null;
        out.push(new Patch(mf.valueStart, mf.valueEnd, String(v - 1)));
      }
    }
    // Record-Route
    if (plan.recordRoute !== null || plan.recordRoutePreset !== null) {
      let rrText: string;
      if (plan.recordRoutePreset !== null) rrText = `Record-Route: ${plan.recordRoutePreset}\r\n`;
      else {
        let params = plan.recordRoute ?? "";
        if (this.config.rr.appendFromTag && msg.fromTag) params += `;ftag=${msg.fromTag}`;
        // WebSocket peers are reachable only over their connection: their side of the
        // Record-Route carries a flow token (RFC 5626 §5.2), and both sides get an entry
        const inFlow = needsFlowToken(inSock.proto) ? encodeFlowToken(src) : null;
        const outFlow = needsFlowToken(outSock.proto) ? encodeFlowToken(dest) : null;
        const differ = outSock !== inSock || inFlow !== null || outFlow !== null;
        if (differ && this.config.rr.doubleRr) {
          rrText =
            `Record-Route: ${recordRouteValue(outSock, params, true, outFlow)}\r\n` +
            `Record-Route: ${recordRouteValue(inSock, params, true, inFlow)}\r\n`;
        } else {
          rrText = `Record-Route: ${recordRouteValue(inSock, params, false, inFlow)}\r\n`;
        }
      }
      const firstRr = msg.field("record-route");
      const at = firstRr ? firstRr.start : msg.startLineEnd;
      out.push(new Patch(at, at, rrText));
    }
    // our Via on top (after a Record-Route inserted at the same place, so the Vias stay together)
    out.push(new Patch(msg.startLineEnd, msg.startLineEnd, outSock.viaPrefix + branchId + "\r\n"));
    // R-URI
    if (target.uri !== msg.requestUri) out.push(new Patch(msg.ruriStart, msg.ruriEnd, target.uri));
    // Path (registrar-learnt path becomes Route headers)
    if (target.path) out.push(new Patch(msg.startLineEnd, msg.startLineEnd, `Route: ${target.path}\r\n`));
    return out;
  }

  /** Loop detection (RFC 3261 §16.3 item 4): our own Via with a branch made for this very request. */
  private isLoop(msg: SipMessage): boolean {
    const vias = msg.viasOrNull;
    if (!vias || vias.length < 2) return false;
    const want = fnvHex(msg.requestUri, msg.callId, msg.fromTag ?? "", String(msg.cseq.seq));
    for (let i = 0; i < vias.length; i++) {
      const v = vias[i]!;
      if (v.branch && v.branch.startsWith(this.branchPrefix) && this.isMyHostPort(v.host, v.port, v.transport)) {
        const h = v.branch.slice(this.branchPrefix.length, this.branchPrefix.length + 8);
        if (h === want) return true;
      }
    }
    return false;
  }

  // ------------------------------------------------------------------ replies

  private onResponse(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    const core = this.core;
    this.k.rcv_replies!.v++;
    const st = msg.status;
    this.rcvReplyClass[(st / 100) | 0]!.v++;
    if (st >= 180 && st < 190) this.k.rcv_replies_18x!.v++;
    const exact = RCV_EXACT[st];
    if (exact) core.inc(exact);
    if (validateResponse(msg)) {
      core.inc("err_replies");
      return;
    }
    this.k.rpl_received!.v++;
    const via = msg.topVia;
    const key = `${via.branch}|${msg.cseq.method}`;
    const h = via.branch ? this.clientTxns.get(key) : undefined;
    if (h) {
      h.onReply(msg, src);
      return;
    }
    // no transaction: relay statelessly if the top Via is ours (RFC 3261 §16.11, 2xx retransmissions)
    if (!via.branch || !via.branch.startsWith(this.branchPrefix) || !this.isMyHostPort(via.host, via.port, via.transport)) {
      core.inc("drop_replies");
      return;
    }
    if (this.runner && !this.runner.onReply(this, null, msg, null, src)) {
      core.inc("drop_replies");
      return;
    }
    this.forwardReplyStateless(msg);
  }

  /** Removes our top Via value and sends the reply to the next Via (received/rport honoured). */
  private forwardReplyStateless(msg: SipMessage): boolean {
    const vias = msg.viasOrNull;
    if (!vias || vias.length < 2) {
      this.core.inc("drop_replies");
      return false;
    }
    const next = vias[1]!;
    const proto = next.transport.toLowerCase() as TransportProto;
    const address = next.received ?? next.host;
    if (address === "255.255.255.255" || /^(22[4-9]|23\d)\./.test(address)) {
      this.core.inc("drop_replies");
      return false;
    }
    const port = next.rport && next.rport !== "" ? Number(next.rport) : next.port ?? (proto === "tls" ? 5061 : 5060);
    const fam = address.indexOf(":") >= 0 ? 6 : 4;
    const sock = this.transport.chooseSocket(proto === "udp" ? "udp" : proto, fam);
    if (!sock) return false;
    const data = serializeBuffer(msg, removeTopViaPatch(msg));
    this.k.fwd_replies!.v++;
    return this.transport.send(sock, { proto, address, port }, data);
  }

  private onBranchReply(b: Branch, msg: SipMessage, src: Endpoint): void {
    const t = b.txn;
    const st = msg.status;
    b.replied = true;
    if (b.retransTimer && (t.isInvite || st >= 200)) {
      clearTimeout(b.retransTimer);
      b.retransTimer = null;
    }
    if (st < 200) {
      if (b.final) return;
      b.provisional = st;
      if (t.isInvite) this.armFr(b, t.frInv || this.config.tm.frInvTimer);
      if (b.pendingCancel && !b.cancelSent) this.sendCancel(b, t.cancelReason);
      if (st === 100) {
        this.k.rpl_absorbed!.v++;
        return;
      }
      if (this.runner && !this.runner.onReply(this, t, msg, b, src)) return;
      if (t.finalSent) return;
      this.relayReply(t, msg, st, b.index);
      return;
    }
    if (st < 300) {
      const firstFinal = b.final === 0;
      b.final = st;
      if (b.frTimer) clearTimeout(b.frTimer);
      b.frTimer = null;
      if (!firstFinal && !t.isInvite) return; // retransmitted final for non-INVITE
      if (this.runner && !this.runner.onReply(this, t, msg, b, src)) return;
      if (t.isInvite) {
        // every 2xx to an INVITE goes upstream (RFC 3261 §16.7 step 5)
        if (!t.accepted) {
          t.accepted = true;
          for (const o of t.branches) {
            if (o !== b && o.final === 0 && !o.dropped) this.sendCancel(o, 'SIP;cause=200;text="Call completed elsewhere"');
          }
        }
        this.relayReply(t, msg, st, b.index);
      } else if (!t.finalSent) {
        this.relayReply(t, msg, st, b.index);
      }
      return;
    }
    // negative final reply
    if (b.final !== 0) {
      // retransmission: re-ACK for INVITE
      if (t.isInvite && b.final >= 300) this.sendAck(b, msg);
      this.k.rpl_absorbed!.v++;
      return;
    }
    b.final = st;
    if (b.frTimer) clearTimeout(b.frTimer);
    b.frTimer = null;
    if (t.isInvite) this.sendAck(b, msg);
    if (st === 503) {
      // RFC 3263 §4.3: a 503 moves on to the next target (and blocklists this one, tm blst_503)
      this.hooks.targetFailed?.(b.dst, 503);
      this.nextTarget(b);
    }
    if (this.runner && !this.runner.onReply(this, t, msg, b, src)) {
      // dropped reply still completes the branch, but does not compete as best reply
      this.checkCompletion(t);
      return;
    }
    this.considerReply(t, st, msg, b.index);
    this.checkCompletion(t);
  }

  /** Keeps the best final reply (RFC 3261 §16.7 step 6): 6xx first, then the lowest class. */
  considerReply(t: ServerTxn, status: number, msg: SipMessage | null, branch: number): void {
    const cur = t.best;
    if (!cur || betterReply(status, cur.status)) t.best = { status, msg, branch };
  }

  /** When every branch has a final reply: run the failure route, else send the best reply. */
  checkCompletion(t: ServerTxn): void {
    if (t.deleted || t.finalSent || t.inFailure || t.suspended) return;
    if (t.pendingBranches() > 0) return;
    if (t.branches.length === 0) return;
    const runner = this.runner;
    if (runner) {
      const ran = runner.onFailure(this, t);
      if (ran instanceof Promise) {
        t.inFailure = true;
        ran.then(
          () => {
            t.inFailure = false;
            this.afterFailure(t);
          },
          (e) => {
            t.inFailure = false;
            log.error("failure route threw", { error: String(e) });
            this.afterFailure(t);
          },
        );
        return;
      }
      if (ran) {
        this.afterFailure(t);
        return;
      }
    }
    this.sendBestReply(t);
  }

  private afterFailure(t: ServerTxn): void {
    if (t.deleted || t.finalSent) return;
    if (t.pendingBranches() > 0) return; // new branches were started
    this.sendBestReply(t);
  }

  private sendBestReply(t: ServerTxn): void {
    if (t.finalSent) return;
    const best = t.best;
    if (t.canceled && (!best || best.status !== 487)) {
      this.txnReply(t, 487, "Request Terminated");
      return;
    }
    if (!best || !best.msg) {
      const st = best?.status ?? 500;
      this.txnReply(t, st === 478 ? 500 : st, st === 408 ? "Request Timeout" : st === 478 ? "Unresolvable destination" : REASONS[st] ?? "Server Error");
      return;
    }
    if (best.status === 503 && this.config.tm.remap503) {
      this.txnReply(t, 500, "Service Unavailable");
      return;
    }
    this.relayReply(t, best.msg, best.status, best.branch);
  }

  /** Relays a reply received on branch `branch` upstream (our top Via removed). */
  private relayReply(t: ServerTxn, msg: SipMessage, status: number, branch: number): void {
    const ctxPatches = removeTopViaPatch(msg);
    const data = serializeBuffer(msg, ctxPatches, t.src.proto !== "udp");
    this.k.rpl_relayed!.v++;
    this.k.rpl_sent!.v++;
    this.k.fwd_replies!.v++;
    this.recordUpstream(t, status, data);
    if (t.observers) notifyObservers(t.observers, "replySent", status, msg, branch, false);
  }

  /**
   * Tells the transaction's observers about a reply the proxy generated. The reply is parsed
   * from the bytes just sent, so observers see its To-tag; this only runs when someone observes.
   */
  private notifyLocalReply(t: ServerTxn, status: number, data: Buffer): void {
    const r = parseMessage(data, this.limits);
    if (!r.ok) {
      log.warn("cannot parse own local reply for transaction observers", { status, reason: r.reason });
      return;
    }
    notifyObservers(t.observers!, "replySent", status, r.msg, -1, true);
  }

  private sendAck(b: Branch, reply: SipMessage): void {
    const req = b.request();
    if (!req) return;
    const data = Buffer.from(buildAckForBranch(req, reply), "latin1");
    this.transport.send(b.sock, b.dst, data, b.connId);
  }

  /** [t_cancel] CANCELs a pending branch (or waits for its first provisional, RFC 3261 §9.1). */
  sendCancel(b: Branch, reason: string | null): void {
    if (b.cancelSent || b.final) return;
    if (!b.provisional) {
      b.pendingCancel = true;
      return;
    }
    b.cancelSent = true;
    const req = b.request();
    if (!req) return;
    const data = Buffer.from(buildCancelForBranch(req, reason), "latin1");
    const key = `${b.branchId}|CANCEL`;
    const cancel: ClientHandler & { timer: NodeJS.Timeout | null; interval: number; done: boolean; until: number } = {
      key,
      timer: null,
      interval: this.config.tm.t1,
      done: false,
      until: Date.now() + 64 * this.config.tm.t1,
      onReply: () => {
        cancel.done = true;
        if (cancel.timer) clearTimeout(cancel.timer);
        this.clientTxns.delete(key);
      },
    };
    this.clientTxns.set(key, cancel);
    this.transport.send(b.sock, b.dst, data, b.connId);
    const rt = () => {
      if (cancel.done) return;
      if (Date.now() >= cancel.until) {
        this.clientTxns.delete(key);
        return;
      }
      if (b.dst.proto === "udp") this.transport.send(b.sock, b.dst, data, b.connId);
      cancel.interval = Math.min(cancel.interval * 2, this.config.tm.t2);
      cancel.timer = setTimeout(rt, cancel.interval);
    };
    cancel.timer = setTimeout(rt, cancel.interval);
  }

  /** Handles a CANCEL matching an INVITE transaction: 200 to the CANCEL, CANCEL every branch. */
  cancelInvite(inv: ServerTxn, cancelMsg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    const ct = this.createServerTxn(cancelMsg, src, sock, conn);
    if (ct) this.txnReply(ct, 200, "canceling");
    else this.sendStatelessReply(cancelMsg, src, sock, conn, 200, "canceling");
    if (inv.finalSent) return;
    inv.canceled = true;
    inv.cancelReason = cancelMsg.header("reason");
    for (const b of inv.branches) if (b.final === 0) this.sendCancel(b, inv.cancelReason);
    if (inv.branches.length === 0 && !inv.suspended) this.txnReply(inv, 487, "Request Terminated");
  }

  /** Finds the INVITE server transaction a CANCEL refers to. */
  findInviteFor(cancelMsg: SipMessage): ServerTxn | undefined {
    return this.serverTxns.get(serverKey(cancelMsg, "INVITE"));
  }

  findTxnFor(msg: SipMessage): ServerTxn | undefined {
    return this.serverTxns.get(serverKey(msg, msg.method === "ACK" ? "INVITE" : msg.method));
  }

  // ------------------------------------------------------------------ UAC (probes, keep-alives)

  /** Sends a request of Olelo's own (e.g. an OPTIONS probe) and resolves with the final reply. */
  uacRequest(opts: UacRequestOptions): Promise<UacResult> {
    const named = nextHopOf(opts.destination ?? opts.uri);
    if (named && named.family === 0) {
      // a host name (e.g. a dispatcher probe to sip:gw.example.net): RFC 3263 first, then send
      // to the first target; the R-URI stays as given
      return this.hooks.resolve(named).then(
        (eps) => {
          const ep = eps[0];
          if (!ep) return { code: 478, reason: "Unresolvable destination", latencyMs: 0 };
          const host = ep.address.indexOf(":") >= 0 ? `[${ep.address}]` : ep.address;
          return this.uacRequest({ ...opts, destination: `sip:${host}:${ep.port};transport=${ep.proto}` });
        },
        () => ({ code: 478, reason: "Unresolvable destination", latencyMs: 0 }),
      );
    }
    return new Promise((resolve) => {
      const started = Date.now();
      const hop = nextHopOf(opts.destination ?? opts.uri);
      if (!hop || hop.family === 0) {
        resolve({ code: 478, reason: "Unresolvable destination", latencyMs: 0 });
        return;
      }
      const sock = this.transport.chooseSocket(hop.proto, hop.family, opts.socket ?? null);
      if (!sock) {
        resolve({ code: 503, reason: "No socket", latencyMs: 0 });
        return;
      }
      const seq = ++this.uacSeq;
      const branch = `${this.branchPrefix}u${seq.toString(36)}`;
      // in-dialog requests (opts.callId/fromTag/toTag/cseq/routes) reuse the dialog's identifiers
      const callId = opts.callId ?? `${randomToken(12)}-${seq}@${sock.viaHost}`;
      const from = opts.from ?? `sip:olelo@${sock.viaHost}`;
      let text = `${opts.method} ${opts.uri} SIP/2.0\r\n`;
      text += `Via: SIP/2.0/${sock.proto.toUpperCase()} ${sock.viaHost}:${sock.viaPort};branch=${branch}\r\n`;
      if (opts.destination && opts.destination !== opts.uri) {
        // outbound proxy: the request still names the URI; it is sent to the destination
      }
      if (opts.routes) for (const r of opts.routes) text += `Route: ${r.startsWith("<") ? r : `<${r}>`}\r\n`;
      text += `From: <${from}>;tag=${opts.fromTag ?? randomToken(10)}\r\n`;
      text += `To: <${opts.to ?? opts.uri}>${opts.toTag ? `;tag=${opts.toTag}` : ""}\r\n`;
      text += `Call-ID: ${callId}\r\n`;
      text += `CSeq: ${opts.cseq ?? 10} ${opts.method}\r\n`;
      text += `Max-Forwards: 70\r\n`;
      if (this.config.serverHeader) text += `User-Agent: ${this.config.serverHeader}\r\n`;
      if (opts.headers) for (const [n, v] of Object.entries(opts.headers)) text += `${n}: ${v}\r\n`;
      const body = opts.body ?? "";
      text += `Content-Length: ${body.length}\r\n\r\n${body}`;
      const data = Buffer.from(text, "latin1");
      const dest: Endpoint = { proto: hop.proto, address: hop.host, port: hop.port };
      const key = `${branch}|${opts.method}`;
      let retrans: NodeJS.Timeout | null = null;
      let interval = this.config.tm.t1;
      const finish = (code: number, reason: string) => {
        if (retrans) clearTimeout(retrans);
        clearTimeout(fr);
        this.clientTxns.delete(key);
        resolve({ code, reason, latencyMs: Date.now() - started });
      };
      const fr = setTimeout(() => finish(408, "Request Timeout"), opts.timeoutMs ?? this.config.tm.frTimer);
      this.clientTxns.set(key, {
        key,
        onReply: (m) => {
          if (m.status >= 200 && m.status !== 503) this.hooks.targetAlive?.(dest);
          if (m.status >= 200) finish(m.status, m.reason);
          else if (retrans && hop.proto === "udp") {
            clearTimeout(retrans);
            interval = this.config.tm.t2;
            retrans = setTimeout(rt, interval);
          }
        },
      });
      const rt = () => {
        this.transport.send(sock, dest, data);
        interval = Math.min(interval * 2, this.config.tm.t2);
        retrans = setTimeout(rt, interval);
      };
      this.k.UAC_transactions!.v++;
      if (!this.transport.send(sock, dest, data)) {
        finish(503, "Send failed");
        return;
      }
      if (hop.proto === "udp") retrans = setTimeout(rt, interval);
    });
  }

  /** Sends raw bytes (keep-alives) from a socket. */
  sendRaw(dest: { proto: string; address: string; port: number }, data: Buffer, socket?: string): void {
    const proto = dest.proto as TransportProto;
    const sock = this.transport.chooseSocket(proto, dest.address.indexOf(":") >= 0 ? 6 : 4, socket ?? null);
    if (sock) this.transport.send(sock, { proto, address: dest.address, port: dest.port }, data, null, true);
  }

  /** Host string (with brackets for IPv6) of the first socket, for building URIs. */
  primaryHost(): string {
    const s = this.transport.sockets[0];
    return s ? s.viaHost : "127.0.0.1";
  }

  formatHost(h: string): string {
    return formatHost(h);
  }
}

/**
 * Calls one TransactionObserver method on every observer of a transaction (see
 * script/context.ts); an observer that throws is logged and never breaks the transaction.
 */
function notifyObservers<K extends keyof TransactionObserver>(
  list: readonly TransactionObserver[],
  event: K,
  ...args: Parameters<NonNullable<TransactionObserver[K]>>
): void {
  for (const o of list) {
    const fn = o[event] as ((...a: unknown[]) => void) | undefined;
    if (!fn) continue;
    try {
      fn.apply(o, args);
    } catch (e) {
      log.error("transaction observer failed", { event, error: e instanceof Error ? e.stack ?? e.message : String(e) });
    }
  }
}

function retransmitCb(core: SipCore, b: Branch): void {
  core.retransmitBranch(b);
}
function frCb(core: SipCore, b: Branch): void {
  core.branchTimeout(b);
}
function deleteCb(core: SipCore, t: ServerTxn): void {
  core.deleteWhenDone(t);
}

/** Server transaction key (RFC 3261 §17.2.3; RFC 2543 fallback without the magic cookie). */
export function serverKey(msg: SipMessage, method: string): string {
  const via = msg.topVia;
  const m = method === "ACK" ? "INVITE" : method;
  if (via.branch && via.branch.startsWith("z9hG4bK")) {
    return `${via.branch}|${via.host}:${via.port ?? ""}|${m}`;
  }
  return `2543|${msg.callId}|${msg.cseq.seq}|${msg.fromTag ?? ""}|${via.raw}|${m}`;
}

function removeTopViaPatch(msg: SipMessage): Patch[] {
  const f = msg.field("via")!;
  const full = msg.valueOf(f);
  const comma = firstListComma(full);
  if (comma < 0 || f.folded) return [{ start: f.start, end: f.end, text: "" }];
  // remove "top," and the whitespace after it
  let e = f.valueStart + comma + 1;
  const raw = msg.raw;
  while (e < f.valueEnd && (raw.charCodeAt(e) === 32 || raw.charCodeAt(e) === 9)) e++;
  return [{ start: f.valueStart, end: e, text: "" }];
}

/** The next hop with a resolved address (DNS answer) in place of the host name. */
function withEndpoint(hop: NextHop, ep: Endpoint): NextHop {
  return { ...hop, host: ep.address, port: ep.port, proto: ep.proto, family: ep.address.indexOf(":") >= 0 ? 6 : 4 };
}

function reparse(b: Buffer): SipMessage | null {
  const r = parseMessage(b);
  return r.ok ? r.msg : null;
}

/** RFC 3261 §16.7 step 6 preference: 6xx first, else lower class wins; 4xx prefers auth/extension codes. */
function betterReply(a: number, b: number): boolean {
  const ca = Math.floor(a / 100);
  const cb = Math.floor(b / 100);
  if (cb === 6) return false;
  if (ca === 6) return true;
  // a local 408 (timeout) loses to any real reply
  if (ca !== cb) return ca < cb;
  const pref = (s: number) => (s === 401 || s === 407 || s === 415 || s === 420 || s === 484 ? 1 : 0);
  return pref(a) > pref(b);
}

function isKeepAlive(d: Buffer): boolean {
  for (const c of d) if (c !== 13 && c !== 10 && c !== 0) return false;
  return true;
}

async function defaultResolve(hop: NextHop): Promise<Endpoint[]> {
  const addrs = await lookup(hop.host, { all: true });
  return addrs.map((a) => ({ proto: hop.proto, address: a.address, port: hop.port }));
}

const METHOD_STAT: Record<string, string> = {
  INVITE: "rcv_requests_invite",
  CANCEL: "rcv_requests_cancel",
  ACK: "rcv_requests_ack",
  BYE: "rcv_requests_bye",
  INFO: "rcv_requests_info",
  REGISTER: "rcv_requests_register",
  SUBSCRIBE: "rcv_requests_subscribe",
  NOTIFY: "rcv_requests_notify",
  MESSAGE: "rcv_requests_message",
  OPTIONS: "rcv_requests_options",
  PRACK: "rcv_requests_prack",
  UPDATE: "rcv_requests_update",
  REFER: "rcv_requests_refer",
  PUBLISH: "rcv_requests_publish",
  KDMQ: "rcv_requests_kdmq",
};

const RCV_EXACT: Record<number, string> = Object.fromEntries(
  [400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 413, 414, 415, 420, 480, 481, 482, 483, 484, 485, 486, 487, 488, 489, 491, 493].map(
    (c) => [c, `rcv_replies_${c}`],
  ),
);

const SL_EXACT: Record<number, string> = Object.fromEntries(
  [200, 202, 300, 301, 302, 400, 401, 403, 404, 407, 408, 483, 500].map((c) => [c, `${c}_replies`]),
);
