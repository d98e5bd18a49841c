/**
 * CDR webhook (control-plane/README.md "Billing API"): every CDR stored in `olelo_cdrs` is POSTed
 * to the webhook URL, in seq order, at least once. Each delivery carries
 *   Idempotency-Key: <cdr_id>           (the receiver drops repeats)
 *   X-Olelo-Timestamp: <ms>
 *   X-Olelo-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 * A 2xx answer accepts it; anything else (or no answer in 10 s) is retried with backoff
 * (retryMs doubling up to 30 s) up to `attempts` times, then the CDR goes to the dead-letter list
 * `olelo_cdr_dead` (`cdrs.dead_letters`, `olectl rpc --cp cdrs.dead_letters`) and delivery moves on.
 * The position (`olelo_cdr_webhook.last_seq`) is kept in the database, so a restart resumes after
 * the last accepted CDR (a CDR delivered just before a crash may be delivered again).
 *
 * @example
 *   const hook = startCdrWebhook(pool, { url: "https://billing/cdr", secret: "k", attempts: 8, retryMs: 500, log });
 */
import { createHmac } from "node:crypto";
import type { Pool, RowDataPacket } from "mysql2/promise";
import type { Logger } from "../../lib/log/logger.js";

export interface CdrWebhookOptions {
  url: string;
  secret: string;
  attempts: number;
  retryMs: number;
  /** Poll interval for new CDRs in ms (default 200). */
  pollMs?: number;
  log: Logger;
}

/** The signature header value of one delivery. */
export function signCdr(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export interface CdrWebhook {
  readonly delivered: number;
  readonly deadLettered: number;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export function startCdrWebhook(pool: Pool, o: CdrWebhookOptions): CdrWebhook {
  let stopped = false;
  const st = { delivered: 0, deadLettered: 0 };

  async function post(row: Record<string, unknown>): Promise<string | null> {
    const body = JSON.stringify(row);
    const ts = Date.now();
    try {
      const r = await fetch(o.url, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": String(row.cdr_id), "x-olelo-timestamp": String(ts), "x-olelo-signature": signCdr(o.secret, ts, body) },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await r.arrayBuffer().catch(() => undefined);
      return r.status >= 200 && r.status < 300 ? null : `HTTP ${r.status}`;
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      return err.cause?.code ?? err.message;
    }
  }

  async function loop(): Promise<void> {
    await pool.query("INSERT IGNORE INTO `olelo_cdr_webhook` (url, last_seq) VALUES (?, 0)", [o.url]);
    while (!stopped) {
      let rows: RowDataPacket[];
      try {
        const [pos] = await pool.query<RowDataPacket[]>("SELECT last_seq FROM `olelo_cdr_webhook` WHERE url = ?", [o.url]);
        [rows] = await pool.query<RowDataPacket[]>("SELECT * FROM `olelo_cdrs` WHERE seq > ? ORDER BY seq LIMIT 100", [Number(pos[0]?.last_seq ?? 0)]);
      } catch (e) {
        o.log.warn("cdr webhook: database not reachable", { error: (e as Error).message });
        await sleep(1000);
        continue;
      }
      if (rows.length === 0) {
        await sleep(o.pollMs ?? 200);
        continue;
      }
      try {
        await deliver(rows);
      } catch (e) {
        o.log.warn("cdr webhook: database write failed", { error: (e as Error).message });
        await sleep(1000);
      }
    }
  }

  async function deliver(rows: RowDataPacket[]): Promise<void> {
    {
      for (const r of rows) {
        const row = { ...r };
        let delay = o.retryMs;
        let error: string | null = "not sent";
        let n = 0;
        while (!stopped && n < o.attempts) {
          n++;
          error = await post(row);
          if (error === null) break;
          if (n < o.attempts) {
            await sleep(delay);
            delay = Math.min(delay * 2, 30_000);
          }
        }
        if (stopped) return;
        if (error === null) st.delivered++;
        else {
          st.deadLettered++;
          o.log.warn("cdr webhook: CDR dead-lettered", { cdr_id: row.cdr_id, attempts: n, error });
          await pool.query("INSERT INTO `olelo_cdr_dead` (url, seq, cdr_id, attempts, last_error, failed_ms) VALUES (?, ?, ?, ?, ?, ?)", [
            o.url,
            row.seq,
            row.cdr_id,
            n,
            error.slice(0, 255),
            Date.now(),
          ]);
        }
        await pool.query("UPDATE `olelo_cdr_webhook` SET last_seq = ? WHERE url = ?", [row.seq, o.url]);
      }
    }
  }

  const running = loop().catch((e) => o.log.error("cdr webhook stopped", { error: (e as Error).message }));
  return {
    get delivered() {
      return st.delivered;
    },
    get deadLettered() {
      return st.deadLettered;
    },
    async stop() {
      stopped = true;
      await Promise.race([running, sleep(2000)]);
    },
  };
}
