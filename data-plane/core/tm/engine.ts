import type { CoreConfig } from "../config.js";
import { MyselfSet } from "./myself.js";
import type { StatsRegistry, StatGroup } from "../stats/counters.js";
import type { EventBus } from "../events/bus.js";
import type { Endpoint, SipUri } from "../../../lib/sip/types.js";
import type { UacRequestOptions, UacResult } from "../module.js";
import type { SipMessage, Patch } from "../sip/message.js";
import type { ParseLimits } from "../sip/parse.js";
import { TransportLayer, type Connection } from "../transport/transport-layer.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import { parseUri, formatHost } from "../../../lib/sip/uri.js";
import { randomToken } from "./hash.js";
import { Branch, type ClientHandler, type ServerTxn } from "./transaction.js";
import type { NextHop } from "./routing.js";
import type { BranchTarget, RelayPlan, SendOptions } from "./types.js";
import type { DnsLookup, ScriptRunner } from "./api.js";
import { baseDispatcher, type Dispatcher, type Interceptor } from "./dispatch.js";
import type { CoreHooks, FailoverState, Tm } from "./internal.js";
import { TmCounters } from "./stats.js";
import { TimerWheel } from "./timer-wheel.js";
import { KeyTable } from "../../../lib/runtime/key-table.js";
import * as receive from "./receive.js";
import * as server from "./server-txn.js";
import * as sl from "./sl.js";
import * as fwd from "./fwd.js";
import * as reply from "./reply.js";
import * as cancel from "./cancel.js";
import * as uac from "./uac.js";

export type { ScriptRunner, TransactionApi, DnsLookup } from "./api.js";
export type { BranchTarget, RelayPlan } from "./types.js";
export type { CoreHooks } from "./internal.js";
export type { Dispatcher, Interceptor, DispatchOptions } from "./dispatch.js";
export type { WireHook } from "./wire-hook.js";

/**
 * The SIP engine: receives messages from the transports, matches them to transactions, runs the
 * routing script, forwards requests on branches and relays replies (RFC 3261 §16, §17; Kamailio
 * receive.c, tm, sl, rr). One instance per data-plane process.
 *
 * A thin facade: the work is done by the parts along Kamailio tm's seams — receive.ts (receive,
 * t_lookup), server-txn.ts (t_newtran, local replies, timers), sl.ts (stateless replies and
 * forwarding), fwd.ts + patches.ts (t_fwd), reply.ts (t_reply, failure handling), cancel.ts
 * (t_cancel, ACK), uac.ts (own requests), stats.ts (t_stats) — which see the engine through
 * the `Tm` interface (internal.ts). The script sees the narrower `TransactionApi` (api.ts);
 * branches leave through a Dispatcher chain (dispatch.ts) that interceptors wrap (`use`).
 */
export class SipCore implements Tm {
  readonly transport: TransportLayer;
  readonly serverTxns = new KeyTable<ServerTxn>();
  readonly clientTxns = new KeyTable<ClientHandler>();
  readonly limits: ParseLimits;
  readonly counters: TmCounters;
  readonly timers = new TimerWheel();
  runner: ScriptRunner | null = null;
  hooks: CoreHooks = { preParse: null, wire: null, strayReply: null };
  /** How branches are resolved and sent; interceptors (the transport gateway) wrap it. */
  dispatcher: Dispatcher;
  /** Branches that still have DNS targets to fail over to (use_dns_failover). */
  readonly failover = new WeakMap<Branch, FailoverState>();
  /** host:port pairs and aliases that are "myself" */
  private readonly myself = new MyselfSet();
  /** Via branch prefix of this core; with workers it names the worker (setBranchPrefix before start). */
  branchPrefix: string;
  readonly branchReplyFn = (b: Branch, m: SipMessage, src: Endpoint) => this.onBranchReply(b, m, src);
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
      maxConnectionsPerSource: config.tcp.maxConnectionsPerSource,
      firstMessageTimeoutMs: config.tcp.firstMessageTimeoutMs,
    });
    this.dispatcher = baseDispatcher(this.transport);
    this.counters = new TmCounters(stats, this.serverTxns);
    this.branchPrefix = `z9hG4bK-ole${randomToken(4)}`;
    this.transport.acceptFilter = (src) => (this.hooks.preParse ? this.hooks.preParse(src) : false);
  }

  /** Wraps the dispatcher chain with an interceptor (outermost last). */
  use(interceptor: Interceptor): this {
    this.dispatcher = interceptor(this.dispatcher);
    return this;
  }

  /** Statistic groups core, tmx and sl. */
  get core(): StatGroup {
    return this.counters.core;
  }
  get tmx(): StatGroup {
    return this.counters.tmx;
  }
  get sl(): StatGroup {
    return this.counters.sl;
  }

  async start(): Promise<void> {
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
    this.timers.stop();
    await this.transport.close();
  }

  nextBranchSeq(): number {
    return ++this.branchSeq;
  }
  nextUacSeq(): number {
    return ++this.uacSeq;
  }

  // ------------------------------------------------------------------ TransactionApi extras

  get maxForwardsDefault(): number {
    return this.config.maxfwd.default;
  }

  get dnsLookup(): DnsLookup | null {
    const d = this.dispatcher;
    return d.lookup ? (name, type) => d.lookup!(name, type) : null;
  }

  countDroppedRequest(): void {
    this.counters.core.inc("drop_requests");
  }

  // ------------------------------------------------------------------ myself

  /** [uri==myself] host is one of ours and the port (default 5060/5061) is one we listen on. */
  isMyself(uriText: string): boolean {
    const u = parseUri(uriText);
    return u !== null && this.isMyselfUri(u);
  }

  isMyselfUri(u: SipUri): boolean {
    if (u.scheme === "tel") return false;
    return this.myself.has(u.host, u.port, u.scheme === "sips");
  }

  isMyHostPort(host: string, port: number | null, proto?: string): boolean {
    return this.myself.has(host, port, proto === "TLS");
  }

  // ------------------------------------------------------------------ receive (receive.ts)

  private onInbound(data: Buffer, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    receive.onInbound(this, data, src, sock, conn);
  }
  onRequest(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    receive.onRequest(this, msg, src, sock, conn);
  }
  onResponse(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    receive.onResponse(this, msg, src, sock, conn);
  }
  findInviteFor(cancelMsg: SipMessage): ServerTxn | undefined {
    return receive.findInviteFor(this, cancelMsg);
  }
  findTxnFor(msg: SipMessage): ServerTxn | undefined {
    return receive.findTxnFor(this, msg);
  }

  // ------------------------------------------------------------------ server transactions (server-txn.ts)

  createServerTxn(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): ServerTxn | null {
    return server.createServerTxn(this, msg, src, sock, conn);
  }
  replyDestination(msg: SipMessage, src: Endpoint): Endpoint {
    return server.replyDestination(this, msg, src);
  }
  sendUpstream(t: ServerTxn, data: Buffer): void {
    server.sendUpstream(this, t, data);
  }
  txnReply(t: ServerTxn, status: number, reason: string, opts: SendOptions = {}): boolean {
    return server.txnReply(this, t, status, reason, opts);
  }
  recordUpstream(t: ServerTxn, status: number, data: Buffer): void {
    server.recordUpstream(this, t, status, data);
  }
  absorbAck(t: ServerTxn): void {
    server.absorbAck(this, t);
  }
  scheduleDelete(t: ServerTxn, ms: number): void {
    server.scheduleDelete(this, t, ms);
  }
  deleteWhenDone(t: ServerTxn): void {
    server.deleteWhenDone(this, t);
  }
  deleteTxn(t: ServerTxn): void {
    server.deleteTxn(this, t);
  }
  clearTxnTimers(t: ServerTxn): void {
    server.clearTxnTimers(this, t);
  }
  clearBranchTimers(b: Branch): void {
    server.clearBranchTimers(this, b);
  }
  finishIdle(t: ServerTxn): void {
    server.finishIdle(this, t);
  }

  // ------------------------------------------------------------------ stateless (sl.ts)

  sendStatelessReply(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null, status: number, reason: string, opts: SendOptions = {}): boolean {
    return sl.sendStatelessReply(this, msg, src, sock, conn, status, reason, opts);
  }
  countSlReply(status: number): void {
    this.counters.countSlReply(status);
  }
  forwardStateless(msg: SipMessage, src: Endpoint, inSock: ListenSocket, plan: RelayPlan): boolean {
    return sl.forwardStateless(this, msg, src, inSock, plan);
  }
  forwardReplyStateless(msg: SipMessage): boolean {
    return sl.forwardReplyStateless(this, msg);
  }

  // ------------------------------------------------------------------ forwarding (fwd.ts, patches.ts)

  relay(t: ServerTxn, plan: RelayPlan): number {
    return fwd.relay(this, t, plan);
  }
  startBranch(t: ServerTxn, plan: RelayPlan, target: BranchTarget, hop: NextHop, branchPatches: Patch[] | null, rest: Endpoint[] = []): boolean {
    return fwd.startBranch(this, t, plan, target, hop, branchPatches, rest);
  }
  branchUnreachable(t: ServerTxn, target: BranchTarget, index: number): void {
    fwd.branchUnreachable(this, t, target, index);
  }
  retransmitBranch(b: Branch): void {
    fwd.retransmitBranch(this, b);
  }
  armFr(b: Branch, ms: number): void {
    fwd.armFr(this, b, ms);
  }
  branchTimeout(b: Branch): void {
    fwd.branchTimeout(this, b);
  }
  /**
   * A stream connection to `dest` ended before it was usable (connect refused, TLS handshake or
   * certificate failure; reported by the transport gateway): waiting branches fail now.
   */
  connectionFailed(dest: Endpoint): void {
    fwd.connectionFailed(this, dest);
  }
  nextTarget(b: Branch): void {
    fwd.nextTarget(this, b);
  }
  isLoop(msg: SipMessage): boolean {
    return fwd.isLoop(this, msg);
  }

  // ------------------------------------------------------------------ replies (reply.ts)

  onBranchReply(b: Branch, msg: SipMessage, src: Endpoint): void {
    reply.onBranchReply(this, b, msg, src);
  }
  considerReply(t: ServerTxn, status: number, msg: SipMessage | null, branch: number): void {
    reply.considerReply(this, t, status, msg, branch);
  }
  checkCompletion(t: ServerTxn): void {
    reply.checkCompletion(this, t);
  }
  relayReply(t: ServerTxn, msg: SipMessage, status: number, branch: number): void {
    reply.relayReply(this, t, msg, status, branch);
  }
  notifyLocalReply(t: ServerTxn, status: number, data: Buffer): void {
    reply.notifyLocalReply(this, t, status, data);
  }

  // ------------------------------------------------------------------ CANCEL / ACK (cancel.ts)

  sendAck(b: Branch, r: SipMessage): void {
    cancel.sendAck(this, b, r);
  }
  sendCancel(b: Branch, reason: string | null): void {
    cancel.sendCancel(this, b, reason);
  }
  cancelInvite(inv: ServerTxn, cancelMsg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    cancel.cancelInvite(this, inv, cancelMsg, src, sock, conn);
  }

  // ------------------------------------------------------------------ UAC (uac.ts)

  /** Sends a request of Olelo's own (e.g. an OPTIONS probe) and resolves with the final reply. */
  uacRequest(opts: UacRequestOptions): Promise<UacResult> {
    return uac.uacRequest(this, opts);
  }
  /** Sends raw bytes (keep-alives) from a socket. */
  sendRaw(dest: { proto: string; address: string; port: number }, data: Buffer, socket?: string): void {
    uac.sendRaw(this, dest, data, socket);
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
