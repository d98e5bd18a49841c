import { randomBytes } from "node:crypto";
import { parseMessage, type Endpoint, type ListenSocket, type Logger, type SipMessage, type StatGroup, type WireHook } from "../../core/api.js";
import { MessageEdit, uriOf } from "./edit.js";
import { ExpiringMap, type BranchRecord, type DialogRecord, type ToposStore } from "./store.js";

/**
 * Topology hiding with stored state (Kamailio topos), as a wire hook: the script and tm see the
 * full messages; what goes out toward each side carries only Olelo's Via, no Record-Route, and a
 * Contact of Olelo's (`atpsh-<uuid>` toward the caller side, `btpsh-<uuid>` toward the callee
 * side), and optionally a masked Call-ID toward the callee side. What was stripped is kept per
 * dialog (topos_d) and per branch (topos_t) and put back when the far side's requests and
 * replies come in, before the script sees them.
 */

export interface ToposOptions {
  readonly maskCallId: boolean;
  readonly branchExpireMs: number;
  readonly dialogExpireMs: number;
  readonly contactHost: string | null;
  readonly loadTimeoutMs: number;
}

/** Which side a received request came from, kept under its top Via branch for the replies. */
interface TxnCtx {
  readonly uuid: string;
  /** 0 = from the caller side (downstream), 1 = from the callee side (upstream) */
  readonly dir: 0 | 1;
  readonly initial: boolean;
}

const SKIP = new Set(["REGISTER", "PUBLISH"]);
const DIALOG_CREATING = new Set(["INVITE", "SUBSCRIBE", "REFER"]);
const END_GRACE_SEC = 30;

export class Topos implements WireHook {
  readonly dialogs = new ExpiringMap<DialogRecord>();
  private readonly initial = new ExpiringMap<string>();
  private readonly branches = new ExpiringMap<BranchRecord>();
  private readonly txns = new ExpiringMap<TxnCtx>();
  /** uuid → To-tag of the 2xx that answered the initial request (forking: the other forks' late replies change nothing). */
  private readonly answered = new ExpiringMap<string>();
  private readonly prefix = randomBytes(3).toString("hex");
  private seq = 0;

  constructor(
    private readonly o: ToposOptions,
    private readonly store: ToposStore | null,
    private readonly stats: StatGroup,
    private readonly log: Logger,
  ) {}

  /** Masked Call-ID toward the callee side (derived from the dialog id, so every node agrees). */
  maskedCallId(uuid: string): string {
    return `tpsh-${uuid}`;
  }

  sweep(): number {
    return this.dialogs.sweep() + this.initial.sweep() + this.branches.sweep() + this.txns.sweep() + this.answered.sweep();
  }

  // ------------------------------------------------------------------ received

  received(msg: SipMessage, _src: Endpoint, _sock: ListenSocket): SipMessage | null | Promise<SipMessage | null> {
    if (msg.isRequest) return this.requestReceived(msg);
    return this.replyReceived(msg);
  }

  private requestReceived(msg: SipMessage): SipMessage | Promise<SipMessage> {
    if (SKIP.has(msg.method)) return msg;
    const user = msg.ruriParsed?.user ?? null;
    if (user === null || user.length < 7 || user.charCodeAt(1) !== 116 || !(user.startsWith("atpsh-") || user.startsWith("btpsh-"))) return msg;
    const dir: 0 | 1 = user.charCodeAt(0) === 97 ? 0 : 1;
    const uuid = user.slice(6);
    const d = this.dialogs.get(uuid);
    if (d) return this.restoreRequest(msg, d, dir);
    if (!this.store) {
      this.stats.inc("not_found");
      return msg;
    }
    return this.bounded(this.store.loadDialog(uuid)).then((row) => {
      if (!row) {
        this.stats.inc("not_found");
        return msg;
      }
      this.stats.inc("loaded");
      this.dialogs.set(uuid, row, this.o.dialogExpireMs);
      return this.restoreRequest(msg, row, dir);
    });
  }

  /** In-dialog request from one side: R-URI and route set of the other side back, Call-ID unmasked. */
  private restoreRequest(msg: SipMessage, d: DialogRecord, dir: 0 | 1): SipMessage {
    const target = dir === 0 ? d.bContact : d.aContact;
    if (target === "") {
      this.stats.inc("not_found");
      return msg;
    }
    if (Date.now() - d.rectime > this.o.dialogExpireMs / 2) this.saveDialog(d); // a long call keeps its record
    const ed = new MessageEdit(msg);
    ed.setRequestUri(target);
    if (dir === 0) ed.insertAfterLast("route", d.bRr.slice().reverse().map((r) => `Route: ${r}\r\n`));
    else ed.insertAfterLast("route", d.aRr.map((r) => `Route: ${r}\r\n`));
    if (msg.callId !== d.aCallId) ed.setValue("call-id", d.aCallId);
    const out = ed.reparse();
    if (!out) return msg;
    const branch = msg.topViaOrNull?.branch;
    if (branch) this.txns.set(branch, { uuid: d.uuid, dir, initial: false }, this.o.branchExpireMs);
    this.stats.inc("restored_requests");
    return out;
  }

  private replyReceived(msg: SipMessage): SipMessage | Promise<SipMessage> {
    const branch = msg.topViaOrNull?.branch;
    if (!branch) return msg;
    const b = this.branches.get(branch);
    if (b) return this.restoreReply(msg, b);
    if (!this.store) return msg;
    return this.bounded(this.store.loadBranch(branch)).then((row) => (row ? this.restoreReply(msg, row) : msg));
  }

  /** Reply from the far side: the stripped Vias back under ours, the Call-ID unmasked, the dialog updated. */
  private restoreReply(msg: SipMessage, b: BranchRecord): SipMessage | Promise<SipMessage> {
    const ed = new MessageEdit(msg);
    ed.insertAfter("via", b.vias.map((v) => `Via: ${v}\r\n`));
    if (msg.callId !== b.aCallId) ed.setValue("call-id", b.aCallId);
    const st = msg.status;
    const toTag = msg.toTag;
    let written: Promise<void> | null = null;
    if (b.uuid !== "" && st > 100 && st < 300 && toTag !== null) {
      const d = this.dialogs.get(b.uuid);
      if (d) written = this.learnFromReply(msg, d, b);
    }
    const out = ed.reparse() ?? msg;
    this.stats.inc("restored_replies");
    // the callee's Contact and route set reach the shared store before the caller learns of the
    // answer, so an in-dialog request at any node finds them (bounded by load_timeout_ms)
    return written ? this.bounded(written.then(() => out)).then((m) => m ?? out) : out;
  }

  private learnFromReply(msg: SipMessage, d: DialogRecord, b: BranchRecord): Promise<void> | null {
    const contact = msg.headerValues("contact")[0];
    let changed = false;
    if (b.direction === 0) {
      const won = this.answered.get(d.uuid);
      if (won !== undefined && won !== msg.toTag) return null; // a late reply of a fork that lost
      if (msg.status >= 200 && DIALOG_CREATING.has(b.method)) this.answered.set(d.uuid, msg.toTag ?? "", this.o.dialogExpireMs);
      if (contact && uriOf(contact) !== d.bContact) {
        d.bContact = uriOf(contact);
        changed = true;
      }
      if (DIALOG_CREATING.has(b.method) && d.bTag !== msg.toTag) {
        d.bTag = msg.toTag ?? "";
        d.bRr = msg.headerValues("record-route");
        changed = true;
      }
    } else if (contact && uriOf(contact) !== d.aContact) {
      d.aContact = uriOf(contact);
      changed = true;
    }
    return changed ? this.saveDialog(d) : null;
  }

  // ------------------------------------------------------------------ sending

  sending(data: Buffer, _dest: Endpoint, sock: ListenSocket): Buffer {
    const r = parseMessage(data);
    if (!r.ok) return data;
    const msg = r.msg;
    return msg.isRequest ? this.requestSending(msg, data, sock) : this.replySending(msg, data, sock);
  }

  private requestSending(msg: SipMessage, data: Buffer, sock: ListenSocket): Buffer {
    if (SKIP.has(msg.method)) return data;
    const vias = msg.viasOrNull;
    if (!vias || vias.length < 2) return data;
    const prevBranch = vias[1]!.branch ?? "";
    let ctx = prevBranch ? this.txns.get(prevBranch) : undefined;
    let d: DialogRecord | undefined;
    if (ctx && !ctx.initial) d = this.dialogs.get(ctx.uuid);
    else if (msg.toTag === null) {
      if (DIALOG_CREATING.has(msg.method)) {
        d = this.initialDialog(msg);
        ctx = { uuid: d.uuid, dir: 0, initial: true };
        if (prevBranch) this.txns.set(prevBranch, ctx, this.o.branchExpireMs);
      } else ctx = { uuid: "", dir: 0, initial: true };
    } else return data; // in-dialog request that did not come through an Olelo contact
    const dir = ctx!.dir;
    const ed = new MessageEdit(msg);
    ed.keepTopViaOnly();
    ed.removeAll("record-route");
    const uuid = d?.uuid ?? "";
    if (d) {
      const contact = msg.headerValues("contact")[0];
      if (contact && contact !== "*") {
        const uri = uriOf(contact);
        if (dir === 0 && uri !== d.aContact) {
          d.aContact = uri;
          this.saveDialog(d);
        } else if (dir === 1 && uri !== d.bContact) {
          d.bContact = uri;
          this.saveDialog(d);
        }
        ed.setValue("contact", this.contactFor(dir === 0 ? "b" : "a", uuid, sock));
      }
      if (dir === 0 && this.o.maskCallId) ed.setValue("call-id", this.maskedCallId(uuid));
      if (msg.method === "BYE") this.endDialog(d);
    }
    const top = vias[0]!.branch;
    if (top && msg.method !== "ACK") {
      const rec: BranchRecord = {
        branch: top,
        uuid,
        aCallId: d?.aCallId ?? msg.callId,
        direction: dir,
        vias: msg.headerValues("via").slice(1),
        method: msg.method,
        cseq: String(msg.cseqOrNull?.seq ?? ""),
        rectime: Date.now(),
      };
      this.branches.set(top, rec, this.o.branchExpireMs);
      if (this.store && uuid !== "") this.store.saveBranch(rec, Math.ceil(this.o.branchExpireMs / 1000));
    }
    this.stats.inc("hidden_requests");
    return ed.bytes();
  }

  private replySending(msg: SipMessage, data: Buffer, sock: ListenSocket): Buffer {
    const branch = msg.topViaOrNull?.branch;
    const ctx = branch ? this.txns.get(branch) : undefined;
    if (!ctx || ctx.uuid === "") return data;
    const d = this.dialogs.get(ctx.uuid);
    const ed = new MessageEdit(msg);
    const st = msg.status;
    // the caller's own route set goes back on the replies that set up its dialog (not on 100, 487, or the 200 to CANCEL)
    if (ctx.dir === 0 && ctx.initial && d && d.aRr.length && st > 100 && st < 300 && DIALOG_CREATING.has(msg.cseqOrNull?.method ?? "")) ed.insertAfterLast("via", [`Record-Route: ${d.aRr.join(", ")}\r\n`]);
    // after the insertion: at the same offset (a Record-Route of the callee side right below the
    // Via) the removal would otherwise swallow it (patches apply in the order pushed)
    ed.removeAll("record-route");
    if ((st < 300 || st >= 400) && msg.field("contact")) ed.setValue("contact", this.contactFor(ctx.dir === 0 ? "a" : "b", ctx.uuid, sock));
    if (ctx.dir === 1 && this.o.maskCallId) ed.setValue("call-id", this.maskedCallId(ctx.uuid));
    this.stats.inc("hidden_replies");
    return ed.bytes();
  }

  // ------------------------------------------------------------------ dialog records

  private initialDialog(msg: SipMessage): DialogRecord {
    const key = `${msg.callId}|${msg.fromTag ?? ""}`;
    const known = this.initial.get(key);
    const had = known ? this.dialogs.get(known) : undefined;
    if (had) return had;
    const uuid = `${this.prefix}${(++this.seq).toString(36)}${randomBytes(5).toString("hex")}`;
    const contact = msg.headerValues("contact")[0];
    const d: DialogRecord = {
      uuid,
      aCallId: msg.callId,
      aTag: msg.fromTag ?? "",
      bTag: "",
      aContact: contact && contact !== "*" ? uriOf(contact) : "",
      bContact: "",
      aRr: msg.headerValues("record-route"),
      bRr: [],
      aUri: msg.fromOrNull?.uriText ?? "",
      bUri: msg.toOrNull?.uriText ?? "",
      rUri: msg.requestUri,
      aSrc: "",
      bSrc: "",
      rectime: Date.now(),
    };
    this.initial.set(key, uuid, this.o.branchExpireMs);
    this.dialogs.set(uuid, d, this.o.dialogExpireMs);
    this.stats.inc("dialogs");
    this.saveDialog(d);
    return d;
  }

  private saveDialog(d: DialogRecord): Promise<void> | null {
    d.rectime = Date.now();
    this.dialogs.set(d.uuid, d, this.o.dialogExpireMs);
    return this.store ? this.store.saveDialog(d, Math.ceil(this.o.dialogExpireMs / 1000)) : null;
  }

  private endDialog(d: DialogRecord): void {
    this.dialogs.set(d.uuid, d, END_GRACE_SEC * 1000);
    this.store?.endDialog(d.uuid, END_GRACE_SEC);
  }

  private contactFor(side: "a" | "b", uuid: string, sock: ListenSocket): string {
    const host = this.o.contactHost ?? `${sock.viaHost}:${sock.viaPort}`;
    const tp = sock.proto === "udp" ? "" : `;transport=${sock.proto === "wss" ? "ws" : sock.proto}`;
    return `<sip:${side}tpsh-${uuid}@${host}${tp}>`;
  }

  /** A store read bounded by load_timeout_ms (null on timeout or error, counted). */
  private bounded<T>(p: Promise<T | null>): Promise<T | null> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<null>((res) => {
      timer = setTimeout(() => {
        this.stats.inc("store_timeouts");
        res(null);
      }, this.o.loadTimeoutMs);
    });
    return Promise.race([
      p.catch((e: unknown) => {
        this.stats.inc("store_errors");
        this.log.warn("topos: store read failed", { error: (e as Error).message });
        return null;
      }),
      t,
    ]).finally(() => clearTimeout(timer));
  }
}
