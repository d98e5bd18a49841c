import { z } from "zod";
import { bool, custom, defineParams, int, issue, optStr, str, type Param, type ParamsOf } from "../../core/kit/params.js";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

const i = (min: number, max: number, dflt: number, doc: string) => int({ min, max, default: dflt, doc });
const b = (dflt: boolean, doc: string) => bool({ default: dflt, words: "yesno-true", doc });
const flag = (dflt: number, doc: string) => i(-1, 31, dflt, `${doc}: flag number 0..31, -1 = off`);

/** A flag whose default depends on db_url (null here, filled in `finish`). */
function dbFlag(doc: string): Param<number | null> {
  const p = flag(0, doc);
  return custom<number | null>({
    type: p.type,
    doc: `${p.doc} (default 1/2 with a db_url, else -1)`,
    schema: z.unknown().transform((v, ctx) => {
      if (v === undefined) return null;
      const r = p.schema.safeParse(v);
      return r.success ? r.data : issue(ctx, p.fail(v, undefined));
    }),
    fail: (raw) => p.fail(raw, undefined),
  });
}

/** Kamailio parameters Olelo accepts only with value 0. */
function onlyZero(name: string): Param<0> {
  const p = i(0, 1 << 20, 0, name);
  return custom<0>({
    type: "0",
    default: 0,
    doc: "Not supported (only 0)",
    schema: z.unknown().transform((v, ctx) => {
      const r = p.schema.safeParse(v);
      if (!r.success) return issue(ctx, p.fail(v, undefined));
      return r.data === 0 ? (0 as const) : issue(ctx, { full: `acc: parameter ${name} is not supported (only 0)` });
    }),
    fail: (raw) => p.fail(raw, undefined),
  });
}

const spec = (doc: string) =>
  str({ default: "", emptyIsAbsent: true, doc, fail: () => 'must be a string like "col=$fU;col2=$si"' });
const ident = (dflt: string, doc: string) =>
  custom<string>({
    type: "identifier",
    default: dflt,
    doc,
    schema: z.unknown().transform((v) => v ?? dflt).pipe(z.string().regex(IDENT)),
    fail: (raw) => `must be a table/column name (letters, digits, _), got ${JSON.stringify(raw)}`,
  });

const shape = {
  report_cancels: onlyZero("report_cancels"),
  report_ack: onlyZero("report_ack"),
  time_mode: onlyZero("time_mode"),
  detect_direction: onlyZero("detect_direction"),
  db_url: optStr({
    doc: "mysql:// URL for acc, missed_calls and CDR rows",
    check: (s) => (/^mysql:\/\//.test(s) ? null : "must be a mysql:// URL"),
  }),
  log_flag: flag(1, "Requests with this flag are logged"),
  log_missed_flag: flag(2, "Missed calls with this flag are logged"),
  db_flag: dbFlag("Requests with this flag are written to db_table_acc"),
  db_missed_flag: dbFlag("Missed calls with this flag are written to db_table_missed_calls"),
  failed_transaction_flag: flag(3, "Failed transactions with this flag are accounted"),
  failed_filter: custom<readonly number[]>({
    type: "reply codes",
    default: "",
    doc: 'Negative codes never accounted as failed transactions ("404,407")',
    schema: z.unknown().transform((v, ctx) => {
      try {
        return Object.freeze(codeList(v));
      } catch (e) {
        return issue(ctx, { full: (e as Error).message });
      }
    }),
    fail: () => 'must be "404,407" or an array of codes',
  }),
  early_media: b(false, "Account provisional replies with a body (183 with SDP)"),
  reason_from_hf: b(false, "Take sip_reason from the reply's Reason header when present"),
  log_extra: spec("Extra log columns, \"name=$pv;...\""),
  db_extra: spec("Extra db columns, \"column=$pv;...\""),
  log_file: optStr({ doc: "Olelo: write log records (log_flag, log_missed_flag, CDR log) as JSON lines to this file instead of the logger" }),
  db_table_acc: ident("acc", "Table of accounted requests"),
  db_table_missed_calls: ident("missed_calls", "Table of missed calls"),
  cdr_enable: b(false, "Write CDRs (dialog based)"),
  cdr_log_enable: b(true, "Log CDRs"),
  cdr_extra: spec("Extra CDR columns, \"name=$pv;...\""),
  cdr_start_on_confirmed: b(false, "CDR start = the answer (2xx) instead of the INVITE"),
  cdr_on_failed: b(true, "Write CDRs for calls that were never answered (duration 0). Kamailio default 1"),
  cdr_expired_dlg_enable: b(false, "Write CDRs for dialogs that expired without BYE"),
  cdrs_table: ident("acc_cdrs", "Table for CDRs (written when cdr_enable and db_url are set)"),
  cdr_start_id: ident("start_time", "CDR start column"),
  cdr_end_id: ident("end_time", "CDR end column"),
  cdr_duration_id: ident("duration", "CDR duration column"),
  cdr_spool: optStr({ doc: "Olelo: billing CDR spool file (append-only, fsync'd; default <data dir>/acc/cdrs.jsonl when cdr_push_url is set)" }),
  cdr_push_url: optStr({
    doc: "Olelo: control plane management URL (http://host:8070/RPC); spooled CDRs are delivered to its cdrs.ingest at least once",
    check: (s) => (/^https?:\/\//.test(s) ? null : "must be an http:// or https:// URL"),
  }),
  cdr_push_token: optStr({ doc: "Olelo: bearer token for cdr_push_url" }),
  cdr_push_batch: i(1, 1000, 100, "Olelo: CDRs per cdrs.ingest call"),
  cdr_push_retry: i(10, 60_000, 250, "Olelo: first retry delay in ms while the control plane is unreachable (doubles)"),
  cdr_push_retry_max: i(100, 600_000, 30_000, "Olelo: longest retry delay in ms"),
  cdr_account_var: ident("account", "Olelo: dialog variable holding the billing account of a CDR (else the From user)"),
  db_batch_size: i(1, 10_000, 200, "Olelo: rows per INSERT"),
  db_flush_interval: i(0, 60_000, 100, "Olelo: ms a row may wait for a batch to fill"),
  db_queue_max: i(1, 10_000_000, 100_000, "Olelo: rows buffered while the database is unreachable; further rows are dropped and counted"),
  db_retry_interval: i(10, 60_000, 1000, "Olelo: first retry delay in ms after a failed write (doubles up to 30 s)"),
};

function finish(p: ParamsOf<typeof shape>) {
  const { report_cancels: _rc, report_ack: _ra, time_mode: _tm, detect_direction: _dd, ...rest } = p;
  return {
    ...rest,
    db_flag: p.db_flag ?? (p.db_url ? 1 : -1),
    db_missed_flag: p.db_missed_flag ?? (p.db_url ? 2 : -1),
  };
}

/**
 * The acc module's configuration section, with Kamailio's parameter names
 * (kamailio-reference.md §9.2). Defaults follow Kamailio's default kamailio.cfg (FLT_ACC 1,
 * FLT_ACCMISSED 2, FLT_ACCFAILED 3; the db flags only with a db_url) rather than the module's
 * "-1 = off", so the default routing script's flags account without further settings.
 *
 * @example
 *   acc: { db_url: "mysql://root@127.0.0.1/kamailio", db_extra: "src_user=$fU;src_ip=$si", cdr_enable: 1 }
 */
export const accParams = defineParams("acc", shape, { quote: false, finish });

export type AccParams = ReturnType<typeof finish>;

/** Validates the configuration section; throws naming the bad parameter. */
export function parseAccParams(cfg: Readonly<Record<string, unknown>>, resolvePath: (p: string) => string = (p) => p): AccParams {
  const p = accParams.parse(cfg);
  return { ...p, log_file: p.log_file === null ? null : resolvePath(p.log_file) };
}

/** "404,407" or [404, 407]. */
function codeList(v: unknown): number[] {
  if (v === undefined || v === null || v === "") return [];
  const items = typeof v === "string" ? v.split(",") : Array.isArray(v) ? v : null;
  if (!items) throw new Error(`acc: parameter failed_filter must be "404,407" or an array of codes`);
  return items.map((x) => {
    const n = typeof x === "number" ? x : Number(String(x).trim());
    if (!Number.isInteger(n) || n < 300 || n > 699) throw new Error(`acc: parameter failed_filter: '${x}' is not a code 300..699`);
    return n;
  });
}
