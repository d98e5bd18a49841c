import type { Endpoint } from "../../../lib/sip/types.js";
import type { CoreConfig } from "../config.js";
import type { KeyTable } from "../../../lib/runtime/key-table.js";
import type { SipMessage, Patch } from "../sip/message.js";
import type { ParseLimits } from "../sip/parse.js";
import type { Connection, TransportLayer } from "../transport/transport-layer.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import type { Branch, ClientHandler, ServerTxn } from "./transaction.js";
import type { BranchTarget, RelayPlan, SendOptions } from "./types.js";
import type { ScriptRunner, TransactionApi } from "./api.js";
import type { Dispatcher } from "./dispatch.js";
import type { NextHop } from "./routing.js";
import type { TmCounters } from "./stats.js";
import type { WireHook } from "./wire-hook.js";
import type { TimerWheel } from "./timer-wheel.js";

/** Receive filters that run before parsing. */
export interface CoreHooks {
  /** Called with the source address before parsing; return true to drop (ipban). */
  preParse: ((src: Endpoint) => boolean) | null;
  /** Topology hiding (topos/topoh): sees messages after parsing and before sending (wire-hook.ts). */
  wire: WireHook | null;
  /**
   * Workers: a reply that matches no transaction here, offered to the worker its branch names
   * (a reply on this worker's connection to another worker's request); true = handed over.
   */
  strayReply: ((branch: string, msg: SipMessage, src: Endpoint, sock: ListenSocket) => boolean) | null;
}

/** What a branch needs to fail over to the next DNS target in the same transaction. */
export interface FailoverState {
  plan: RelayPlan;
  target: BranchTarget;
  hop: NextHop;
  patches: Patch[] | null;
  rest: Endpoint[];
}

/**
 * The engine as its parts see it (tm/engine.ts implements it): shared state and the operations of
 * the other parts. Each part (receive, server-txn, sl, fwd, reply, cancel, uac) is a set of
 * functions over this interface and imports no other part, so the parts cannot form a cycle;
 * the engine composes them.
 */
export interface Tm extends TransactionApi {
  readonly config: CoreConfig;
  readonly transport: TransportLayer;
  readonly serverTxns: KeyTable<ServerTxn>;
  readonly clientTxns: KeyTable<ClientHandler>;
  readonly limits: ParseLimits;
  readonly counters: TmCounters;
  /** All transaction timers (timer-wheel.ts). */
  readonly timers: TimerWheel;
  readonly hooks: CoreHooks;
  readonly dispatcher: Dispatcher;
  readonly runner: ScriptRunner | null;
  readonly branchPrefix: string;
  readonly failover: WeakMap<Branch, FailoverState>;
  readonly branchReplyFn: (b: Branch, m: SipMessage, src: Endpoint) => void;
  /** next branch / UAC sequence numbers */
  nextBranchSeq(): number;
  nextUacSeq(): number;
  isMyHostPort(host: string, port: number | null, proto?: string): boolean;
  // receive
  onRequest(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void;
  onResponse(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void;
  // server transactions
  replyDestination(msg: SipMessage, src: Endpoint): Endpoint;
  sendUpstream(t: ServerTxn, data: Buffer): void;
  recordUpstream(t: ServerTxn, status: number, data: Buffer): void;
  absorbAck(t: ServerTxn): void;
  scheduleDelete(t: ServerTxn, ms: number): void;
  deleteWhenDone(t: ServerTxn): void;
  deleteTxn(t: ServerTxn): void;
  clearTxnTimers(t: ServerTxn): void;
  clearBranchTimers(b: Branch): void;
  // stateless
  countSlReply(status: number): void;
  forwardReplyStateless(msg: SipMessage): boolean;
  // forwarding
  startBranch(t: ServerTxn, plan: RelayPlan, target: BranchTarget, hop: NextHop, branchPatches: Patch[] | null, rest?: Endpoint[]): boolean;
  branchUnreachable(t: ServerTxn, target: BranchTarget, index: number): void;
  retransmitBranch(b: Branch): void;
  armFr(b: Branch, ms: number): void;
  branchTimeout(b: Branch): void;
  nextTarget(b: Branch): void;
  isLoop(msg: SipMessage): boolean;
  // replies
  onBranchReply(b: Branch, msg: SipMessage, src: Endpoint): void;
  considerReply(t: ServerTxn, status: number, msg: SipMessage | null, branch: number): void;
  relayReply(t: ServerTxn, msg: SipMessage, status: number, branch: number): void;
  notifyLocalReply(t: ServerTxn, status: number, data: Buffer): void;
  // cancel / ack
  sendAck(b: Branch, reply: SipMessage): void;
  sendCancel(b: Branch, reason: string | null): void;
  txnReply(t: ServerTxn, status: number, reason: string, opts?: SendOptions): boolean;
}
