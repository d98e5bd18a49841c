import type { CSeq, Endpoint, NameAddr, SipUri, TransportProto, Via } from "../../../lib/sip/types.js";
import type { SipMessageView } from "../sip/view.js";
import type { SendOptions, TransactionObserver } from "../tm/types.js";
import type { Logger } from "../../../lib/log/logger.js";

/**
 * The typed API a routing script (and a module's script functions) works with: Olelo's
 * kamailio.cfg. A request route receives a `RequestContext`; failure, reply and branch routes
 * receive the narrower contexts below. Kamailio's names are given in brackets so that
 * people porting a kamailio.cfg find their way ($ru, t_relay ...).
 */

// The message view and the transaction types live below the script (sip/, tm/); re-exported here
// because this file is the script API.
export type { SipMessageView } from "../sip/view.js";
export type { SendOptions, BranchInfo, TransactionObserver, ReplyEditor } from "../tm/types.js";

/** Header edits, recorded as patches and applied when the message is written out (Kamailio lumps). */
export interface HeaderEditor {
  /** Appends a header after the last header (or first, with `{ first: true }`). [append_hf / insert_hf] */
  addHeader(name: string, value: string, opts?: { first?: boolean }): void;
  /** Removes every field of a header; returns how many. [remove_hf] */
  removeHeader(name: string): number;
  /** Removes all fields of the header and adds one with this value. */
  setHeader(name: string, value: string): void;
  /** Replaces the n-th (0-based) field of a header with a new value. */
  replaceHeader(name: string, index: number, value: string): boolean;
  /** Removes the n-th (0-based) field of a header; false when there is none. */
  removeHeaderAt(name: string, index: number): boolean;
}

/** Per-request state shared by request, branch and failure routes of one transaction. */
export interface RequestState {
  /** The request. */
  readonly msg: SipMessageView;
  readonly method: string;
  /** Where the request came from. [$si, $sp, $pr] */
  readonly source: Endpoint;
  /** Local socket it arrived on, `proto:address:port`. [$Ri:$Rp] */
  readonly localSocket: string;
  /** Name of that socket (`listen` name), or null. [$sn] */
  readonly localSocketName: string | null;
  /** Current Request-URI. [$ru] */
  readonly ruri: string;
  /** Parsed current Request-URI (null if not parseable). */
  readonly ruriParsed: SipUri | null;
  /** User part of the current R-URI. [$rU] */
  readonly ruriUser: string | null;
  /** Host of the current R-URI. [$rd] */
  readonly ruriHost: string;
  /** Destination URI, overriding where the request is sent. [$du] */
  readonly dst: string | null;
  /** Message flags bitmask (flags 0..31). [setflag/isflagset] */
  readonly flags: number;
  /**
   * Variables that live as long as the transaction and are visible to its failure, reply and
   * branch routes ($avp / $xavp). Modules keep their per-call state here (keys `module:name`).
   */
  readonly vars: Map<string, unknown>;
  readonly log: Logger;
  /** Whether the request has a To-tag (in-dialog). [has_totag] */
  readonly hasToTag: boolean;

  /** [$ru = ...] rewrites the whole Request-URI. */
  setRuri(uri: string): void;
  /** [$rU = ...] */
  setRuriUser(user: string | null): void;
  /** [$rd / rewritehostport] host and optional port. */
  setRuriHost(host: string, port?: number | null): void;
  /** [$du = ...]; null clears. */
  setDst(uri: string | null): void;
  /**
   * Path vector of the R-URI branch (RFC 3327; Kamailio's path vector set by registrar lookup):
   * sent as Route headers on that branch only. Appended branches carry their own (appendBranch).
   */
  readonly path: string | null;
  /** Sets or clears (null) the R-URI branch's path vector. */
  setPath(path: string | null): void;
  /** [append_branch] adds another target for parallel forking. */
  appendBranch(uri: string, opts?: { dst?: string; q?: number; flags?: number; socket?: string; path?: string }): void;
  /** Removes appended branches (keeps the R-URI branch). */
  clearBranches(): void;
  /** Number of extra branches appended so far. */
  readonly branchCount: number;
  /** The extra branches appended so far (the R-URI branch is not in this list). [$branch] */
  readonly appendedBranches: ReadonlyArray<{ readonly uri: string; readonly dst: string | null; readonly socket: string | null; readonly flags: number; readonly path: string | null }>;
  /** Id of the stream connection (TCP/TLS/WS) the request came in on, or null for UDP. [$conid] */
  readonly connectionId: number | null;
  /** [force_send_socket] `proto:ip:port` or a socket name. */
  forceSendSocket(socket: string): void;
  setFlag(flag: number): void;
  resetFlag(flag: number): void;
  isFlagSet(flag: number): boolean;
  /** [uri==myself] whether a URI (default: the R-URI) points at this proxy. */
  isMyself(uri?: string): boolean;
}

export interface RequestContext extends RequestState, HeaderEditor {
  /** Which route is running. */
  readonly route: "request" | "failure" | "branch";

  /**
   * [mf_process_maxfwd_header(limit)] adds Max-Forwards: limit when absent, decrements it otherwise.
   * Returns false when it was already 0 (reply 483).
   */
  processMaxForwards(limit: number): boolean;
  /** [record_route] adds Record-Route (two when the in/out socket or transport differ). */
  recordRoute(params?: string): void;
  /** [record_route_preset] */
  recordRoutePreset(uri: string): void;
  /** [loose_route] processes Route headers; true when the request is routed by a Route set. */
  looseRoute(): boolean;
  /**
   * [t_check_trans] for CANCEL: true when it matches an INVITE transaction; for other requests:
   * true when it is a retransmission (already absorbed) or an ACK matching a transaction.
   */
  checkTransaction(): boolean;

  /** [t_on_failure] arms the named failure route for this transaction. */
  onFailure(route: string | null): void;
  /** [t_on_reply] arms the named reply route for this transaction. */
  onReply(route: string | null): void;
  /** [t_on_branch] arms the named branch route for the next relay. */
  onBranch(route: string | null): void;
  /** [t_set_fr] final-response timers in ms (INVITE after 1xx, and before any reply). */
  setFinalResponseTimers(invMs: number, noninvMs?: number): void;

  /**
   * [t_relay] forwards statefully to $du / R-URI and every appended branch. Returns false when
   * nothing could be sent (bad URI, no route); a reply is then still up to the script.
   */
  relay(opts?: { dst?: string }): boolean;
  /** [forward] stateless forwarding (no transaction). */
  forward(dst?: string): boolean;
  /**
   * [send_reply / sl_send_reply] replies; statefully when a transaction exists, else statelessly.
   * Returns false when a reply can no longer be sent (e.g. to an ACK).
   */
  reply(code: number, reason: string, opts?: SendOptions): boolean;
  /** [sl_reply_error] replies with the code matching the last internal error (default 500). */
  replyError(): boolean;
  /** Replaces the body (hook for a media relay); Content-Length is fixed on send. */
  setBody(body: string, contentType?: string): void;

  /**
   * Registers an observer of this request's transaction (Kamailio's tm callbacks, which the
   * dialog and acc modules build on). Creates the transaction when there is none yet, as
   * Kamailio's dialog module does with t_newtran: replies the script sends afterwards are then
   * stateful, so the observer sees them too. No effect for ACK and CANCEL (they have no
   * transaction of their own here). Observers live as long as the transaction.
   */
  observeTransaction(observer: TransactionObserver): void;
}

/** Failure route: runs when every branch has a negative final reply or timed out. */
export interface FailureContext extends RequestContext {
  readonly route: "failure";
  /** Winning (best) negative reply, or null when every branch timed out without a final reply. */
  readonly replyMsg: SipMessageView | null;
  /** Status of the best reply (408 for a local timeout). [$T_reply_code] */
  readonly replyCode: number;
  /** [t_check_status(re)] regex test on the reply code. */
  checkStatus(re: string | RegExp): boolean;
  /** [t_branch_timeout] the last branch ended on the final-response timer. */
  branchTimeout(): boolean;
  /** [t_branch_replied] the last branch got any reply. */
  branchReplied(): boolean;
  /** [t_any_timeout] */
  anyTimeout(): boolean;
  /** [t_any_replied] */
  anyReplied(): boolean;
  /** [t_is_canceled] the caller cancelled the INVITE. */
  isCanceled(): boolean;
}

/** Branch route: runs once per outgoing branch, before it is sent; can edit or drop it. */
export interface BranchContext extends RequestContext {
  readonly route: "branch";
  /** Index of this branch in the transaction. */
  readonly branchIndex: number;
  /** [drop] do not send this branch. */
  drop(): void;
}

/** Reply route: runs for each reply received for a transaction (onreply_route). */
export interface ReplyContext extends HeaderEditor {
  readonly msg: SipMessageView;
  readonly status: number;
  /** The request the reply belongs to (its transaction's state), or null for stateless replies. */
  readonly request: RequestState | null;
  readonly source: Endpoint;
  readonly branchIndex: number;
  readonly log: Logger;
  /** [drop] do not relay this reply. */
  drop(): void;
  checkStatus(re: string | RegExp): boolean;
  /** Replaces the reply's body (hook for a media relay); Content-Length is fixed. */
  setBody(body: string, contentType?: string): void;
}

/** A route returns nothing or a promise (asynchronous route: the transaction is suspended). */
export type RouteResult = void | Promise<void>;

export interface RoutingScript {
  /** request_route */
  request(req: RequestContext): RouteResult;
  /** Named failure routes, armed with req.onFailure(name). */
  failure?: Readonly<Record<string, (f: FailureContext) => RouteResult>>;
  /**
   * Named onreply routes armed with req.onReply(name); `default` also runs for every reply. A
   * route may return a promise (e.g. a media relay's answer): a 1xx/2xx is relayed once it
   * settles; a negative reply is not held (its failure handling goes on meanwhile).
   */
  reply?: Readonly<Record<string, (r: ReplyContext) => RouteResult>>;
  /** Named branch routes armed with req.onBranch(name). */
  branch?: Readonly<Record<string, (b: BranchContext) => void>>;
}

export interface ScriptEnv {
  /** Module APIs by module name. */
  readonly modules: Readonly<Record<string, unknown>>;
  readonly log: Logger;
  /** The `script` section of the configuration (free-form settings for the script). */
  readonly settings: Readonly<Record<string, unknown>>;
}

/**
 * A routing script module's default export: a factory called once when the script is loaded,
 * receiving module APIs and settings, returning the routes.
 *
 * @example
 *   export default defineScript(({ settings }) => ({
 *     request(req) { req.setDst(String(settings.nextHop)); req.relay(); },
 *   }));
 */
export type ScriptFactory = (env: ScriptEnv) => RoutingScript;

export function defineScript(factory: ScriptFactory): ScriptFactory {
  return factory;
}

export type { CSeq, Endpoint, NameAddr, SipUri, TransportProto, Via };
