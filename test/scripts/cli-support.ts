/**
 * Helpers for the olectl/kamcli end-to-end tests (test/cli-*.test.ts): start the real control-plane
 * and data-plane processes (`tsx control-plane/main.ts`, `tsx data-plane/main.ts --config …`), run
 * olectl as a child process (exit code, stdout, stderr) or in-process (`main()`, for tight polling
 * loops where a process start would hide the latency being measured), and fresh test databases.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import mysql from "mysql2/promise";
import { main } from "../../cli/olectl.js";

export const ROOT = resolve(import.meta.dirname, "../..");
/** What `npx tsx` resolves to (without npx's own start-up cost). */
export const TSX = join(ROOT, "node_modules/.bin/tsx");
/** The pinned runtime `npm start` uses (package.json scripts). */
const NODE = join(ROOT, "node_modules/.bin/node");

/** A started Olelo process with its combined output kept for error messages. */
export interface OleloProcess {
  readonly proc: ChildProcess;
  /** Last 20k characters of stdout + stderr. */
  log(): string;
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string>;
}

/** Spawns `tsx <script> ...args` from the repository root. */
export function startOleloProcess(script: string, args: string[], env: Record<string, string> = {}): OleloProcess {
  // as `npm start` runs it (node --import tsx), not through the tsx CLI: the CLI relays SIGTERM and,
  // when the child does not confirm within its short wait on a loaded machine, exits 143 itself
  const proc = spawn(NODE, ["--import", "tsx", join(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-20_000);
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const exited = new Promise<number | string>((r) => proc.on("exit", (code, sig) => r(code ?? sig ?? -1)));
  return {
    proc,
    log: () => log,
    exited,
    async stop(graceMs = 5000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Polls `pred` until it holds; the error names `what` and shows the processes' logs. */
export async function waitFor(what: string, pred: () => boolean | Promise<boolean>, ms = 10_000, procs: OleloProcess[] = []): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    let ok = false;
    try {
      ok = await pred();
    } catch {
      ok = false;
    }
    if (ok) return;
    for (const p of procs) if (p.proc.exitCode !== null) throw new Error(`${what}: process exited (${p.proc.exitCode}); log:\n${p.log()}`);
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; logs:\n${procs.map((p) => p.log()).join("\n---\n")}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A JSON-RPC call over HTTP; resolves with the result, rejects with the error message. */
export async function rpcCall(url: string, method: string, params: unknown = []): Promise<any> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", method, params, id: 1 }) });
  const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message} (code ${body.error.code})`);
  return body.result;
}

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs olectl as its own process: `node --import tsx cli/olectl.ts …` (what `npx tsx cli/olectl.ts`
 * runs, minus the tsx launcher's extra process, which matters when a 2-core machine is loaded).
 */
export function olectlProcess(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolveRun) => {
    const p = spawn(process.execPath, ["--import", "tsx", join(ROOT, "cli/olectl.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const killer = setTimeout(() => p.kill("SIGKILL"), 45_000);
    p.on("close", (code, sig) => {
      clearTimeout(killer);
      resolveRun({ code: code ?? (sig ? 128 : -1), out, err });
    });
  });
}

/** Runs olectl's `main()` in this process (same code as the binary, without the process start). */
export async function olectlInProcess(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env: { ...process.env, ...env }, onInterrupt: () => {} });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** Drops and creates a test database on the local MariaDB; returns an admin connection to it. */
export async function freshDatabase(name: string): Promise<mysql.Connection> {
  if (!/^olelo_test_cli\w*$/.test(name)) throw new Error(`refusing to recreate '${name}'`);
  const admin = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.query(`USE \`${name}\``);
  return admin;
}

/** URIs per set id from a Kamailio-shaped dispatcher.list result. */
export function dispatcherSets(list: any): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const r of list?.RECORDS ?? []) out[r.SET.ID] = r.SET.TARGETS.map((t: any) => t.DEST.URI).sort();
  return out;
}
