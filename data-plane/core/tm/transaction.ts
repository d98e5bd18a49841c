import type { SipMessage } from "../sip/message.js";
import type { Endpoint } from "../../../lib/sip/types.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import type { TransactionObserver } from "./types.js";
import type { WheelTimer } from "./timer-wheel.js";

/** Something waiting for replies to a request Olelo sent (a proxy branch, a CANCEL, a UAC request). */
export interface ClientHandler {
  readonly key: string;
  onReply(msg: SipMessage, src: Endpoint): void;
}

/** The best final reply collected so far across branches (RFC 3261 §16.7 step 6). */
export interface BestReply {
  status: number;
  /** Reply message (null for a local 408 on timeout). */
  msg: SipMessage | null;
  branch: number;
}

/**
 * Server side of a proxied request: the request as received, where replies go, every branch
 * sent for it, and the state needed to absorb retransmissions (RFC 3261 §17.2, Kamailio's cell).
 */
export class ServerTxn {
  branches: Branch[] = [];
  /** Last reply sent upstream (resent on request retransmissions). */
  lastResponse: Buffer | null = null;
  lastStatus = 0;
  /** A final reply went upstream. */
  finalSent = false;
  /** Any branch is allowed to pass more 2xx (INVITE forked). */
  accepted = false;
  canceled = false;
  cancelReason: string | null = null;
  best: BestReply | null = null;
  ackReceived = false;
  /** Failure route running (possibly async): do not forward the best reply yet. */
  inFailure = false;
  /** Script still running asynchronously for the initial request route. */
  suspended = false;
  deleted = false;
  timer: WheelTimer | null = null;
  retransTimer: WheelTimer | null = null;
  retransInterval = 0;
  readonly createdAt = Date.now();
  /** Per-transaction timer overrides (t_set_fr). */
  frInv = 0;
  frNonInv = 0;
  /** Opaque per-transaction script state (the request context). */
  ctx: unknown = null;
  /** Module observers (req.observeTransaction); null when nobody observes, so nothing is allocated. */
  observers: TransactionObserver[] | null = null;
  /** Upstream reply target: transport connection id (streams) or address. */
  replyDest: Endpoint;

  constructor(
    readonly id: number,
    readonly key: string,
    readonly req: SipMessage,
    readonly src: Endpoint,
    readonly sock: ListenSocket,
    readonly connId: number | null,
    replyDest: Endpoint,
  ) {
    this.replyDest = replyDest;
  }

  get method(): string {
    return this.req.method;
  }

  get isInvite(): boolean {
    return this.req.method === "INVITE";
  }

  /** Branches still waiting for a final reply. */
  pendingBranches(): number {
    let n = 0;
    for (const b of this.branches) if (b.final === 0 && !b.dropped) n++;
    return n;
  }
}

/** One outgoing branch of a proxied request (RFC 3261 §16.6) — a client transaction. */
export class Branch implements ClientHandler {
  /** Status of the last provisional reply (0 none). */
  provisional = 0;
  /** Final status (0 = pending; 408 on local timeout). */
  final = 0;
  timedOut = false;
  replied = false;
  pendingCancel = false;
  cancelSent = false;
  dropped = false;
  retransTimer: WheelTimer | null = null;
  retransInterval = 0;
  frTimer: WheelTimer | null = null;
  /** Connection used (streams). */
  connId: number | null = null;
  sentAt = 0;
  /** The branch request as sent (parsed on demand for ACK/CANCEL). */
  private parsed: SipMessage | null = null;

  constructor(
    readonly txn: ServerTxn,
    readonly index: number,
    readonly branchId: string,
    readonly key: string,
    readonly uri: string,
    readonly dst: Endpoint,
    readonly sock: ListenSocket,
    readonly sent: Buffer,
    private readonly reparse: (b: Buffer) => SipMessage | null,
    private readonly handler: (b: Branch, msg: SipMessage, src: Endpoint) => void,
  ) {}

  onReply(msg: SipMessage, src: Endpoint): void {
    this.handler(this, msg, src);
  }

  /** The branch request, parsed (for building ACK and CANCEL). */
  request(): SipMessage | null {
    return (this.parsed ??= this.reparse(this.sent));
  }
}

/** Server transaction key (RFC 3261 §17.2.3; RFC 2543 fallback without the magic cookie). */
export function serverKey(msg: SipMessage, method: string): string {
  // a request's own key is asked for twice (lookup, then t_newtran): built once
  const own = method === msg.method;
  if (own && msg.serverKey !== null) return msg.serverKey;
  const via = msg.topVia;
  const m = method === "ACK" ? "INVITE" : method;
  const k =
    via.branch && via.branch.startsWith("z9hG4bK")
      ? `${via.branch}|${via.host}:${via.port ?? ""}|${m}`
      : `2543|${msg.callId}|${msg.cseq.seq}|${msg.fromTag ?? ""}|${via.raw}|${m}`;
  if (own) msg.serverKey = k;
  return k;
}
