/**
 * Helpers for the routing modules' end-to-end tests (test/routing*.test.ts): sipp gateways whose
 * received requests are read back from sipp's message trace (which gateway got which number),
 * sipp callers that dial a list of numbers from an injection file, JSON table files, the control
 * API over HTTP JSON-RPC, and polling.
 */
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSipp, type SippResult, type SippServer } from "../helpers/sipp.js";
import { parseSippTrace, startTracedSipp } from "../helpers/sipp-trace.js";
import { waitUntil } from "../kit/wait.js";

/** One request a gateway received (retransmissions removed). */
export interface GatewayRequest {
  readonly method: string;
  readonly ruri: string;
  /** User part of the R-URI ("" when none). */
  readonly user: string;
  readonly callId: string;
}

/** A sipp UAS standing in for a carrier gateway; answers OPTIONS probes with 200 (-aa). */
export interface Gateway {
  readonly port: number;
  readonly uri: string;
  readonly server: SippServer;
  /** Requests received so far (optionally one method), in order. */
  requests(method?: string): GatewayRequest[];
  /** R-URI users of the INVITEs received so far. */
  invitedUsers(): string[];
  stop(): Promise<void>;
}

/**
 * Starts a traced gateway on 127.0.0.1:port running `scenario`: rt_uas_answer.xml (200, the
 * default), rt_uas_503.xml (503) or the core's uas_ring_cancel.xml (180, then waits for CANCEL).
 */
export async function startGateway(port: number, scenario = "rt_uas_answer.xml"): Promise<Gateway> {
  const t = await startTracedSipp(port, scenario, [], "olelo-rt-gw-");
  const requests = (method?: string): GatewayRequest[] => t.requests(method).map(({ at: _at, ...r }) => r);
  return {
    port,
    uri: `sip:127.0.0.1:${port}`,
    server: t.server,
    requests,
    invitedUsers: () => requests("INVITE").map((r) => r.user),
    stop: t.stop,
  };
}

/** Parses sipp's -trace_msg output into the requests it received (first copy of each). */
export function parseTrace(text: string): GatewayRequest[] {
  return parseSippTrace(text).map(({ at: _at, ...r }) => r);
}

export interface CallsOptions {
  /** Local port of the sipp caller. */
  readonly port: number;
  /** Proxy port on 127.0.0.1. */
  readonly proxy: number;
  /** One call per entry: the number dialled and (optionally) the caller's user part (default "sipp"). */
  readonly calls: ReadonlyArray<string | readonly [string, string]>;
  /** Calls per second (default 20). */
  readonly rate?: number;
  readonly timeoutS?: number;
}

/** Runs the calls with rt_uac_call.xml (number and caller from an injection file) and returns sipp's result. */
export function runCalls(o: CallsOptions): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), "olelo-rt-uac-"));
  const inf = join(dir, "calls.csv");
  const lines = o.calls.map((c) => (typeof c === "string" ? `${c};sipp;` : `${c[0]};${c[1]};`));
  writeFileSync(inf, ["SEQUENTIAL", ...lines, ""].join("\n"));
  return runSipp({
    scenario: "rt_uac_call.xml",
    port: o.port,
    remote: `127.0.0.1:${o.proxy}`,
    calls: o.calls.length,
    rate: o.rate ?? 20,
    timeoutS: o.timeoutS ?? 40,
    extra: ["-inf", inf],
  });
}

/** Writes a JSON table file atomically (write + rename), as an operator's deploy tool would. */
export function writeTableFile(path: string, tables: Record<string, unknown>): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(tables, null, 1));
  renameSync(tmp, path);
}

/** A fresh temporary directory for table files. */
export function tableDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `olelo-rt-${tag}-`));
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

/** Polls `cond` every 50 ms until it is true; throws with `what` after `timeoutMs`. Returns the ms waited. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  return waitUntil(cond, { timeoutMs, intervalMs: 50, what });
}

/** Counts equal entries: `{ value: count }`. */
export function tally(users: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const u of users) out[u] = (out[u] ?? 0) + 1;
  return out;
}

