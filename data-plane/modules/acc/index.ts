import { join } from "node:path";
import { defineModule, type RequestContext } from "../../core/api.js";
import { Acc } from "./acc.js";
import { AccDbWriter } from "./db-writer.js";
import { JsonLinesFile } from "./json-lines-file.js";
import { CdrSpool } from "./cdr-spool.js";
import { CdrShipper } from "./cdr-shipper.js";
import { type AccParams, accParams } from "./params.js";

/**
 * What routing scripts get from acc. Set the flags Kamailio-style (`req.setFlag(1)` = FLT_ACC,
 * 2 = FLT_ACCMISSED, 3 = FLT_ACCFAILED with the default parameters) and call `track(req)` before
 * relaying; the flags are read when the final reply goes upstream, so a failure route may still
 * change them.
 *
 * @example
 *   if (req.method === "INVITE") { req.setFlag(1); req.setFlag(2); acc.track(req); }
 *   req.relay();
 */
export interface AccApi {
  readonly params: AccParams;
  /** Accounts this request's transaction when its final reply goes upstream. */
  track(req: RequestContext): void;
  /** [acc_log_request(comment)] "<code> <reason>" or a reason. */
  logRequest(req: RequestContext, comment: string): void;
  /** [acc_db_request(comment, table)] */
  dbRequest(req: RequestContext, comment: string, table: string): boolean;
  /** Writes queued database rows now (tests, shutdown). */
  flush(): Promise<void>;
}

interface Running {
  acc: Acc;
  db: AccDbWriter | null;
  file: JsonLinesFile | null;
  spool: CdrSpool | null;
  shipper: CdrShipper | null;
}

/** Running instances, oldest first: destroy() gets no argument, so it closes the oldest. */
const running: Running[] = [];

/**
 * acc: transaction accounting and CDRs (Kamailio acc) — acc / missed_calls rows and acc_cdrs
 * CDRs in MySQL/MariaDB through an asynchronous batched writer that buffers through outages,
 * Kamailio-style log lines, or a JSON-lines file for standalone nodes. See README.md.
 */
export default defineModule<AccApi, AccParams>({
  name: "acc",
  doc: "Accounting: acc/missed_calls rows and CDRs to MySQL, the log or a JSON-lines file (Kamailio acc)",
  params: accParams,
  stats: { group: "acc", counters: ["acc_records", "missed_records", "cdr_records"] },
  async init(host) {
    const params = { ...host.config, log_file: host.config.log_file === null ? null : host.resolvePath(host.config.log_file) };
    const db = params.db_url
      ? new AccDbWriter(params.db_url, {
          batchSize: params.db_batch_size,
          flushIntervalMs: params.db_flush_interval,
          queueMax: params.db_queue_max,
          retryMs: params.db_retry_interval,
          log: host.log,
        })
      : null;
    const file = params.log_file ? new JsonLinesFile(params.log_file, host.log) : null;
    const spoolPath = params.cdr_spool ? host.resolvePath(params.cdr_spool) : params.cdr_push_url ? join(host.dataDir, "cdrs.jsonl") : null;
    let acc: Acc;
    let spool: CdrSpool | null = null;
    let shipper: CdrShipper | null = null;
    try {
      spool = spoolPath && params.cdr_enable ? CdrSpool.open(spoolPath) : null;
      if (spool && params.cdr_push_url) {
        const p = params;
        shipper = new CdrShipper(spool, { url: p.cdr_push_url!, token: p.cdr_push_token, batch: p.cdr_push_batch, retryMs: p.cdr_push_retry, retryMaxMs: p.cdr_push_retry_max, log: host.log });
      }
      acc = new Acc(params, { log: host.log, events: host.events, stats: host.stats.group("acc"), db, file, spool, shipper });
    } catch (e) {
      void db?.close(0);
      void file?.close();
      spool?.close();
      throw e;
    }
    if (db) {
      // a table that cannot take the configured (extra) columns would drop every row: refuse to start
      const bad = await db.checkSchema();
      if (bad) {
        acc.close();
        await db.close(0);
        void file?.close();
        await shipper?.close(0);
        spool?.close();
        throw new Error(`acc: ${bad}; fix db_extra/cdr_extra or the table`);
      }
    }
    if (spool && spool.size > 0) host.log.info("acc: CDRs in the spool from before the restart", { pending: spool.size, file: spool.path });
    if (spool) {
      const g = host.stats.group("acc");
      g.gauge("cdr_spooled", () => spool!.size);
      if (shipper) {
        g.gauge("cdr_delivered", () => shipper!.status.delivered);
        g.gauge("cdr_push_errors", () => shipper!.status.errors);
      }
    }
    shipper?.kick();
    running.push({ acc, db, file, spool, shipper });
    return {
      params,
      track: (req) => acc.track(req),
      logRequest: (req, comment) => acc.logRequest(req, comment),
      dbRequest: (req, comment, table) => acc.dbRequest(req, comment, table),
      flush: async () => {
        await db?.flush();
        await file?.drain();
        await shipper?.drain(2000);
      },
    };
  },
  async destroy() {
    const r = running.shift();
    if (!r) return;
    r.acc.close();
    await r.db?.close();
    await r.file?.close();
    await r.shipper?.close(2000);
    r.spool?.close();
  },
});

export { Acc, AccTxn, ACC_CORE_COLUMNS, ACC_TRACK_VAR } from "./acc.js";
export { AccDbWriter, isConnectionError } from "./db-writer.js";
export type { AccDbStatus, AccDbWriterOptions } from "./db-writer.js";
export { JsonLinesFile } from "./json-lines-file.js";
export { parseAccParams } from "./params.js";
export type { AccParams } from "./params.js";
export { compileRequestExtras, compileDialogExtras, parseExtraSpec, uriParts } from "./extra.js";
export type { ExtraColumn, AccVarContext } from "./extra.js";
