/**
 * sipp UAS processes whose received requests are read back from sipp's own message trace
 * (-trace_msg), so a test sees which UAS really got each request and when. Used by the dispatcher
 * helpers (test/scripts/dispatcher-support.ts: traced UASs) and the routing helpers
 * (test/scripts/routing-support.ts: gateways).
 */
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSippServer, type SippServer } from "./sipp.js";

/** One request a sipp UAS received (retransmissions removed). */
export interface TracedRequest {
  /** Epoch ms of reception (sipp's trace clock). */
  readonly at: number;
  readonly method: string;
  readonly ruri: string;
  /** User part of the R-URI ("" when none). */
  readonly user: string;
  readonly callId: string;
}

/** A running traced sipp UAS. */
export interface TracedSipp {
  readonly server: SippServer;
  readonly traceFile: string;
  /** Requests received so far (optionally one method), in order. */
  requests(method?: string): TracedRequest[];
  /** Kills sipp at once: the trace is the record, not sipp's statistics (no waiting up to 3 s for SIGUSR1). */
  stop(): Promise<void>;
}

/** Starts sipp on 127.0.0.1:port running `scenario` with -aa (OPTIONS answered 200) and a message trace; `extra` goes to sipp. */
export async function startTracedSipp(port: number, scenario: string, extra: string[] = [], tmpPrefix = "olelo-sipp-trace-"): Promise<TracedSipp> {
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  const traceFile = join(dir, "messages.log");
  const server = await startSippServer({ scenario, port, timeoutS: 300, extra: ["-aa", "-trace_msg", "-message_file", traceFile, ...extra] });
  let stopped = false;
  return {
    server,
    traceFile,
    requests(method?: string) {
      const all = parseSippTrace(existsSync(traceFile) ? readFileSync(traceFile, "latin1") : "");
      return method ? all.filter((r) => r.method === method) : all;
    },
    async stop() {
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
export function parseSippTrace(text: string): TracedRequest[] {
  const out: TracedRequest[] = [];
  const seen = new Set<string>();
  for (let b of text.split(`\n${SEP} `)) {
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
