import type { BranchInfo, RequestContext, SipMessageView, TransactionObserver, EventBus, OleloEvent, Logger, Counter, StatGroup } from "../../core/api.js";
import type { CallEndedData } from "../dialog/api.js";
import type { AccParams } from "./params.js";
import type { AccDbWriter } from "./db-writer.js";
import type { JsonLinesFile } from "./json-lines-file.js";
import type { CdrSpool } from "./cdr-spool.js";
import type { CdrShipper } from "./cdr-shipper.js";
import { cdrFromCallEnded } from "./cdr-record.js";
import { compileDialogExtras, compileRequestExtras, type AccVarContext, type ExtraColumn } from "./extra.js";

/** Kamailio's core acc columns, in their order (acc, missed_calls). */
export const ACC_CORE_COLUMNS = ["method", "from_tag", "to_tag", "callid", "sip_code", "sip_reason", "time"] as const;
/** The same fields as Kamailio's log records name them (acc.h A_*). */
const LOG_CORE_NAMES = ["method", "from_tag", "to_tag", "call_id", "code", "reason"] as const;

/** Key in `req.vars` marking a request whose transaction is accounted. */
export const ACC_TRACK_VAR = "acc:track";

/** Log prefixes of Kamailio's acc.h. */
const TEXT = {
  acc: "ACC: transaction answered: ",
  missed: "ACC: call missed: ",
  request: "ACC: request accounted: ",
} as const;

export interface AccDeps {
  readonly log: Logger;
  readonly events: EventBus;
  readonly stats: StatGroup;
  /** Database writer (db_url set), or null. */
  readonly db: AccDbWriter | null;
  /** JSON-lines file for log records (log_file set), or null for the logger. */
  readonly file: JsonLinesFile | null;
  /** Billing CDR spool (cdr_spool / cdr_push_url), or null. */
  readonly spool?: CdrSpool | null;
  readonly shipper?: CdrShipper | null;
}

/** What one accounted record carries before it goes to a backend. */
interface CoreValues {
  method: string;
  fromTag: string;
  toTag: string;
  callId: string;
  code: number;
  reason: string;
  time: Date;
}

/**
 * Transaction accounting and CDRs (Kamailio acc): a tracked request's transaction is accounted
 * when its final reply goes upstream, according to the flags set on the request at that moment
 * (log_flag / db_flag, failed_transaction_flag for negative replies, log_missed_flag /
 * db_missed_flag for INVITEs that fail); CDRs are written from the dialog module's call.ended
 * events when cdr_enable is set.
 */
export class Acc {
  private readonly logExtra: ExtraColumn<AccVarContext>[];
  private readonly dbExtra: ExtraColumn<AccVarContext>[];
  private readonly cdrExtra: ExtraColumn<CallEndedData>[];
  private readonly unsubscribe: (() => void) | null = null;
  private readonly n: { acc: Counter; missed: Counter; cdrs: Counter };

  constructor(
    readonly params: AccParams,
    private readonly deps: AccDeps,
  ) {
    this.logExtra = compileRequestExtras(params.log_extra, "log_extra");
    this.dbExtra = compileRequestExtras(params.db_extra, "db_extra");
    this.cdrExtra = compileDialogExtras(params.cdr_extra, "cdr_extra");
    const g = deps.stats;
    this.n = { acc: g.counter("acc_records"), missed: g.counter("missed_records"), cdrs: g.counter("cdr_records") };
    const db = deps.db;
    if (db) {
      const accCols = [...ACC_CORE_COLUMNS, ...this.dbExtra.map((e) => e.name)];
      db.defineTable(params.db_table_acc, accCols);
      if (params.db_table_missed_calls !== params.db_table_acc) db.defineTable(params.db_table_missed_calls, accCols);
      if (params.cdr_enable) {
        db.defineTable(params.cdrs_table, [params.cdr_start_id, params.cdr_end_id, params.cdr_duration_id, ...this.cdrExtra.map((e) => e.name)]);
      }
      g.gauge("db_queued", () => db.status.queued);
      g.gauge("db_written", () => db.status.written, true);
      g.gauge("db_errors", () => db.status.errors, true);
      g.gauge("db_dropped", () => db.status.dropped, true);
      g.gauge("db_rejected", () => db.status.rejected, true);
    }
    if (params.cdr_enable) {
      this.unsubscribe = deps.events.subscribe(["call.ended"], (ev: OleloEvent) => this.onCallEnded(ev.data as unknown as CallEndedData));
    }
  }

  // ------------------------------------------------------------------ transactions

  /**
   * Arms accounting for the request's transaction (Kamailio does this for every transaction
   * through tm's TMCB_REQUEST_IN; in Olelo the script calls it). Makes the request stateful:
   * relay it with req.relay(). ACK and CANCEL are not accounted (report_ack/report_cancels 0).
   */
  track(req: RequestContext): void {
    const m = req.method;
    if (m === "ACK" || m === "CANCEL") return;
    if (req.vars.get(ACC_TRACK_VAR)) return;
    req.vars.set(ACC_TRACK_VAR, true);
    req.observeTransaction(new AccTxn(this, req));
  }

  /** @internal a reply went upstream on a tracked transaction. */
  onReply(t: AccTxn, status: number, msg: SipMessageView, branchIndex: number): void {
    const req = t.req;
    const p = this.params;
    if (status < 200 && !(p.early_media && msg.body.length > 0)) return;
    if (status >= 200 && status < 300 && branchIndex >= 0) {
      // the core relays every 2xx of an INVITE, retransmissions too: account one per branch
      if (t.answered.includes(branchIndex)) return;
      t.answered.push(branchIndex);
    }
    const ctx: AccVarContext = { req, reply: msg, status, reason: this.reasonOf(msg), branchUri: branchIndex >= 0 ? t.branchUris[branchIndex] ?? null : null };
    if (status >= 300 && req.method === "INVITE") this.missed(ctx);
    if (!this.shouldAccount(req, status)) return;
    const core = this.coreOf(ctx);
    let wrote = false;
    if (req.isFlagSet(p.log_flag)) {
      this.emitLog("acc", core, this.logExtra, ctx);
      wrote = true;
    }
    if (this.deps.db && req.isFlagSet(p.db_flag)) {
      this.deps.db.enqueue(p.db_table_acc, this.dbRow(core, ctx));
      wrote = true;
    }
    if (wrote) this.n.acc.v++;
  }

  /** should_acc_reply: negative replies only with failed_transaction_flag (minus failed_filter). */
  private shouldAccount(req: RequestContext, status: number): boolean {
    const p = this.params;
    if (status >= 300) return req.isFlagSet(p.failed_transaction_flag) && !p.failed_filter.includes(status);
    return req.isFlagSet(p.log_flag) || (this.deps.db !== null && req.isFlagSet(p.db_flag));
  }

  /** on_missed: a failed INVITE with a missed-call flag; the flags are reset so it is reported once. */
  private missed(ctx: AccVarContext): void {
    const p = this.params;
    const req = ctx.req;
    const logIt = req.isFlagSet(p.log_missed_flag);
    const dbIt = this.deps.db !== null && req.isFlagSet(p.db_missed_flag);
    if (!logIt && !dbIt) return;
    const core = this.coreOf(ctx);
    if (logIt) {
      this.emitLog("missed", core, this.logExtra, ctx);
      req.resetFlag(p.log_missed_flag);
    }
    if (dbIt) {
      this.deps.db!.enqueue(p.db_table_missed_calls, this.dbRow(core, ctx));
      req.resetFlag(p.db_missed_flag);
    }
    this.n.missed.v++;
  }

  private reasonOf(msg: SipMessageView): string {
    if (this.params.reason_from_hf) {
      const r = msg.header("reason");
      if (r !== null) return r;
    }
    return msg.reason;
  }

  private coreOf(ctx: AccVarContext): CoreValues {
    const msg = ctx.req.msg;
    return {
      method: msg.cseq.method,
      fromTag: msg.fromTag ?? "",
      toTag: ctx.reply?.toTag ?? msg.toTag ?? "",
      callId: msg.callId,
      code: ctx.status,
      reason: ctx.reason,
      time: new Date(),
    };
  }

  private dbRow(c: CoreValues, ctx: AccVarContext): unknown[] {
    const row: unknown[] = [c.method, c.fromTag, c.toTag, c.callId, c.code ? String(c.code) : "", c.reason, c.time];
    for (const e of this.dbExtra) row.push(e.get(ctx));
    return row;
  }

  /** A log record: Kamailio's syslog line, or a JSON line in log_file. */
  private emitLog(kind: "acc" | "missed" | "request", c: CoreValues, extra: ExtraColumn<AccVarContext>[], ctx: AccVarContext): void {
    const file = this.deps.file;
    if (file) {
      const rec: Record<string, unknown> = {
        type: kind,
        time: c.time.toISOString(),
        method: c.method,
        from_tag: c.fromTag,
        to_tag: c.toTag,
        callid: c.callId,
        sip_code: c.code ? String(c.code) : "",
        sip_reason: c.reason,
      };
      for (const e of extra) rec[e.name] = e.get(ctx);
      file.write(rec);
      return;
    }
    const vals = [c.method, c.fromTag, c.toTag, c.callId, c.code ? String(c.code) : "", c.reason];
    let line = `${TEXT[kind]}timestamp=${Math.floor(c.time.getTime() / 1000)}`;
    for (let i = 0; i < LOG_CORE_NAMES.length; i++) line += `;${LOG_CORE_NAMES[i]}=${vals[i]}`;
    for (const e of extra) line += `;${e.name}=${e.get(ctx)}`;
    this.deps.log.info(line);
  }

  // ------------------------------------------------------------------ explicit records

  /**
   * [acc_log_request(comment)] logs the current request now; the comment is "<code> <reason>"
   * (e.g. "403 Forbidden") or just a reason.
   */
  logRequest(req: RequestContext, comment: string): void {
    const ctx = this.commentCtx(req, comment);
    this.emitLog("request", this.coreOf(ctx), this.logExtra, ctx);
    this.n.acc.v++;
  }

  /** [acc_db_request(comment, table)] writes the current request to a table now (acc columns + db_extra). */
  dbRequest(req: RequestContext, comment: string, table: string): boolean {
    const db = this.deps.db;
    if (!db) throw new Error("acc.dbRequest: no db_url configured");
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new Error(`acc.dbRequest: bad table name '${table}'`);
    if (!db.hasTable(table)) db.defineTable(table, [...ACC_CORE_COLUMNS, ...this.dbExtra.map((e) => e.name)]);
    const ctx = this.commentCtx(req, comment);
    this.n.acc.v++;
    return db.enqueue(table, this.dbRow(this.coreOf(ctx), ctx));
  }

  private commentCtx(req: RequestContext, comment: string): AccVarContext {
    const m = /^([1-6]\d\d)(?:\s+(.*))?$/.exec(comment.trim());
    return { req, reply: null, status: m ? Number(m[1]) : 0, reason: m ? m[2] ?? "" : comment, branchUri: null };
  }

  // ------------------------------------------------------------------ CDRs

  /**
   * A CDR from call.ended (Kamailio cdr_on_end / cdr_on_failed / cdr_on_expired): start is the
   * INVITE (or the answer with cdr_start_on_confirmed), duration end − start in seconds with ms
   * precision (0 for calls never answered).
   */
  onCallEnded(e: CallEndedData): void {
    const p = this.params;
    if (e.end_reason === "failed" && !p.cdr_on_failed) return;
    if (e.end_reason === "expired" && !p.cdr_expired_dlg_enable) return;
    const startIso = p.cdr_start_on_confirmed && e.answer_time ? e.answer_time : e.start_time;
    const start = new Date(startIso);
    const end = new Date(e.end_time);
    const duration = e.answer_time ? Math.max(0, end.getTime() - start.getTime()) / 1000 : 0;
    if (p.cdr_log_enable) {
      const file = this.deps.file;
      if (file) {
        const rec: Record<string, unknown> = { type: "cdr", [p.cdr_start_id]: start.toISOString(), [p.cdr_end_id]: end.toISOString(), [p.cdr_duration_id]: duration };
        for (const x of this.cdrExtra) rec[x.name] = x.get(e);
        file.write(rec);
      } else {
        let line = `CDR: ${p.cdr_start_id}=${(start.getTime() / 1000).toFixed(3)};${p.cdr_end_id}=${(end.getTime() / 1000).toFixed(3)};${p.cdr_duration_id}=${duration.toFixed(3)}`;
        for (const x of this.cdrExtra) line += `;${x.name}=${x.get(e)}`;
        this.deps.log.info(line);
      }
    }
    if (this.deps.db) {
      const row: unknown[] = [start, end, duration];
      for (const x of this.cdrExtra) row.push(x.get(e));
      this.deps.db.enqueue(p.cdrs_table, row);
    }
    const spool = this.deps.spool;
    if (spool) {
      try {
        spool.append(cdrFromCallEnded(e, { accountVar: p.cdr_account_var }));
        this.deps.shipper?.kick();
      } catch (err) {
        this.deps.log.error("acc: CDR spool write failed", { call_id: e.call_id, error: (err as Error).message });
      }
    }
    this.n.cdrs.v++;
  }

  /** Stops listening for call events. */
  close(): void {
    this.unsubscribe?.();
  }
}

/** The observer of one accounted transaction: remembers each branch's R-URI for $ru/$rU/$rd. */
export class AccTxn implements TransactionObserver {
  readonly branchUris: string[] = [];
  /** Branches whose 2xx was accounted. */
  readonly answered: number[] = [];

  constructor(
    private readonly acc: Acc,
    readonly req: RequestContext,
  ) {}

  branchSent(b: BranchInfo): void {
    this.branchUris[b.index] = b.uri;
  }

  replySent(status: number, msg: SipMessageView, branchIndex: number): void {
    this.acc.onReply(this, status, msg, branchIndex);
  }
}
