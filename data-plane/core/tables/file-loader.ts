import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import type { TableSet } from "./registry.js";

/**
 * Reads a standalone table file: JSON `{ "<kamailio table>": [ { column: value, ... } ] }`.
 * Returns the set and a content version (sha256 prefix), or throws naming the file and problem.
 */
export function readTableFile(path: string): { set: TableSet; version: string } {
  const text = readFileSync(path, "utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: invalid JSON: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`${path}: expected an object of tables`);
  const set: TableSet = {};
  for (const [table, rows] of Object.entries(raw as Record<string, unknown>)) {
    if (table.startsWith("$")) continue;
    if (!Array.isArray(rows)) throw new Error(`${path}: table '${table}' must be an array of rows`);
    rows.forEach((r, i) => {
      if (r === null || typeof r !== "object" || Array.isArray(r)) throw new Error(`${path}: ${table}[${i}] must be an object`);
    });
    set[table] = rows as TableSet[string];
  }
  return { set, version: "file-" + createHash("sha256").update(text).digest("hex").slice(0, 12) };
}

/*
 * readTableFileAsync — added for the routing modules' reload RPCs (lcr.reload, prefix_route.reload,
 * ...), which re-read a kind's table file through TableRegistry.reload while calls are being
 * routed. Reading and JSON.parse of a 1M-row file (≈50 MB) take ≈1 s; done on the main thread
 * that is a 1 s stop of all SIP processing. Here a worker thread reads, hashes, parses and checks
 * the file, then hands the rows over in batches the main thread asks for one at a time, with an
 * event-loop turn between batches (a pull model: pushing every batch at once would have them all
 * deserialized in one go). Same result, version and error messages as readTableFile.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { readFileSync } = require("node:fs");
const { createHash } = require("node:crypto");
const { path, batchRows } = workerData;
function fail(message) { parentPort.postMessage({ error: message }); }
(function main() {
let text;
try { text = readFileSync(path, "utf8"); } catch (e) { fail(e.message); return; }
let raw;
try { raw = JSON.parse(text); } catch (e) { fail(path + ": invalid JSON: " + e.message); return; }
if (raw === null || typeof raw !== "object" || Array.isArray(raw)) { fail(path + ": expected an object of tables"); return; }
const tables = [];
for (const [table, rows] of Object.entries(raw)) {
  if (table.startsWith("$")) continue;
  if (!Array.isArray(rows)) { fail(path + ": table '" + table + "' must be an array of rows"); return; }
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r === null || typeof r !== "object" || Array.isArray(r)) { fail(path + ": " + table + "[" + i + "] must be an object"); return; }
  }
  tables.push([table, rows]);
}
const version = "file-" + createHash("sha256").update(text).digest("hex").slice(0, 12);
text = null;
let t = 0, pos = 0;
parentPort.postMessage({ version, tables: tables.map(([n]) => n) });
parentPort.on("message", () => {
  while (t < tables.length && pos >= tables[t][1].length) { t++; pos = 0; }
  if (t >= tables.length) { parentPort.postMessage({ done: true }); return; }
  const [table, rows] = tables[t];
  const batch = rows.slice(pos, pos + batchRows);
  pos += batch.length;
  parentPort.postMessage({ table, rows: batch });
});
})();
`;

/**
 * Like readTableFile, without holding the event loop: the file is read and parsed in a worker
 * thread and its rows arrive in batches of `batchRows`, one per event-loop turn.
 */
export async function readTableFileAsync(path: string, batchRows = 4096): Promise<{ set: TableSet; version: string }> {
  const { Worker } = await import("node:worker_threads");
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, batchRows }, execArgv: [] });
    const set: TableSet = {};
    let version = "";
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      void w.terminate();
      if (err) reject(err);
      else resolve({ set, version });
    };
    w.on("message", (m: { error?: string; version?: string; tables?: string[]; table?: string; rows?: TableSet[string]; done?: boolean }) => {
      if (m.error !== undefined) return finish(new Error(m.error));
      if (m.done) return finish(null);
      if (m.version !== undefined) {
        version = m.version;
        for (const t of m.tables ?? []) set[t] = [];
      } else if (m.table !== undefined && m.rows) {
        const into = set[m.table]!;
        for (const r of m.rows) into.push(r);
      }
      setImmediate(() => w.postMessage(0)); // next batch after an event-loop turn
    });
    w.on("error", (e: Error) => finish(e));
    w.on("exit", (code) => finish(new Error(`${path}: table file reader stopped (exit code ${code})`)));
  });
}
