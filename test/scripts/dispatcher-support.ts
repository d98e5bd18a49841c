/**
 * Helpers for the dispatcher's end-to-end tests: sipp UAS processes whose received requests are
 * read back from sipp's own message trace (so a test sees which UAS really got each INVITE and
 * when), the control API over HTTP JSON-RPC, and polling.
 */
import { mkdtempSync, readFileSync, existsSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSippServer, type SippServer } from "../helpers/sipp.js";
import { waitUntil } from "../kit/wait.js";

/** One request a UAS received (retransmissions removed). */
export interface ReceivedRequest {
  /** Epoch ms of reception (sipp's trace clock). */
  readonly at: number;
  readonly method: string;
  readonly ruri: string;
  /** User part of the R-URI ("" when none). */
  readonly user: string;
  readonly callId: string;
}

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
  const dir = mkdtempSync(join(tmpdir(), "olelo-ds-uas-"));
  const traceFile = join(dir, "messages.log");
  const server = await startSippServer({
    scenario,
    port,
    timeoutS: 300,
    extra: ["-aa", "-trace_msg", "-message_file", traceFile, ...extra],
  });
  let stopped = false;
  const requests = (method?: string): ReceivedRequest[] => {
    const all = parseTrace(existsSync(traceFile) ? readFileSync(traceFile, "latin1") : "");
    return method ? all.filter((r) => r.method === method) : all;
  };
  return {
    port,
    server,
    traceFile,
    requests,
    invites: (prefix = "") => requests("INVITE").filter((r) => r.user.startsWith(prefix)),
    async stop() {
      // the trace is the record here, not sipp's statistics: kill at once instead of waiting
      // up to 3 s for sipp to act on SIGUSR1 (startSippServer's stop)
      if (stopped) return;
      stopped = true;
      const p = server.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const closed = new Promise((r) => p.once("close", r));
      p.kill("SIGKILL");
      await closed;
    },
  };
}

const SEP = "-----------------------------------------------";

/** Parses sipp's -trace_msg output into the requests it received (first copy of each). */
export function parseTrace(text: string): ReceivedRequest[] {
  const out: ReceivedRequest[] = [];
  const seen = new Set<string>();
  const blocks = text.split(`\n${SEP} `);
  for (let b of blocks) {
    if (b.startsWith(`${SEP} `)) b = b.slice(SEP.length + 1);
    const nl = b.indexOf("\n");
    if (nl < 0) continue;
    const stamp = b.slice(0, nl).trim(); // "2026-11-26 04:10:21.375410"
    const rest = b.slice(nl + 1);
    if (!/^\w+ message received/.test(rest)) continue;
    const lines = rest.split(/\r?\n/);
    const start = lines.findIndex((l, i) => i > 0 && l.trim() !== "");
    if (start < 0) continue;
    const m = /^([A-Z]+) (\S+) SIP\/2\.0$/.exec(lines[start]!.trim());
    if (!m) continue;
    let callId = "";
    let cseq = "";
    for (let i = start + 1; i < lines.length && lines[i]!.trim() !== ""; i++) {
      const h = /^([^:]+):\s*(.*)$/.exec(lines[i]!);
      if (!h) continue;
      const name = h[1]!.trim().toLowerCase();
      if (name === "call-id" || name === "i") callId = h[2]!.trim();
      else if (name === "cseq") cseq = h[2]!.trim();
    }
    const key = `${callId}|${cseq}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const ruri = m[2]!;
    const um = /^sips?:([^@;]+)@/.exec(ruri);
    out.push({ at: Date.parse(stamp.replace(" ", "T")), method: m[1]!, ruri, user: um ? um[1]! : "", callId });
  }
  return out;
}

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
