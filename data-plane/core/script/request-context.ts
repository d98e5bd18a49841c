import type { Endpoint, SipUri } from "../../../lib/sip/types.js";
import { Patch, type SipMessage } from "../sip/message.js";
import type { Connection } from "../transport/transport-layer.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import type { TransactionApi } from "../tm/api.js";
import type { BranchTarget, RelayPlan } from "../tm/types.js";
import type { ServerTxn } from "../tm/transaction.js";
import type { Logger } from "../../../lib/log/logger.js";
import type { RequestContext, SendOptions, TransactionObserver } from "./context.js";
import { parseUri, rewriteUri } from "../../../lib/sip/uri.js";
import { canonicalName, prettyName } from "../sip/header-names.js";
import { parseNameAddr, splitList } from "../sip/header-values.js";
import { decodeFlowToken, flowUri } from "../transport/flow-token.js";

/**
 * The per-transaction script context: one object serves the request route, the failure routes
 * and the branch routes of one transaction, so `vars`, flags and armed routes carry over as
 * Kamailio's AVPs and flags do.
 */
export class RequestCtx implements RequestContext {
  route: "request" | "failure" | "branch" = "request";
  txn: ServerTxn | null = null;
  ruri: string;
  dst: string | null = null;
  /** Path vector (Route set) of the R-URI branch, from registrar lookup (RFC 3327). */
  path: string | null = null;
  flags = 0;
  private _vars: Map<string, unknown> | null = null;
  get vars(): Map<string, unknown> {
    return (this._vars ??= new Map());
  }
  extra: BranchTarget[] = [];
  forcedSocket: string | null = null;
  rrParams: string | null = null;
  rrPreset: string | null = null;
  failureRoute: string | null = null;
  replyRoute: string | null = null;
  branchRoute: string | null = null;
  mfDone = false;
  replied = false;
  acted = false;
  /** failure route */
  replyMsg: SipMessage | null = null;
  replyCode = 0;
  /** branch route */
  branchIndex = -1;
  branchPatches: Patch[] | null = null;
  dropBranch = false;
  /** Indexes of header fields already removed or rewritten (SipMessage field indexes). */
  private removed: Set<number> | null = null;
  /** Header fields added by setHeader outside branch routes (a second setHeader rewrites them). */
  private setFields: Map<string, { text: string }> | null = null;
  private _ruriParsed: SipUri | null | undefined = undefined;

  constructor(
    readonly tm: TransactionApi,
    readonly msg: SipMessage,
    readonly source: Endpoint,
    readonly sock: ListenSocket,
    readonly conn: Connection | null,
    readonly log: Logger,
  ) {
    this.ruri = msg.requestUri;
  }

  get method(): string {
    return this.msg.method;
  }

  get localSocket(): string {
    return this.sock.socketString;
  }

  get localSocketName(): string | null {
    return this.sock.name;
  }

  get ruriParsed(): SipUri | null {
    if (this._ruriParsed === undefined) this._ruriParsed = this.ruri === this.msg.requestUri ? this.msg.ruriParsed : parseUri(this.ruri);
    return this._ruriParsed;
  }

  get ruriUser(): string | null {
    return this.ruriParsed?.user ?? null;
  }

  get ruriHost(): string {
    return this.ruriParsed?.host ?? "";
  }

  get hasToTag(): boolean {
    return this.msg.toTag !== null;
  }

  get branchCount(): number {
    return this.extra.length;
  }

  get appendedBranches(): ReadonlyArray<BranchTarget> {
    return this.extra;
  }

  get connectionId(): number | null {
    return this.conn?.id ?? null;
  }

  setRuri(uri: string): void {
    this.ruri = uri;
    this._ruriParsed = undefined;
  }

  setRuriUser(user: string | null): void {
    const u = this.ruriParsed;
    if (!u) return;
    this.setRuri(rewriteUri(u, { user }));
  }

  setRuriHost(host: string, port?: number | null): void {
    const u = this.ruriParsed;
    if (!u) return;
    this.setRuri(rewriteUri(u, { host, port: port === undefined ? u.port : port }));
  }

  setDst(uri: string | null): void {
    this.dst = uri;
  }

  setPath(path: string | null): void {
    this.path = path;
  }

  appendBranch(uri: string, opts: { dst?: string; q?: number; flags?: number; socket?: string; path?: string } = {}): void {
    this.extra.push({ uri, dst: opts.dst ?? null, socket: opts.socket ?? null, flags: opts.flags ?? 0, path: opts.path ?? null });
  }

  clearBranches(): void {
    this.extra = [];
  }

  forceSendSocket(socket: string): void {
    this.forcedSocket = socket;
  }

  setFlag(flag: number): void {
    this.flags |= 1 << flag;
  }

  resetFlag(flag: number): void {
    this.flags &= ~(1 << flag);
  }

  isFlagSet(flag: number): boolean {
    return (this.flags & (1 << flag)) !== 0;
  }

  isMyself(uri?: string): boolean {
    if (uri === undefined) {
      const u = this.ruriParsed;
      return u !== null && this.tm.isMyselfUri(u);
    }
    return this.tm.isMyself(uri);
  }

  // ---------------------------------------------------------------- header edits

  private patch(start: number, end: number, text: string): void {
    if (this.route === "branch") (this.branchPatches ??= []).push(new Patch(start, end, text));
    else this.msg.addPatch(start, end, text);
  }

  addHeader(name: string, value: string, opts: { first?: boolean } = {}): void {
    const at = opts.first ? this.msg.startLineEnd : this.msg.headersEnd;
    this.patch(at, at, `${prettyName(name)}: ${value}\r\n`);
  }

  removeHeader(name: string): number {
    const c = canonicalName(name);
    const m = this.msg;
    let n = 0;
    for (let i = m.indexOf(c); i >= 0; i = m.indexOf(c, i + 1)) {
      if (this.removed?.has(i)) continue;
      (this.removed ??= new Set()).add(i);
      this.patch(m.startAt(i), m.endAt(i), "");
      n++;
    }
    return n;
  }

  removeHeaderAt(name: string, index: number): boolean {
    return this.editField(name, index, "");
  }

  /** Replaces one header field (by name and index) with `text`; false if absent or already edited. */
  private editField(name: string, index: number, text: string): boolean {
    const m = this.msg;
    const c = canonicalName(name);
    let i = m.indexOf(c);
    for (let k = 0; k < index && i >= 0; k++) i = m.indexOf(c, i + 1);
    if (i < 0 || this.removed?.has(i)) return false;
    (this.removed ??= new Set()).add(i);
    this.patch(m.startAt(i), m.endAt(i), text);
    return true;
  }

  setHeader(name: string, value: string): void {
    const c = canonicalName(name);
    const text = `${prettyName(name)}: ${value}\r\n`;
    // set again (a failure route re-setting CSeq / Proxy-Authorization): the last value wins
    const had = this.route === "branch" ? undefined : this.setFields?.get(c);
    if (had) {
      had.text = text;
      return;
    }
    this.removeHeader(name);
    if (this.route === "branch") {
      this.addHeader(name, value);
      return;
    }
    const at = this.msg.headersEnd;
    const p = new Patch(at, at, text);
    (this.msg.patches ??= []).push(p);
    (this.setFields ??= new Map()).set(c, p);
  }

  replaceHeader(name: string, index: number, value: string): boolean {
    return this.editField(name, index, `${prettyName(name)}: ${value}\r\n`);
  }


  setBody(body: string, contentType?: string): void {
    const m = this.msg;
    this.patch(m.bodyStart, m.bodyEnd, body);
    this.setHeader("Content-Length", String(Buffer.byteLength(body, "latin1")));
    if (contentType) this.setHeader("Content-Type", contentType);
  }

  // ---------------------------------------------------------------- proxy actions

  processMaxForwards(limit: number): boolean {
    if (this.mfDone) return true;
    const f = this.msg.field("max-forwards");
    this.mfDone = true;
    if (!f) {
      this.addHeader("Max-Forwards", String(limit));
      return true;
    }
    let v = this.msg.maxForwards;
    if (v === null) v = 0;
    if (v === 0) return false;
    const max = this.tm.maxForwardsDefault;
    if (v > max) v = max;
    this.patch(f.valueStart, f.valueEnd, String(v - 1));
    return true;
  }

  recordRoute(params?: string): void {
    let p = params ?? "";
    if (p && !p.startsWith(";")) p = ";" + p;
    this.rrParams = (this.rrParams ?? "") + p;
  }

  recordRoutePreset(uri: string): void {
    this.rrPreset = uri.startsWith("<") ? uri : `<${uri}>`;
  }

  looseRoute(): boolean {
    const entries = routeEntries(this.msg, this.removed);
    if (entries.length === 0) {
      // strict-router interop (RFC 3261 §16.4): R-URI is ours but there are no routes left — nothing to do
      return false;
    }
    let i = 0;
    // RFC 3261 §16.4: a previous strict router put our RR URI into the R-URI and the
    // remote target into the last Route: restore it.
    if (this.isMyself(this.ruri) && this.ruriParsed?.user === null && this.ruriParsed?.params.has("lr") === false) {
      const last = entries[entries.length - 1]!;
      const na = parseNameAddr(last.value);
      if (na) {
        this.setRuri(na.uriText);
        this.dropRouteEntries(entries, [entries.length - 1]);
        entries.pop();
      }
    }
    const drop: number[] = [];
    let flow: Endpoint | null = null;
    while (i < entries.length) {
      const na = parseNameAddr(entries[i]!.value);
      if (!na || !na.uri || !this.tm.isMyselfUri(na.uri)) break;
      // a flow token on our own entry names a WebSocket peer's connection (RFC 5626 §5.3):
      // it is the next hop unless the request came in on that very flow
      const f = decodeFlowToken(na.uri?.user);
      if (f && !(f.proto === this.source.proto && f.address === this.source.address && f.port === this.source.port)) flow = f;
      drop.push(i);
      i++;
    }
    if (drop.length) this.dropRouteEntries(entries, drop);
    if (flow) {
      this.dst = flowUri(flow);
      return true;
    }
    if (i < entries.length) {
      const next = parseNameAddr(entries[i]!.value);
      if (next && next.uri) {
        if (next.uri.params.has("lr")) this.dst = next.uriText;
        else {
          // next hop is a strict router: it becomes the R-URI, the R-URI goes last
          const oldRuri = this.ruri;
          this.setRuri(next.uriText);
          this.dropRouteEntries(entries, [i]);
          this.addHeader("Route", `<${oldRuri}>`);
        }
      }
    }
    return true;
  }

  private dropRouteEntries(entries: RouteEntry[], idx: number[]): void {
    // fields touched, in order; each is rewritten once with the entries that stay
    let last = -1;
    const m = this.msg;
    for (const k of idx) {
      const field = entries[k]!.field;
      if (field === last) continue;
      last = field;
      (this.removed ??= new Set()).add(field);
      let keep = "";
      for (let j = 0; j < entries.length; j++) {
        const e = entries[j]!;
        if (e.field !== field || idx.includes(j)) continue;
        keep = keep ? `${keep}, ${e.value}` : e.value;
      }
      if (keep === "") this.patch(m.startAt(field), m.endAt(field), "");
      else this.patch(m.valueStartAt(field), m.valueEndAt(field), keep);
    }
  }

  checkTransaction(): boolean {
    if (this.msg.method === "CANCEL") return this.tm.findInviteFor(this.msg) !== undefined;
    return this.tm.findTxnFor(this.msg) !== undefined;
  }

  onFailure(route: string | null): void {
    this.failureRoute = route;
  }

  onReply(route: string | null): void {
    this.replyRoute = route;
  }

  onBranch(route: string | null): void {
    this.branchRoute = route;
  }

  setFinalResponseTimers(invMs: number, noninvMs?: number): void {
    this.frInvOverride = invMs;
    if (noninvMs !== undefined) this.frNonInvOverride = noninvMs;
    if (this.txn) {
      this.txn.frInv = invMs;
      if (noninvMs !== undefined) this.txn.frNonInv = noninvMs;
    }
  }

  frInvOverride = 0;
  frNonInvOverride = 0;

  private plan(): RelayPlan {
    const targets: BranchTarget[] = [{ uri: this.ruri, dst: this.dst, socket: this.forcedSocket, flags: 0, path: this.path }];
    for (const b of this.extra) targets.push({ ...b, socket: b.socket ?? this.forcedSocket });
    return { targets, recordRoute: this.rrParams, recordRoutePreset: this.rrPreset, maxForwardsDone: this.mfDone };
  }

  relay(opts?: { dst?: string }): boolean {
    if (opts?.dst) this.dst = opts.dst;
    const tm = this.tm;
    const m = this.msg.method;
    if (m === "ACK") {
      const ok = tm.forwardStateless(this.msg, this.source, this.sock, this.plan());
      this.acted ||= ok;
      return ok;
    }
    if (m === "CANCEL") {
      const inv = tm.findInviteFor(this.msg);
      this.acted = true;
      if (inv) {
        tm.cancelInvite(inv, this.msg, this.source, this.sock, this.conn);
        return true;
      }
      return tm.forwardStateless(this.msg, this.source, this.sock, this.plan());
    }
    let t = this.txn;
    if (!t) {
      t = tm.createServerTxn(this.msg, this.source, this.sock, this.conn);
      if (!t) return false;
      this.bindTxn(t);
    }
    if (t.finalSent && !(t.isInvite && t.accepted)) return false;
    const n = tm.relay(t, this.plan());
    this.extra = [];
    if (n > 0) this.acted = true;
    return n > 0;
  }

  bindTxn(t: ServerTxn): void {
    this.txn = t;
    t.ctx = this;
    if (this.frInvOverride) t.frInv = this.frInvOverride;
    if (this.frNonInvOverride) t.frNonInv = this.frNonInvOverride;
    if (this.pendingObservers) {
      // observers registered while no transaction could be created (transaction table full)
      t.observers = t.observers ? t.observers.concat(this.pendingObservers) : this.pendingObservers;
      this.pendingObservers = null;
    }
  }

  /** Observers waiting for the transaction (only when it could not be created yet). */
  private pendingObservers: TransactionObserver[] | null = null;

  observeTransaction(observer: TransactionObserver): void {
    const m = this.msg.method;
    if (m === "ACK" || m === "CANCEL") return;
    if (!this.txn && !(this.replied && this.route === "request")) {
      // t_newtran: later replies become stateful, so the observer sees them
      const t = this.tm.createServerTxn(this.msg, this.source, this.sock, this.conn);
      if (t) this.bindTxn(t);
    }
    if (this.txn) (this.txn.observers ??= []).push(observer);
    else (this.pendingObservers ??= []).push(observer);
  }

  forward(dst?: string): boolean {
    if (dst) this.dst = dst;
    const ok = this.tm.forwardStateless(this.msg, this.source, this.sock, this.plan());
    this.acted ||= ok;
    return ok;
  }

  reply(code: number, reason: string, opts?: SendOptions): boolean {
    this.replied = true;
    if (this.txn) return this.tm.txnReply(this.txn, code, reason, opts);
    return this.tm.sendStatelessReply(this.msg, this.source, this.sock, this.conn, code, reason, opts);
  }

  replyError(): boolean {
    return this.reply(500, "Server Internal Error");
  }

  // ---------------------------------------------------------------- failure route helpers

  checkStatus(re: string | RegExp): boolean {
    const r = typeof re === "string" ? new RegExp(`^(${re})$`) : re;
    return r.test(String(this.replyCode));
  }

  private lastBranch() {
    const bs = this.txn?.branches;
    return bs && bs.length ? bs[bs.length - 1]! : null;
  }

  branchTimeout(): boolean {
    return this.lastBranch()?.timedOut ?? false;
  }

  branchReplied(): boolean {
    return this.lastBranch()?.replied ?? false;
  }

  anyTimeout(): boolean {
    return this.txn?.branches.some((b) => b.timedOut) ?? false;
  }

  anyReplied(): boolean {
    return this.txn?.branches.some((b) => b.replied) ?? false;
  }

  isCanceled(): boolean {
    return this.txn?.canceled ?? false;
  }

  drop(): void {
    this.dropBranch = true;
  }
}

interface RouteEntry {
  /** field index in the message */
  field: number;
  value: string;
}

function routeEntries(msg: SipMessage, removed: Set<number> | null): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (let f = msg.indexOf("route"); f >= 0; f = msg.indexOf("route", f + 1)) {
    if (removed?.has(f)) continue;
    for (const v of splitList(msg.valueAt(f))) if (v) out.push({ field: f, value: v });
  }
  return out;
}
