import type { BranchInfo, Endpoint, RequestContext, SipMessageView, EventBus, Logger, Counter, StatGroup, SipUac, UacRequestOptions } from "../../core/api.js";
import { Dialog, DlgFlag, DlgIFlag, DlgState, type DialogTxnHandler, type EndedBy, type EndReason } from "./dialog.js";
import { DialogTable } from "./dialog-table.js";
import { ProfileTable } from "./profiles.js";
import { MAX_TIMEOUT_S, type DialogParams } from "./params.js";
import { callerRouteSet, calleeRouteSet, didMatcher, firstHop } from "./route-set.js";
import { callAnswered, callEnded, callStarted } from "./call-events.js";

/** Key of the current dialog in `req.vars` (shared by the request, failure and branch routes). */
export const DIALOG_VAR = "dialog:dlg";

/**
 * An in-dialog request as one worker hands it to the dialog's owner (workers: N): what finds the
 * dialog (Call-ID, tags, Route values) and what updates it (method, CSeq, the Contact of a target
 * refresh).
 */
export interface RemoteInDialog {
  readonly method: string;
  readonly callId: string;
  readonly fromTag: string;
  readonly toTag: string;
  readonly routes: readonly string[];
  readonly cseq: number;
  /** Contact URI of an INVITE / UPDATE ("" when none). */
  readonly contact: string;
}

/** Which side(s) a BYE goes to (Kamailio dlg_bye side). */
export type ByeSide = "caller" | "callee" | "all";

export interface DialogManagerDeps {
  readonly events: EventBus;
  readonly log: Logger;
  /** The `dialog` statistics group. */
  readonly stats: StatGroup;
  readonly sip: SipUac;
  /** Clock in ms (tests). */
  readonly now?: () => number;
  /** Persistence of confirmed dialogs (db_mode 1), or none. */
  readonly store?: { save(d: Dialog): void; remove(d: Dialog): void } | null;
  /** With workers: this worker's index and the node's worker count (h_ids name their worker). */
  readonly worker?: { readonly index: number; readonly count: number };
}

/**
 * The dialog engine (Kamailio dialog module): creates a dialog for an INVITE the script manages,
 * follows it through its INVITE transaction (observer) and its in-dialog requests, runs the
 * timeout, keeps the profiles and statistics, and publishes call.started / call.answered /
 * call.ended on the event bus.
 */
export class DialogManager implements DialogTxnHandler {
  readonly table: DialogTable;
  readonly profiles: ProfileTable;
  /** confirmed (3, 4) and early (2) dialogs, for the active_dialogs / early_dialogs gauges. */
  active = 0;
  early = 0;
  private readonly processed: Counter;
  private readonly expired: Counter;
  private readonly failed: Counter;
  private readonly matchDid: ReturnType<typeof didMatcher>;
  private readonly now: () => number;
  private closed = false;
  /**
   * With workers: an in-dialog request that matches no dialog here (its INVITE was managed by
   * another worker), with the h_id of the first `did` in its Route (-1: none), handed to the
   * owner (index.ts); `applyRemote` is the receiving end.
   */
  onUnmatched: ((m: RemoteInDialog, hId: number) => void) | null = null;

  constructor(
    readonly params: DialogParams,
    private readonly deps: DialogManagerDeps,
  ) {
    this.table = new DialogTable(params.hash_size, deps.worker?.index ?? 0, deps.worker?.count ?? 1);
    this.profiles = new ProfileTable(params.profiles_with_value, params.profiles_no_value);
    this.matchDid = didMatcher(params.rr_param);
    this.now = deps.now ?? Date.now;
    const g = deps.stats;
    this.processed = g.counter("processed_dialogs");
    this.expired = g.counter("expired_dialogs");
    this.failed = g.counter("failed_dialogs");
    g.gauge("active_dialogs", () => this.active);
    g.gauge("early_dialogs", () => this.early);
  }

  get node(): string {
    return this.deps.events.node;
  }

  // ------------------------------------------------------------------ script entry points

  /**
   * [dlg_manage] An initial INVITE gets a dialog (state 1), the rr param and an observer on its
   * transaction; an in-dialog request is matched to its dialog and updates it (ACK confirms, BYE
   * ends). Returns false when there is nothing to manage (not an INVITE, or no dialog matches).
   */
  manage(req: RequestContext): boolean {
    if (this.closed) return false;
    if (req.hasToTag) return this.inDialog(req);
    if (req.method !== "INVITE") return false;
    if (this.current(req)) return true;
    const msg = req.msg;
    let fromUri: string;
    let toUri: string;
    let fromTag: string | null;
    try {
      fromUri = msg.from.uriText;
      toUri = msg.to.uriText;
      fromTag = msg.fromTag;
    } catch {
      return false;
    }
    if (!fromTag) {
      this.deps.log.debug("INVITE without From tag is not managed", { callId: msg.callId });
      return false;
    }
    const contacts = msg.contacts();
    const contact = contacts === "*" || contacts.length === 0 ? "" : contacts[0]!.uriText;
    const d = new Dialog(
      this,
      this.table.entryOf(msg.callId),
      this.table.newId(),
      msg.callId,
      fromUri,
      toUri,
      msg.requestUri,
      req.source,
      fromTag,
      contact,
      msg.cseq.seq,
      callerRouteSet(msg.headerValues("record-route")),
      req.localSocket,
      this.params.default_timeout,
      this.now(),
    );
    if (this.params.send_bye) d.iflags |= DlgIFlag.TIMEOUTBYE;
    if (this.params.timeout_noreset) d.iflags |= DlgIFlag.TIMER_NORESET;
    this.table.add(d);
    this.processed.v++;
    req.vars.set(DIALOG_VAR, d);
    // the rr param is always added: it also tells our own Record-Route entries apart in the 2xx
    req.recordRoute(`${this.params.rr_param}=${d.did}`);
    req.observeTransaction(d);
    return true;
  }

  /** The dialog of this request (after manage), or null. [is_known_dlg] */
  current(req: RequestContext): Dialog | null {
    const d = req.vars.get(DIALOG_VAR);
    return d instanceof Dialog ? d : null;
  }

  /** [dlg_set_timeout] lifetime in seconds once confirmed; `bye` also sends BYE on timeout. */
  setTimeout(d: Dialog, seconds: number, bye?: boolean): boolean {
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_TIMEOUT_S) {
      throw new Error(`dialog.setTimeout: seconds must be an integer in 1..${MAX_TIMEOUT_S}, got ${seconds}`);
    }
    if (d.state === DlgState.DELETED) return false;
    d.lifetime = seconds;
    if (bye === true) d.iflags |= DlgIFlag.TIMEOUTBYE;
    else if (bye === false) d.iflags &= ~DlgIFlag.TIMEOUTBYE;
    if (d.isConfirmed) {
      this.armTimer(d);
      this.deps.store?.save(d);
    }
    return true;
  }

  /** [dlg_set_var] a dialog variable, reported in dlg.list and call.ended. */
  setVar(d: Dialog, key: string, value: string | null): void {
    if (value === null) d.vars?.delete(key);
    else (d.vars ??= new Map()).set(key, value);
    if (d.isConfirmed) this.deps.store?.save(d);
  }

  /**
   * [dlg_bye / dlg.end_dlg] sends BYE to one or both sides of a confirmed dialog and ends it.
   * Returns false when the dialog is not confirmed (nothing to hang up yet).
   */
  bye(d: Dialog, side: ByeSide, endedBy: EndedBy, extraHeaders?: Readonly<Record<string, string>>): boolean {
    if (!d.isConfirmed) return false;
    this.sendByes(d, side, extraHeaders);
    this.finish(d, endedBy, "proxy_bye");
    return true;
  }

  // ------------------------------------------------------------------ in-dialog requests

  private inDialog(req: RequestContext): boolean {
    const d = this.match(req);
    const msg = req.msg;
    const m = req.method;
    if (!d) {
      if (this.onUnmatched !== null && m !== "CANCEL") this.onUnmatched(remoteOf(req), this.didIdOf(msg.headerValues("route")));
      return false;
    }
    req.vars.set(DIALOG_VAR, d);
    if (d.state === DlgState.DELETED) return true;
    const c = m === "INVITE" || m === "UPDATE" ? msg.contacts() : "*";
    this.update(d, m, msg.fromTag ?? "", m === "ACK" ? 0 : msg.cseq.seq, c !== "*" && c.length ? c[0]!.uriText : "");
    return true;
  }

  /**
   * What an in-dialog request does to its dialog (here or handed over by another worker): CSeq,
   * target refresh, the ACK confirms, a BYE ends a confirmed dialog, anything else restarts the
   * timer (unless TIMER_NORESET).
   */
  private update(d: Dialog, m: string, fromTag: string, cseq: number, contact: string): void {
    const fromCaller = fromTag === d.caller.tag;
    const leg = fromCaller ? d.caller : d.callee;
    let changed = false;
    if (m !== "ACK" && m !== "CANCEL" && cseq > leg.cseq) {
      leg.cseq = cseq;
      changed = true;
    }
    if (m === "INVITE" || m === "UPDATE") {
      // target refresh (RFC 3261 §12.2.2)
      if (contact) leg.contact = contact;
      changed = true;
    }
    if (m === "BYE") {
      if (d.isConfirmed) {
        d.dflags |= DlgFlag.HASBYE | (fromCaller ? DlgFlag.CALLERBYE : DlgFlag.CALLEEBYE);
        this.finish(d, fromCaller ? "caller" : "callee", "bye");
      }
      return;
    }
    if (m === "ACK" && d.state === DlgState.CONFIRMED_NA) {
      d.state = DlgState.CONFIRMED;
      d.ackTs = this.now();
      changed = true;
    }
    if (d.isConfirmed && !(d.iflags & DlgIFlag.TIMER_NORESET)) {
      this.armTimer(d);
      changed = true;
    }
    if (changed && d.isConfirmed) this.deps.store?.save(d);
  }

  /** h_id of the first `did` rr parameter in these Route values, -1 when none. */
  didIdOf(routes: readonly string[]): number {
    for (const v of routes) {
      const id = this.matchDid(v);
      if (id) return id.hId;
    }
    return -1;
  }

  /** Finds the dialog of an in-dialog request: rr param (checked against the Call-ID), then tags. */
  match(req: RequestContext): Dialog | null {
    const msg = req.msg;
    return this.matchParts(msg.callId, msg.fromTag ?? "", msg.toTag ?? "", msg.headerValues("route"));
  }

  private matchParts(callId: string, fromTag: string, toTag: string, routes: readonly string[]): Dialog | null {
    const mode = this.params.dlg_match_mode;
    if (mode !== 2) {
      for (const v of routes) {
        const id = this.matchDid(v);
        if (!id) continue;
        const d = this.table.lookup(id.hEntry, id.hId);
        if (d && d.callId === callId) return d;
      }
      if (mode === 0) return null;
    }
    return this.table.matchTags(callId, fromTag, toTag) ?? null;
  }

  /** An in-dialog request another worker received for a dialog of this worker: applied here. */
  applyRemote(m: RemoteInDialog): boolean {
    if (this.closed) return false;
    const d = this.matchParts(m.callId, m.fromTag, m.toTag, m.routes);
    if (!d || d.state === DlgState.DELETED) return false;
    this.update(d, m.method, m.fromTag, m.cseq, m.contact);
    return true;
  }

  // ------------------------------------------------------------------ INVITE transaction (observer)

  onBranch(d: Dialog, b: BranchInfo): void {
    d.branches[b.index] = b;
    if (d.startedPublished || d.state === DlgState.DELETED) return;
    d.startedPublished = true;
    this.publish("call.started", callStarted(d, this.node));
  }

  onReply(d: Dialog, status: number, msg: SipMessageView, branchIndex: number, local: boolean): void {
    if (d.state === DlgState.DELETED) return;
    if (status < 200) {
      if (status > 100 && d.state === DlgState.UNCONFIRMED) {
        d.state = DlgState.EARLY;
        this.early++;
      }
      return;
    }
    if (d.isConfirmed) return; // a further 2xx of a forked INVITE
    d.code = status;
    d.reason = msg.reason;
    if (branchIndex >= 0) d.decidingBranch = branchIndex;
    if (status < 300) {
      if (d.state === DlgState.EARLY) this.early--;
      d.state = DlgState.CONFIRMED_NA;
      d.startTs = this.now();
      d.callee.tag = msg.toTag ?? "";
      const c = msg.contacts();
      if (c !== "*" && c.length) d.callee.contact = c[0]!.uriText;
      d.callee.routeSet = calleeRouteSet(msg.headerValues("record-route"), `;${this.params.rr_param}=${d.did}`);
      this.active++;
      this.armTimer(d);
      this.deps.store?.save(d);
      this.publish("call.answered", callAnswered(d, this.node));
      return;
    }
    d.callee.tag = msg.toTag ?? ""; // the to-tag of the failing reply (call.ended to_tag)
    const by: EndedBy = status === 487 ? "caller" : local ? (status === 408 ? "timeout" : "proxy") : "callee";
    this.finish(d, by, "failed");
  }

  onTxnEnd(d: Dialog): void {
    d.txnAlive = false;
    if (d.state !== DlgState.UNCONFIRMED && d.state !== DlgState.EARLY) return;
    // the transaction went away without a final reply we saw (should not happen): do not leak
    this.deps.log.warn("INVITE transaction ended before a final reply; dialog failed", { callId: d.callId });
    if (!d.code) {
      d.code = 500;
      d.reason = "Transaction ended";
    }
    this.finish(d, "proxy", "failed");
  }

  // ------------------------------------------------------------------ end, timer, BYE

  /** Ends a dialog: state 5, statistics, profiles released, removed from the table, call.ended. */
  private finish(d: Dialog, endedBy: EndedBy, endReason: EndReason): void {
    if (d.state === DlgState.DELETED) return;
    const prev = d.state;
    d.state = DlgState.DELETED;
    d.endTs = this.now();
    d.endedBy = endedBy;
    d.endReason = endReason;
    if (prev === DlgState.CONFIRMED_NA || prev === DlgState.CONFIRMED) {
      this.active--;
      this.deps.store?.remove(d);
    } else {
      if (prev === DlgState.EARLY) this.early--;
      this.failed.v++;
    }
    if (d.timer) clearTimeout(d.timer);
    d.timer = null;
    d.timeoutAt = 0;
    this.profiles.unlinkAll(d);
    this.table.remove(d);
    this.publish("call.ended", callEnded(d, this.node));
  }

  private armTimer(d: Dialog, at?: number): void {
    if (this.closed) return;
    if (d.timer) clearTimeout(d.timer);
    const now = this.now();
    d.timeoutAt = at ?? now + d.lifetime * 1000;
    d.timer = setTimeout(timerFired, Math.max(0, d.timeoutAt - now), this, d);
    d.timer.unref();
  }

  /**
   * Takes over a confirmed dialog loaded from the database after a restart (restore.ts): it is
   * matched, timed (from the stored expiry, at the earliest `minDelayMs` from now so the node
   * finishes starting first) and ended like any other.
   */
  adopt(d: Dialog, timeoutAt: number, minDelayMs = 1000): void {
    this.table.add(d);
    this.active++;
    this.armTimer(d, Math.max(timeoutAt, this.now() + minDelayMs));
  }

  /** @internal the dialog timer fired (Kamailio dlg_ontimeout). */
  expire(d: Dialog): void {
    d.timer = null;
    d.timeoutAt = 0;
    if (!d.isConfirmed) return;
    this.expired.v++;
    d.dflags |= DlgFlag.EXPIRED;
    this.deps.log.info("dialog timeout", { callId: d.callId, lifetime: d.lifetime, bye: (d.iflags & DlgIFlag.TIMEOUTBYE) !== 0 });
    if (d.iflags & DlgIFlag.TIMEOUTBYE) {
      this.sendByes(d, "all");
      this.finish(d, "timeout", "proxy_bye");
    } else {
      this.finish(d, "timeout", "expired");
    }
  }

  /**
   * Sends BYE in the dialog to the caller and/or the callee (Kamailio dlg_bye_all): each with
   * that side's remote target, route set and tags, and the CSeq after the last one seen from
   * the other side. Fire and forget: the dialog ends whatever the replies are.
   */
  private sendByes(d: Dialog, side: ByeSide, extra?: Readonly<Record<string, string>>): void {
    const headers = extra && Object.keys(extra).length ? { ...this.params.dlg_extra_hdrs, ...extra } : this.params.dlg_extra_hdrs;
    if (side === "caller" || side === "all") {
      const uri = d.caller.contact || d.fromUri;
      this.sendBye(d, "caller", {
        method: "BYE",
        uri,
        destination: d.caller.routeSet.length ? firstHop(d.caller.routeSet, uri) : sourceUri(d.source),
        routes: d.caller.routeSet,
        from: d.toUri,
        fromTag: d.callee.tag,
        to: d.fromUri,
        toTag: d.caller.tag,
        callId: d.callId,
        cseq: ++d.callee.cseq,
        socket: d.caller.socket || undefined,
        headers,
      });
    }
    if (side === "callee" || side === "all") {
      const uri = d.callee.contact || d.reqUri;
      this.sendBye(d, "callee", {
        method: "BYE",
        uri,
        destination: firstHop(d.callee.routeSet, uri),
        routes: d.callee.routeSet,
        from: d.fromUri,
        fromTag: d.caller.tag,
        to: d.toUri,
        toTag: d.callee.tag,
        callId: d.callId,
        cseq: ++d.caller.cseq,
        headers,
      });
    }
  }

  private sendBye(d: Dialog, side: "caller" | "callee", opts: UacRequestOptions): void {
    const log = this.deps.log;
    this.deps.sip.request(opts).then(
      (r) => log.info("dialog BYE sent", { callId: d.callId, side, code: r.code, reason: r.reason }),
      (e) => log.warn("dialog BYE failed", { callId: d.callId, side, error: e instanceof Error ? e.message : String(e) }),
    );
  }

  private publish(kind: string, data: object): void {
    this.deps.events.publish(kind, data as Record<string, unknown>);
  }

  /** Stops every timer (module destroy). Dialogs stay listed but no longer change. */
  close(): void {
    this.closed = true;
    for (const d of this.table.all()) {
      if (d.timer) clearTimeout(d.timer);
      d.timer = null;
    }
  }
}

function timerFired(m: DialogManager, d: Dialog): void {
  m.expire(d);
}

/** `sip:ip:port[;transport=x]` of where a request came from (the caller's NAT-facing address). */
function sourceUri(src: Endpoint): string {
  const host = src.address.includes(":") ? `[${src.address}]` : src.address;
  return `sip:${host}:${src.port}${src.proto === "udp" ? "" : `;transport=${src.proto}`}`;
}

/** The parts of an in-dialog request another worker needs (RemoteInDialog). */
function remoteOf(req: RequestContext): RemoteInDialog {
  const msg = req.msg;
  const m = req.method;
  const c = m === "INVITE" || m === "UPDATE" ? msg.contacts() : "*";
  return {
    method: m,
    callId: msg.callId,
    fromTag: msg.fromTag ?? "",
    toTag: msg.toTag ?? "",
    routes: msg.headerValues("route"),
    cseq: m === "ACK" ? 0 : msg.cseq.seq,
    contact: c !== "*" && c.length ? c[0]!.uriText : "",
  };
}
