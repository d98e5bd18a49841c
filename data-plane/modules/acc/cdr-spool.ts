/**
 * The data plane's CDR spool: an append-only JSON-lines file, one CDR per line, written with
 * fdatasync before `append` returns, so a CDR survives a crash (SIGKILL, power loss) from the moment
 * the call ended. Entries leave the file only after the control plane acknowledged them: `ack`
 * forgets them in memory and compacts the file (rewrite the rest to `<file>.tmp`, fsync, rename).
 * A crash between the ACK and the compaction re-delivers those CDRs; the control plane ignores the
 * duplicates (same cdr_id). A torn last line (crash mid-write) is skipped at load.
 *
 * @example
 *   const spool = CdrSpool.open("/var/spool/olelo/cdrs.jsonl");
 *   spool.append(cdr);                 // durable on return
 *   const batch = spool.pending(100);  // oldest first
 *   spool.ack(batch.map((c) => c.cdr_id));
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, readFileSync, existsSync, writeSync } from "node:fs";
import { rewriteJsonLines } from "../../../lib/fs/json-lines.js";
import { dirname } from "node:path";
import type { BillingCdr } from "./cdr-record.js";

export class CdrSpool {
  private fd: number;
  private readonly entries = new Map<string, BillingCdr>();
  /** Lines in the file that were acknowledged but not compacted away yet. */
  private stale = 0;
  /** Lines skipped at load (torn or unreadable). */
  readonly skipped: number;

  private constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    let skipped = 0;
    if (existsSync(path)) {
      for (const line of readFileSync(path, "utf8").split("\n")) {
        if (line.trim() === "") continue;
        try {
          const c = JSON.parse(line) as BillingCdr;
          if (typeof c.cdr_id === "string") this.entries.set(c.cdr_id, c);
          else skipped++;
        } catch {
          skipped++;
        }
      }
    }
    this.skipped = skipped;
    this.fd = openSync(path, "a");
    if (skipped) this.compact();
  }

  static open(path: string): CdrSpool {
    return new CdrSpool(path);
  }

  /** CDRs not yet acknowledged. */
  get size(): number {
    return this.entries.size;
  }

  /** Writes one CDR durably (write + fdatasync). A cdr_id already pending is not written twice. */
  append(c: BillingCdr): void {
    if (this.entries.has(c.cdr_id)) return;
    writeSync(this.fd, `${JSON.stringify(c)}\n`);
    fdatasyncSync(this.fd);
    this.entries.set(c.cdr_id, c);
  }

  /** Up to `n` pending CDRs, oldest first. */
  pending(n: number): BillingCdr[] {
    const out: BillingCdr[] = [];
    for (const c of this.entries.values()) {
      if (out.length >= n) break;
      out.push(c);
    }
    return out;
  }

  /** Forgets acknowledged CDRs and compacts the file. */
  ack(ids: readonly string[]): void {
    for (const id of ids) if (this.entries.delete(id)) this.stale++;
    if (this.stale > 0) this.compact();
  }

  /** Rewrites the file with the pending CDRs only (tmp + fsync + rename). */
  private compact(): void {
    rewriteJsonLines(this.path, this.entries.values());
    closeSync(this.fd);
    this.fd = openSync(this.path, "a");
    this.stale = 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}
