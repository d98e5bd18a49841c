/**
 * Helpers for the dispatcher's end-to-end tests: sipp UAS processes whose received requests are
 * read back from sipp's own message trace (so a test sees which UAS really got each INVITE and
 * when), the control API over HTTP JSON-RPC, and polling.
 */
import { writeFileSync, renameSync } from "node:fs";
import type { SippServer } from "../helpers/sipp.js";
import { parseSippTrace, startTracedSipp, type TracedRequest } from "../helpers/sipp-trace.js";
import { waitUntil } from "../kit/wait.js";

/** One request a UAS received (retransmissions removed). */
export type ReceivedRequest = TracedRequest;

/** A sipp UAS (uas_rr.xml) that answers OPTIONS keepalives (-aa) and traces every message. */
export interface TracedUas {
  readonly port: number;
  readonly server: SippServer;
  readonly traceFile: string;
  /** Requests received so far, in order. */
  requests(method?: string): ReceivedRequest[];
  /** INVITEs received so far whose R-URI user starts with `prefix`. */
  invites(prefix?: string): ReceivedRequest[];
  stop(): Promise<void>;
}

/**
 * Starts a traced UAS on 127.0.0.1:port running `scenario` (default uas_rr.xml, which echoes
 * Record-Route); -aa makes sipp answer OPTIONS keepalives with 200. `extra` goes to sipp.
 */
export async function startTracedUas(port: number, scenario = "uas_rr.xml", extra: string[] = []): Promise<TracedUas> {
  const t = await startTracedSipp(port, scenario, extra, "olelo-ds-uas-");
  return { port, ...t, invites: (prefix = "") => t.requests("INVITE").filter((r) => r.user.startsWith(prefix)) };
}

/** Parses sipp's -trace_msg output into the requests it received (first copy of each). */
export const parseTrace = parseSippTrace;

/**
 * Largest number of calls a UAS held at once, from its trace: +1 at each INVITE, -1 at the BYE
 * (or CANCEL) of that call.
 */
export function maxConcurrent(reqs: readonly ReceivedRequest[], prefix = ""): number {
  const calls = new Set(reqs.filter((r) => r.method === "INVITE" && r.user.startsWith(prefix)).map((r) => r.callId));
  let cur = 0;
  let max = 0;
  for (const r of reqs) {
    if (!calls.has(r.callId)) continue;
    if (r.method === "INVITE") cur++;
    else if (r.method === "BYE" || r.method === "CANCEL") cur--;
    if (cur > max) max = cur;
  }
  return max;
}

/** JSON-RPC 2.0 over HTTP (the control API's POST /RPC). Returns the whole response object. */
export async function rpc(port: number, method: string, params?: unknown): Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }> {
  const res = await fetch(`http://127.0.0.1:${port}/RPC`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params === undefined ? {} : { params }) }),
  });
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
}

/** Polls `cond` every 50 ms until it is true; throws with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  return waitUntil(cond, { timeoutMs, intervalMs: 50, what });
}


/** Writes a file atomically (write + rename), as an operator's deploy tool would. */
export function writeAtomic(path: string, text: string): void {
  writeFileSync(path + ".tmp", text);
  renameSync(path + ".tmp", path);
}

/** A dispatcher.list body from [setid, uri, flags?, priority?, attrs?] rows. */
export function listFile(rows: ReadonlyArray<readonly [number, string, number?, number?, string?]>): string {
  return rows.map((r) => [r[0], r[1], r[2] ?? 0, r[3] ?? 0, r[4] ?? ""].join(" ").trim()).join("\n") + "\n";
}

/** The FLAGS of every destination from a dispatcher.list result, keyed `set|uri`. */
export function flagsOf(list: unknown): Map<string, string> {
  const m = new Map<string, string>();
  const l = list as { RECORDS: Array<{ SET: { ID: number; TARGETS: Array<{ DEST: { URI: string; FLAGS: string } }> } }> };
  for (const r of l.RECORDS) for (const t of r.SET.TARGETS) m.set(`${r.SET.ID}|${t.DEST.URI}`, t.DEST.FLAGS);
  return m;
}
