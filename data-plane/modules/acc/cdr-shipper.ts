/**
 * Delivers spooled CDRs to the control plane's `cdrs.ingest` (management API, JSON-RPC over HTTP)
 * at least once: batches of `batch` CDRs, oldest first; a CDR leaves the spool only when the control
 * plane answered (accepted or duplicate). While the control plane is unreachable or answers with an
 * error, it retries with backoff (retryMs doubling up to retryMaxMs). A batch the control plane
 * refuses as invalid (-32602) is moved to `<spool>.rejected` (one JSON line each) so it cannot block
 * the spool forever.
 *
 * @example
 *   const shipper = new CdrShipper(spool, { url: "http://127.0.0.1:8070/RPC", token: null, batch: 100, retryMs: 250, retryMaxMs: 30000, log });
 *   shipper.kick();  // after spool.append()
 */
import { appendFileSync } from "node:fs";
import type { Logger } from "../../core/api.js";
import type { CdrSpool } from "./cdr-spool.js";

export interface CdrShipperOptions {
  url: string;
  token: string | null;
  batch: number;
  retryMs: number;
  retryMaxMs: number;
  log: Logger;
}

export interface CdrShipperStatus {
  delivered: number;
  duplicates: number;
  errors: number;
  rejected: number;
  down: boolean;
  lastError: string | null;
}

const REQUEST_TIMEOUT_MS = 10_000;

export class CdrShipper {
  readonly status: CdrShipperStatus = { delivered: 0, duplicates: 0, errors: 0, rejected: 0, down: false, lastError: null };
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private delay: number;
  private closed = false;
  private id = 0;

  constructor(
    private readonly spool: CdrSpool,
    private readonly opts: CdrShipperOptions,
  ) {
    this.delay = opts.retryMs;
  }

  /**
   * Starts a delivery unless one is running or scheduled: after `lingerMs` (default 20 ms) so CDRs
   * ending close together share one cdrs.ingest call.
   */
  kick(lingerMs = 20): void {
    if (this.running || this.timer || this.closed) return;
    if (lingerMs <= 0) {
      void this.run();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, lingerMs);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.spool.size > 0) {
        const batch = this.spool.pending(this.opts.batch);
        const res = await this.post(batch);
        if (this.closed) return;
        if (res.ok) {
          this.spool.ack(batch.map((c) => c.cdr_id));
          this.status.delivered += res.accepted;
          this.status.duplicates += batch.length - res.accepted;
          if (this.status.down) this.opts.log.info("cdr delivery: control plane reachable again", { pending: this.spool.size });
          this.status.down = false;
          this.delay = this.opts.retryMs;
          continue;
        }
        this.status.errors++;
        this.status.lastError = res.error;
        if (res.invalid) {
          for (const c of batch) appendFileSync(`${this.spool.path}.rejected`, `${JSON.stringify({ error: res.error, cdr: c })}\n`);
          this.spool.ack(batch.map((c) => c.cdr_id));
          this.status.rejected += batch.length;
          this.opts.log.error("cdr delivery: control plane refused CDRs; moved to the .rejected file", { error: res.error, n: batch.length });
          continue;
        }
        if (!this.status.down) this.opts.log.warn("cdr delivery: control plane not reachable; CDRs stay spooled", { error: res.error, pending: this.spool.size });
        this.status.down = true;
        this.timer = setTimeout(() => {
          this.timer = null;
          this.kick(0);
        }, this.delay);
        this.timer.unref();
        this.delay = Math.min(this.delay * 2, this.opts.retryMaxMs);
        return;
      }
    } finally {
      this.running = false;
    }
  }

  private async post(batch: readonly unknown[]): Promise<{ ok: true; accepted: number } | { ok: false; invalid: boolean; error: string }> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    try {
      const r = await fetch(this.opts.url, {
        method: "POST",
        headers,
        body: JSON.stringify({ jsonrpc: "2.0", method: "cdrs.ingest", params: { cdrs: batch }, id: ++this.id }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await r.text();
      let body: { result?: { accepted?: number }; error?: { code?: number; message?: string } };
      try {
        body = JSON.parse(text);
      } catch {
        return { ok: false, invalid: false, error: `HTTP ${r.status}: ${text.slice(0, 120)}` };
      }
      if (body.error) return { ok: false, invalid: body.error.code === -32602, error: `${body.error.code}: ${body.error.message}` };
      if (!body.result || typeof body.result.accepted !== "number") return { ok: false, invalid: false, error: `HTTP ${r.status}: no result` };
      return { ok: true, accepted: body.result.accepted };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      return { ok: false, invalid: false, error: err.cause?.code ?? err.message };
    }
  }

  /** Waits up to `ms` for the spool to drain while the control plane is reachable. */
  async drain(ms = 2000): Promise<void> {
    const until = Date.now() + ms;
    while (this.spool.size > 0 && !this.status.down && !this.closed && Date.now() < until) {
      this.kick(0);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Drains for up to `ms` (shutdown), then stops; what is left stays in the spool for the next start. */
  async close(ms = 2000): Promise<void> {
    await this.drain(ms);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
