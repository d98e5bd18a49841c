import { defineModule, type RequestContext } from "../../core/api.js";
import { Acc } from "./acc.js";
import { AccDbWriter } from "./db-writer.js";
import { JsonLinesFile } from "./json-lines-file.js";
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
    let acc: Acc;
    try {
      acc = new Acc(params, { log: host.log, events: host.events, stats: host.stats.group("acc"), db, file });
    } catch (e) {
      void db?.close(0);
      void file?.close();
      throw e;
    }
    if (db) {
      // a table that cannot take the configured (extra) columns would drop every row: refuse to start
      const bad = await db.checkSchema();
      if (bad) {
        acc.close();
        await db.close(0);
        void file?.close();
        throw new Error(`acc: ${bad}; fix db_extra/cdr_extra or the table`);
      }
    }
    running.push({ acc, db, file });
    return {
      params,
      track: (req) => acc.track(req),
      logRequest: (req, comment) => acc.logRequest(req, comment),
      dbRequest: (req, comment, table) => acc.dbRequest(req, comment, table),
      flush: async () => {
        await db?.flush();
        await file?.drain();
      },
    };
  },
  async destroy() {
    const r = running.shift();
    if (!r) return;
    r.acc.close();
    await r.db?.close();
    await r.file?.close();
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
