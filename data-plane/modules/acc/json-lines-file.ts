import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../../core/api.js";

/**
 * An append-only JSON-lines file for accounting records in standalone mode (`log_file`): one
 * object per line, written through a stream so the SIP path never waits on the disk.
 */
export class JsonLinesFile {
  private readonly out: WriteStream;
  private failed = false;
  lines = 0;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.out = createWriteStream(path, { flags: "a" });
    this.out.on("error", (e) => {
      if (!this.failed) log.error("acc: cannot write the accounting file", { path, error: e.message });
      this.failed = true;
    });
  }

  write(record: Record<string, unknown>): void {
    if (this.failed) return;
    this.out.write(JSON.stringify(record) + "\n");
    this.lines++;
  }

  /** Resolves once everything written so far is on disk (the file is flushed by the OS). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.out.closed || this.out.destroyed) return resolve();
      this.out.end(() => resolve());
    });
  }

  /** Resolves when the data written so far has left the stream's buffer. */
  drain(): Promise<void> {
    if (this.out.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => this.out.once("drain", () => resolve()));
  }
}
