import type { Endpoint, SipUri } from "../../../lib/sip/types.js";
import type { SipMessage, Patch } from "../sip/message.js";
import type { Connection } from "../transport/transport-layer.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import type { Branch, ServerTxn } from "./transaction.js";
import type { BranchTarget, RelayPlan, SendOptions } from "./types.js";

/** A DNS lookup the script may use (ENUM's NAPTR query); the transport gateway provides it. */
export type DnsLookup = (name: string, type: "NAPTR") => Promise<{ data: unknown }>;

/**
 * The narrow transaction interface the script runtime works with (script/runtime.ts,
 * script/request-context.ts): Kamailio's tm/sl functions a route calls, not the engine object.
 */
export interface TransactionApi {
  /** max_forwards default (mf_process_maxfwd_header). */
  readonly maxForwardsDefault: number;
  /** The gateway's DNS lookup, or null when no resolver is plugged in. */
  readonly dnsLookup: DnsLookup | null;
  /** [uri==myself] */
  isMyself(uri: string): boolean;
  isMyselfUri(u: SipUri): boolean;
  /** [t_lookup_cancel] the INVITE transaction a CANCEL refers to. */
  findInviteFor(cancelMsg: SipMessage): ServerTxn | undefined;
  /** [t_lookup_request] the transaction of a request (ACK: its INVITE). */
  findTxnFor(msg: SipMessage): ServerTxn | undefined;
  /** [t_newtran] */
  createServerTxn(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): ServerTxn | null;
  /** [t_relay] returns the number of branches started. */
  relay(t: ServerTxn, plan: RelayPlan): number;
  /** [forward] stateless forwarding. */
  forwardStateless(msg: SipMessage, src: Endpoint, inSock: ListenSocket, plan: RelayPlan): boolean;
  /** A CANCEL for a known INVITE: 200 to the CANCEL, CANCEL every branch. */
  cancelInvite(inv: ServerTxn, cancelMsg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void;
  /** [t_reply] */
  txnReply(t: ServerTxn, status: number, reason: string, opts?: SendOptions): boolean;
  /** [sl_send_reply] */
  sendStatelessReply(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null, status: number, reason: string, opts?: SendOptions): boolean;
  /** A route ended without relaying or replying: answer the transaction so it ends. */
  finishIdle(t: ServerTxn): void;
  /** After an asynchronous route or failure route: send the best reply when every branch is done. */
  checkCompletion(t: ServerTxn): void;
  /** A request the script dropped without a transaction (core drop_requests). */
  countDroppedRequest(): void;
}

/** What the transaction layer needs from the script runtime (implemented in script/runtime.ts). */
export interface ScriptRunner {
  /** Runs request_route for a request that is not a retransmission. */
  onRequest(tm: TransactionApi, msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void;
  /** Runs the failure route armed on a transaction; returns true when it ran (may be async). */
  onFailure(tm: TransactionApi, txn: ServerTxn): boolean | Promise<boolean>;
  /**
   * Runs reply routes for a reply on a branch; returns false to drop the reply, or a promise of
   * that when a reply route is asynchronous (the reply is held until it settles).
   */
  onReply(tm: TransactionApi, txn: ServerTxn | null, msg: SipMessage, branch: Branch | null, src: Endpoint): boolean | Promise<boolean>;
  /** Runs the branch route armed for this transaction on one branch before it is sent. */
  onBranch?(tm: TransactionApi, txn: ServerTxn, target: BranchTarget, index: number): { drop: boolean; patches: Patch[] | null };
}
