import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { portBound } from "../kit/ports.js";
import { waitUntil } from "../kit/wait.js";

/** Folder of the sipp scenarios used by the tests. */
export const SCENARIOS = resolve(import.meta.dirname, "../scenarios");

export interface SippResult {
  code: number | null;
  successful: number;
  failed: number;
  retransmissions: number;
  stdout: string;
  stderr: string;
  errors: string;
}

export interface SippOptions {
  /** scenario file name in test/scenarios, or an absolute path */
  scenario: string;
  /** local port sipp binds */
  port: number;
  /** remote host:port (UAC) */
  remote?: string;
  transport?: "u1" | "t1" | "l1" | "un";
  calls?: number;
  rate?: number;
  service?: string;
  /** seconds before sipp gives up */
  timeoutS?: number;
  keys?: Record<string, string>;
  /** replace [name] placeholders in the scenario text before running */
  templ?: Record<string, string>;
  extra?: string[];
  ip?: string;
}

function scenarioPath(o: SippOptions, dir: string): string {
  let p = o.scenario.startsWith("/") ? o.scenario : join(SCENARIOS, o.scenario);
  if (o.templ) {
    let text = readFileSync(p, "latin1");
    for (const [k, v] of Object.entries(o.templ)) text = text.split(`[${k}]`).join(v);
    p = join(dir, "scn.xml");
    writeFileSync(p, text, "latin1");
  }
  return p;
}

function args(o: SippOptions, dir: string): string[] {
  const a = ["-sf", scenarioPath(o, dir), "-i", o.ip ?? "127.0.0.1", "-p", String(o.port), "-nostdin", "-t", o.transport ?? "u1"];
  a.push("-trace_stat", "-stf", join(dir, "stat.csv"), "-fd", "1", "-trace_err", "-error_file", join(dir, "err.log"));
  if (o.calls !== undefined) a.push("-m", String(o.calls));
  if (o.rate !== undefined) a.push("-r", String(o.rate));
  if (o.service) a.push("-s", o.service);
  a.push("-timeout", `${o.timeoutS ?? 20}s`, "-timeout_error");
  for (const [k, v] of Object.entries(o.keys ?? {})) a.push("-key", k, v);
  if (o.extra) a.push(...o.extra);
  if (o.remote) a.push(o.remote);
  return a;
}

/** Runs sipp to completion and returns its final statistics. */
export function runSipp(o: SippOptions): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), "olelo-sipp-"));
  return new Promise((resolvePromise) => {
    const p = spawn("sipp", args(o, dir), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const killer = setTimeout(() => p.kill("SIGKILL"), ((o.timeoutS ?? 20) + 10) * 1000);
    p.on("close", (code) => {
      clearTimeout(killer);
      resolvePromise({ code, ...readStats(dir), stdout, stderr, errors: readIf(join(dir, "err.log")) });
    });
  });
}

/** A background sipp (UAS); stop() ends it and returns its statistics. */
export interface SippServer {
  readonly proc: ChildProcess;
  stats(): { successful: number; failed: number; retransmissions: number };
  stop(): Promise<SippResult>;
}

export async function startSippServer(o: SippOptions): Promise<SippServer> {
  const dir = mkdtempSync(join(tmpdir(), "olelo-sipp-uas-"));
  const p = spawn("sipp", args({ timeoutS: 120, ...o }, dir), { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (d) => (stdout += d));
  p.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => p.on("close", (c) => r(c)));
  // up once its socket is bound (sipp reads the scenario first), or exited; at most 5 s
  const protocol = (o.transport ?? "u1").startsWith("u") ? "udp" : "tcp";
  await waitUntil(() => p.exitCode !== null || portBound(o.port, protocol), { timeoutMs: 5000, intervalMs: 10, what: `sipp on ${protocol} port ${o.port}` }).catch(() => undefined);
  if (p.exitCode !== null) throw new Error(`sipp server exited: ${stderr || stdout}`);
  return {
    proc: p,
    stats: () => readStats(dir),
    async stop() {
      if (p.exitCode === null) p.kill("SIGUSR1"); // sipp dumps stats and exits on SIGUSR1
      const t = setTimeout(() => p.kill("SIGKILL"), 3000);
      const code = await exited;
      clearTimeout(t);
      return { code, ...readStats(dir), stdout, stderr, errors: readIf(join(dir, "err.log")) };
    },
  };
}

function readIf(p: string): string {
  return existsSync(p) ? readFileSync(p, "latin1") : "";
}

function readStats(dir: string): { successful: number; failed: number; retransmissions: number } {
  const text = readIf(join(dir, "stat.csv"));
  const lines = text.split("\n").filter((l) => l.trim());
  if (lines.length < 2) return { successful: 0, failed: 0, retransmissions: 0 };
  const h = lines[0]!.split(";");
  const v = lines[lines.length - 1]!.split(";");
  const get = (k: string) => Number(v[h.indexOf(k)] ?? 0) || 0;
  return { successful: get("SuccessfulCall(C)"), failed: get("FailedCall(C)"), retransmissions: get("Retransmissions(C)") };
}
