/**
 * Crash-safe rewrite of a JSON-lines file (one JSON value per line): the values go to `<path>.tmp`,
 * which is fsync'd and renamed over `path`, then the folder is fsync'd so the rename itself survives
 * a power loss. Used by the append-only files of the data plane (acc's CDR spool, the dialog journal)
 * when they compact. Synchronous on purpose: callers compact rarely and must not interleave appends.
 *
 * @example
 *   rewriteJsonLines("/var/lib/olelo/acc/cdrs.jsonl", pending.values());
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export function rewriteJsonLines(path: string, values: Iterable<unknown>): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    let buf = "";
    for (const v of values) buf += `${JSON.stringify(v)}\n`;
    if (buf) writeSync(fd, buf);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
