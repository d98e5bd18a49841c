/**
 * The acc module's configuration section, with Kamailio's parameter names
 * (kamailio-reference.md §9.2). Defaults follow Kamailio's default kamailio.cfg (FLT_ACC 1,
 * FLT_ACCMISSED 2, FLT_ACCFAILED 3; the db flags only with a db_url) rather than the module's
 * "-1 = off", so the default routing script's flags account without further settings.
 *
 * @example
 *   acc: { db_url: "mysql://root@127.0.0.1/kamailio", db_extra: "src_user=$fU;src_ip=$si", cdr_enable: 1 }
 */
export interface AccParams {
  /** Flag numbers (0..31) or -1 (off). */
  readonly log_flag: number;
  readonly log_missed_flag: number;
  readonly db_flag: number;
  readonly db_missed_flag: number;
  readonly failed_transaction_flag: number;
  /** Negative codes never accounted as failed transactions ("404,407"). */
  readonly failed_filter: readonly number[];
  /** Account provisional replies with a body (183 with SDP). */
  readonly early_media: boolean;
  /** Take sip_reason from the reply's Reason header when present. */
  readonly reason_from_hf: boolean;
  readonly log_extra: string;
  readonly db_extra: string;
  /** Olelo: write log records (log_flag, log_missed_flag, CDR log) as JSON lines to this file instead of the logger. */
  readonly log_file: string | null;
  readonly db_url: string | null;
  readonly db_table_acc: string;
  readonly db_table_missed_calls: string;
  readonly cdr_enable: boolean;
  readonly cdr_log_enable: boolean;
  readonly cdr_extra: string;
  /** CDR start = the answer (2xx) instead of the INVITE. */
  readonly cdr_start_on_confirmed: boolean;
  /** Write CDRs for calls that were never answered (duration 0). Kamailio default 1. */
  readonly cdr_on_failed: boolean;
  /** Write CDRs for dialogs that expired without BYE. */
  readonly cdr_expired_dlg_enable: boolean;
  /** Table for CDRs (written when cdr_enable and db_url are set). */
  readonly cdrs_table: string;
  readonly cdr_start_id: string;
  readonly cdr_end_id: string;
  readonly cdr_duration_id: string;
  /** Olelo: rows per INSERT. */
  readonly db_batch_size: number;
  /** Olelo: ms a row may wait for a batch to fill. */
  readonly db_flush_interval: number;
  /** Olelo: rows buffered while the database is unreachable; further rows are dropped and counted. */
  readonly db_queue_max: number;
  /** Olelo: first retry delay in ms after a failed write (doubles up to 30 s). */
  readonly db_retry_interval: number;
}

const KNOWN = new Set([
  "log_flag",
  "log_missed_flag",
  "db_flag",
  "db_missed_flag",
  "failed_transaction_flag",
  "failed_filter",
  "early_media",
  "reason_from_hf",
  "log_extra",
  "db_extra",
  "log_file",
  "db_url",
  "db_table_acc",
  "db_table_missed_calls",
  "cdr_enable",
  "cdr_log_enable",
  "cdr_extra",
  "cdr_start_on_confirmed",
  "cdr_on_failed",
  "cdr_expired_dlg_enable",
  "cdrs_table",
  "cdr_start_id",
  "cdr_end_id",
  "cdr_duration_id",
  "db_batch_size",
  "db_flush_interval",
  "db_queue_max",
  "db_retry_interval",
  "report_cancels",
  "report_ack",
  "time_mode",
  "detect_direction",
]);

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Validates the configuration section; throws naming the bad parameter. */
export function parseAccParams(cfg: Readonly<Record<string, unknown>>, resolvePath: (p: string) => string = (p) => p): AccParams {
  for (const k of Object.keys(cfg)) if (!KNOWN.has(k)) throw new Error(`acc: unknown parameter '${k}'`);
  for (const k of ["report_cancels", "report_ack", "time_mode", "detect_direction"]) {
    if (cfg[k] !== undefined && int(cfg[k], k, 0, 0, 1 << 20) !== 0) throw new Error(`acc: parameter ${k} is not supported (only 0)`);
  }
  const dbUrl = optString(cfg.db_url, "db_url");
  if (dbUrl !== null && !/^mysql:\/\//.test(dbUrl)) throw new Error(`acc: parameter db_url must be a mysql:// URL`);
  const logFile = optString(cfg.log_file, "log_file");
  return {
    log_flag: flag(cfg.log_flag, "log_flag", 1),
    log_missed_flag: flag(cfg.log_missed_flag, "log_missed_flag", 2),
    db_flag: flag(cfg.db_flag, "db_flag", dbUrl ? 1 : -1),
    db_missed_flag: flag(cfg.db_missed_flag, "db_missed_flag", dbUrl ? 2 : -1),
    failed_transaction_flag: flag(cfg.failed_transaction_flag, "failed_transaction_flag", 3),
    failed_filter: Object.freeze(codeList(cfg.failed_filter)),
    early_media: bool(cfg.early_media, "early_media", false),
    reason_from_hf: bool(cfg.reason_from_hf, "reason_from_hf", false),
    log_extra: spec(cfg.log_extra, "log_extra"),
    db_extra: spec(cfg.db_extra, "db_extra"),
    log_file: logFile === null ? null : resolvePath(logFile),
    db_url: dbUrl,
    db_table_acc: ident(cfg.db_table_acc, "db_table_acc", "acc"),
    db_table_missed_calls: ident(cfg.db_table_missed_calls, "db_table_missed_calls", "missed_calls"),
    cdr_enable: bool(cfg.cdr_enable, "cdr_enable", false),
    cdr_log_enable: bool(cfg.cdr_log_enable, "cdr_log_enable", true),
    cdr_extra: spec(cfg.cdr_extra, "cdr_extra"),
    cdr_start_on_confirmed: bool(cfg.cdr_start_on_confirmed, "cdr_start_on_confirmed", false),
    cdr_on_failed: bool(cfg.cdr_on_failed, "cdr_on_failed", true),
    cdr_expired_dlg_enable: bool(cfg.cdr_expired_dlg_enable, "cdr_expired_dlg_enable", false),
    cdrs_table: ident(cfg.cdrs_table, "cdrs_table", "acc_cdrs"),
    cdr_start_id: ident(cfg.cdr_start_id, "cdr_start_id", "start_time"),
    cdr_end_id: ident(cfg.cdr_end_id, "cdr_end_id", "end_time"),
    cdr_duration_id: ident(cfg.cdr_duration_id, "cdr_duration_id", "duration"),
    db_batch_size: int(cfg.db_batch_size, "db_batch_size", 200, 1, 10_000),
    db_flush_interval: int(cfg.db_flush_interval, "db_flush_interval", 100, 0, 60_000),
    db_queue_max: int(cfg.db_queue_max, "db_queue_max", 100_000, 1, 10_000_000),
    db_retry_interval: int(cfg.db_retry_interval, "db_retry_interval", 1000, 10, 60_000),
  };
}

function int(v: unknown, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`acc: parameter ${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function flag(v: unknown, name: string, dflt: number): number {
  return int(v, name, dflt, -1, 31);
}

function bool(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === true || v === 1 || v === "1" || v === "yes" || v === "true") return true;
  if (v === false || v === 0 || v === "0" || v === "no" || v === "false") return false;
  throw new Error(`acc: parameter ${name} must be 0/1 or a boolean, got ${JSON.stringify(v)}`);
}

function optString(v: unknown, name: string): string | null {
  if (v === undefined || v === null || v === "") return null;
  if (typeof v !== "string") throw new Error(`acc: parameter ${name} must be a string`);
  return v;
}

function spec(v: unknown, name: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new Error(`acc: parameter ${name} must be a string like "col=$fU;col2=$si"`);
  return v;
}

function ident(v: unknown, name: string, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v !== "string" || !IDENT.test(v)) throw new Error(`acc: parameter ${name} must be a table/column name (letters, digits, _), got ${JSON.stringify(v)}`);
  return v;
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
