import type { BranchInfo, Endpoint, SipMessageView, TransactionObserver } from "../../core/api.js";

/** Dialog states with Kamailio's numbers (dlg_hash.h), as dlg.list shows them. */
export const DlgState = {
  /** INVITE seen, no reply yet. */
  UNCONFIRMED: 1,
  /** A provisional reply (1xx) went upstream. */
  EARLY: 2,
  /** A 2xx went upstream, its ACK not seen yet. */
  CONFIRMED_NA: 3,
  /** ACK seen: the call is up. */
  CONFIRMED: 4,
  /** Ended (BYE, failure, timeout). */
  DELETED: 5,
} as const;
export type DlgState = (typeof DlgState)[keyof typeof DlgState];

/** Kamailio dflags bits (dlg_hash.h) that Olelo sets. */
export const DlgFlag = {
  NEW: 1 << 0,
  HASBYE: 1 << 2,
  CALLERBYE: 1 << 4,
  CALLEEBYE: 1 << 5,
  EXPIRED: 1 << 10,
} as const;

/** Kamailio iflags bits (dlg_hash.h) that Olelo sets. */
export const DlgIFlag = {
  /** Send BYE to both sides on timeout. */
  TIMEOUTBYE: 1 << 0,
  /** Do not restart the timer on in-dialog requests. */
  TIMER_NORESET: 1 << 3,
} as const;

/** Who ended a call (call.ended `ended_by`). */
export type EndedBy = "caller" | "callee" | "timeout" | "rpc" | "proxy";

/**
 * How a call ended (call.ended `end_reason`): a party sent BYE; the proxy sent BYE to both sides
 * (timeout with send_bye, dlg.end_dlg, dlg.terminate_dlg); the timer expired without BYE; or the
 * call was never answered.
 */
export type EndReason = "bye" | "proxy_bye" | "expired" | "failed";

/** One side of the dialog (Kamailio's caller/callee leg, as dlg.list prints it). */
export interface DialogLeg {
  tag: string;
  contact: string;
  /** Highest CSeq number seen from this side. */
  cseq: number;
  /** Route set towards this side, nearest hop first (URIs in angle brackets). */
  routeSet: string[];
  /** Local socket of this side, `proto:ip:port` ("" when not known). */
  socket: string;
}

/** What a dialog tells its manager about its INVITE transaction. */
export interface DialogTxnHandler {
  onBranch(d: Dialog, b: BranchInfo): void;
  onReply(d: Dialog, status: number, msg: SipMessageView, branchIndex: number, local: boolean): void;
  onTxnEnd(d: Dialog): void;
}

/** A profile membership (set_dlg_profile). */
export interface ProfileLink {
  readonly profile: string;
  /** Value for profiles with value, "" otherwise. */
  readonly value: string;
}

/**
 * One call tracked by the dialog module (Kamailio's dlg_cell). It observes its INVITE
 * transaction itself and hands the events to the manager, so no closure is made per call.
 */
export class Dialog implements TransactionObserver {
  state: DlgState = DlgState.UNCONFIRMED;
  /** ms: INVITE seen (init_ts), 2xx sent upstream (start_ts), ended (end_ts); 0 = not yet. */
  readonly initTs: number;
  startTs = 0;
  endTs = 0;
  /** ms when the ACK confirmed the dialog (0 = not yet). */
  ackTs = 0;
  /** Timeout in seconds once confirmed (dlg_set_timeout). */
  lifetime: number;
  /** ms when the timer fires (0 = not armed). */
  timeoutAt = 0;
  timer: NodeJS.Timeout | null = null;
  dflags = DlgFlag.NEW as number;
  sflags = 0;
  iflags = 0;
  readonly caller: DialogLeg;
  readonly callee: DialogLeg;
  profiles: ProfileLink[] = [];
  vars: Map<string, string> | null = null;
  /** Branches of the INVITE as sent, by index (gateway chosen). */
  readonly branches: BranchInfo[] = [];
  /** Branch whose reply decided the call (the answering or the failing gateway), -1 = none. */
  decidingBranch = -1;
  /** Final code and reason of the INVITE (200 for answered calls). */
  code = 0;
  reason = "";
  endedBy: EndedBy | null = null;
  endReason: EndReason | null = null;
  /** call.started was published (the INVITE was relayed). */
  startedPublished = false;
  /** The INVITE transaction is still alive. */
  txnAlive = true;

  constructor(
    private readonly handler: DialogTxnHandler,
    readonly hEntry: number,
    readonly hId: number,
    readonly callId: string,
    readonly fromUri: string,
    readonly toUri: string,
    /** Request-URI of the INVITE as received. */
    readonly reqUri: string,
    readonly source: Endpoint,
    callerTag: string,
    callerContact: string,
    callerCseq: number,
    callerRouteSet: string[],
    callerSocket: string,
    lifetime: number,
    now: number,
  ) {
    this.initTs = now;
    this.lifetime = lifetime;
    this.caller = { tag: callerTag, contact: callerContact, cseq: callerCseq, routeSet: callerRouteSet, socket: callerSocket };
    this.callee = { tag: "", contact: "", cseq: callerCseq, routeSet: [], socket: "" };
  }

  /** The `rr_param` value: `<h_entry hex>.<h_id hex>`. */
  get did(): string {
    return `${this.hEntry.toString(16)}.${this.hId.toString(16)}`;
  }

  /** Confirmed (2xx sent) and not ended. */
  get isConfirmed(): boolean {
    return this.state === DlgState.CONFIRMED_NA || this.state === DlgState.CONFIRMED;
  }

  /** Branch that decided the call, else the last one sent. */
  get gateway(): BranchInfo | null {
    const b = this.decidingBranch >= 0 ? this.branches[this.decidingBranch] : undefined;
    return b ?? this.branches[this.branches.length - 1] ?? null;
  }

  branchSent(branch: BranchInfo): void {
    this.handler.onBranch(this, branch);
  }

  replySent(status: number, msg: SipMessageView, branchIndex: number, local: boolean): void {
    this.handler.onReply(this, status, msg, branchIndex, local);
  }

  ended(): void {
    this.handler.onTxnEnd(this);
  }
}
