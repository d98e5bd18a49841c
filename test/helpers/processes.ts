/**
 * Real Olelo processes for end-to-end tests (test/control-plane*.test.ts): a control plane
 * (`npx tsx control-plane/main.ts`) and data planes (`npx tsx data-plane/main.ts --config <json>`),
 * each in its own process group so that stopping one ends npx, the shell, tsx and the node child
 * together — and only those. Also: wait for a TCP port, JSON-RPC over HTTP, test databases.
 *
 * Every process started here is remembered until it is gone; `stopAllProcesses()` (call it in
 * afterAll) ends whatever is left, also when a test failed half-way.
 *
 * @example
 *   const cp = await startControlPlaneProcess({ db: "olelo_test_e2e_x", apiPort: 25001, grpcPort: 25002 });
 *   const dp = await startDataPlaneProcess({ node: "a", sipPort: 25010, controlPort: 25011, controlPlane: cp.grpcUrl });
 *   await rpcResult(dp.rpcUrl, "core.config_status", ["dispatcher"]);
 *   await stopAllProcesses();
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import mysql from "mysql2/promise";
import { sleep } from "../kit/wait.js";

/** Repository root (the processes run from here). */
export const ROOT = resolve(import.meta.dirname, "../..");

/** A started process group with its output kept for error messages. */
export interface TestProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Process group id (= the pid of the npx leader). */
  readonly pgid: number;
  /** Last 50k characters of stdout + stderr. */
  log(): string;
  /** Whether any member of the group still runs (zombies excluded). */
  alive(): boolean;
  /**
   * Sends `signal` to the whole group and waits until every member is gone; SIGKILL after
   * `graceMs`. Resolves with the leader's exit code or signal.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

const live = new Set<TestProcess>();

/** Pids of the group's members that are not zombies (Linux /proc). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, "latin1");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp ..." — comm may hold spaces and parentheses
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(f[2]) === pgid && f[0] !== "Z" && f[0] !== "X") out.push(Number(e));
  }
  return out;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* group already gone */
  }
}

/**
 * Spawns `npx --no -- tsx <script> ...args` from the repository root in a new process group.
 * `env` is added to the environment.
 */
export function spawnTsx(name: string, script: string, args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): TestProcess {
  return spawnCommand(name, "npx", ["--no", "--", "tsx", ...nodeArgs, join(ROOT, script), ...args], env);
}

/**
 * Spawns a command (e.g. `npm start -- ...`, the path users run) from the repository root in a new
 * process group, keeping the last 50 kB of its output. `cwd` elsewhere: e.g. an installed package.
 */
export function spawnCommand(name: string, command: string, args: string[], env: Record<string, string> = {}, cwd = ROOT): TestProcess {
  const proc = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const pgid = proc.pid!;
  let log = "";
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-50_000);
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const exited = new Promise<number | string>((r) => proc.on("exit", (code, sig) => r(code ?? sig ?? -1)));
  const p: TestProcess = {
    name,
    proc,
    pgid,
    log: () => log,
    alive: () => groupMembers(pgid).length > 0,
    async stop(signal = "SIGTERM", graceMs = 8000) {
      signalGroup(pgid, signal);
      const end = Date.now() + graceMs;
      while (groupMembers(pgid).length > 0) {
        if (Date.now() > end) {
          signalGroup(pgid, "SIGKILL");
          await sleep(100);
          if (Date.now() > end + 5000) break;
        }
        await sleep(50);
      }
      const code = await Promise.race([exited, sleep(5000).then(() => "not reaped")]);
      live.delete(p);
      return code;
    },
  };
  live.add(p);
  return p;
}

/** Ends every process started through this helper that is still running (SIGKILL). */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop("SIGKILL", 3000)));
}

// A test worker that dies without afterAll must not leave proxies behind.
process.once("exit", () => {
  for (const p of live) signalGroup(p.pgid, "SIGKILL");
});

export { sleep } from "../kit/wait.js";

/** Resolves once a TCP connection to host:port succeeds; rejects after `timeoutMs`. */
export async function waitForPort(port: number, host = "127.0.0.1", timeoutMs = 30_000, procs: TestProcess[] = []): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect({ port, host });
      s.once("connect", () => {
        s.destroy();
        r(true);
      });
      s.once("error", () => r(false));
    });
    if (ok) return;
    failIfExited(procs, `port ${host}:${port}`);
    if (Date.now() > end) throw new Error(`port ${host}:${port} not open after ${timeoutMs} ms${logsOf(procs)}`);
    await sleep(100);
  }
}

function logsOf(procs: TestProcess[]): string {
  return procs.map((p) => `\n--- ${p.name} log:\n${p.log().slice(-4000)}`).join("");
}

function failIfExited(procs: TestProcess[], what: string): void {
  for (const p of procs) {
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) {
      throw new Error(`waiting for ${what}: ${p.name} exited (${p.proc.exitCode ?? p.proc.signalCode})${logsOf([p])}`);
    }
  }
}

/**
 * Polls `pred` (every 50 ms) until it is true and returns the time that took; a throwing
 * predicate counts as false. The error names `what` and shows the processes' logs.
 */
export async function waitUntil(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 15_000, procs: TestProcess[] = []): Promise<number> {
  const t0 = Date.now();
  let last: unknown = null;
  for (;;) {
    try {
      if (await pred()) return Date.now() - t0;
      last = null;
    } catch (e) {
      last = e;
    }
    failIfExited(procs, what);
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}${logsOf(procs)}`);
    }
    await sleep(50);
  }
}

/** A JSON-RPC 2.0 answer. */
export interface RpcAnswer<T = any> {
  result?: T;
  error?: { code: number; message: string; data?: any };
}

/** One JSON-RPC 2.0 call over HTTP POST; resolves with the whole answer (result or error). */
export async function jsonRpc<T = any>(url: string, method: string, params?: unknown): Promise<RpcAnswer<T>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params === undefined ? {} : { params }) }),
    signal: AbortSignal.timeout(20_000),
  });
  return (await res.json()) as RpcAnswer<T>;
}

/** Like `jsonRpc` but resolves with the result and throws on an error answer. */
export async function rpcResult<T = any>(url: string, method: string, params?: unknown): Promise<T> {
  const a = await jsonRpc<T>(url, method, params);
  if (a.error) throw new Error(`${method}: ${a.error.message} (code ${a.error.code}) ${JSON.stringify(a.error.data ?? null)}`);
  return a.result as T;
}

/** A running control-plane process. */
export interface ControlPlaneProcess extends TestProcess {
  /** http://127.0.0.1:API/RPC (management API). */
  readonly rpcUrl: string;
  /** 127.0.0.1:GRPC (table push, for the data planes' `controlPlane.url`). */
  readonly grpcUrl: string;
  /** The JSON log lines written so far (OLELO_LOG_FORMAT=json). */
  logLines(): Array<Record<string, unknown>>;
}

export interface ControlPlaneOptions {
  db: string;
  apiPort: number;
  grpcPort: number;
  /** Interval DB change check in ms (default 0 = off: only API writes and `push` publish). */
  pollMs?: number;
  /** Change-log tail interval in ms (`--cdc-ms`); default: change capture off (`--no-cdc`). */
  cdcMs?: number;
  /** More flags; `--push-insecure-loopback` is added unless they include `--push-tls-cert`. */
  extraArgs?: string[];
  /** How long to wait for the management API (default 60 s). */
  readyTimeoutMs?: number;
  /** Node flags for the control plane's process (e.g. `--cpu-prof`), given to tsx before the script. */
  nodeArgs?: string[];
}

/**
 * Starts `control-plane/main.ts` on the test database `db` and waits until its management API
 * answers `status` with a working database.
 */
export async function startControlPlaneProcess(o: ControlPlaneOptions): Promise<ControlPlaneProcess> {
  const p = spawnTsx(
    `control-plane :${o.apiPort}`,
    "control-plane/main.ts",
    ["--db-url", `mysql://root@127.0.0.1:3306/${o.db}`, "--api", `127.0.0.1:${o.apiPort}`, "--grpc", `127.0.0.1:${o.grpcPort}`, "--poll-ms", String(o.pollMs ?? 0), ...(o.cdcMs ? ["--cdc-ms", String(o.cdcMs)] : ["--no-cdc"]), ...(o.extraArgs?.includes("--push-tls-cert") ? [] : ["--push-insecure-loopback"]), ...(o.extraArgs ?? [])],
    { OLELO_LOG_FORMAT: "json", OLELO_LOG_LEVEL: "info" },
    o.nodeArgs,
  );
  const cp: ControlPlaneProcess = Object.assign(p, {
    rpcUrl: `http://127.0.0.1:${o.apiPort}/RPC`,
    grpcUrl: `127.0.0.1:${o.grpcPort}`,
    logLines: () =>
      p
        .log()
        .split("\n")
        .flatMap((l) => {
          try {
            return l.startsWith("{") ? [JSON.parse(l) as Record<string, unknown>] : [];
          } catch {
            return [];
          }
        }),
  });
  try {
    await waitForPort(o.apiPort, "127.0.0.1", o.readyTimeoutMs ?? 60_000, [cp]);
    await waitUntil("the control plane's status", async () => (await rpcResult(cp.rpcUrl, "status")).db.ok === true, 20_000, [cp]);
  } catch (e) {
    await cp.stop("SIGKILL");
    throw e;
  }
  return cp;
}

/** A running data-plane process. */
export interface DataPlaneProcess extends TestProcess {
  readonly node: string;
  readonly sipPort: number;
  /** http://127.0.0.1:CONTROL/RPC (control API). */
  readonly rpcUrl: string;
  readonly configFile: string;
  /** The applied version of a table kind (core.config_status), null when none. */
  version(kind: string): Promise<string | null>;
}

export interface DataPlaneOptions {
  node: string;
  sipPort: number;
  controlPort: number;
  /** Control plane push address host:port. */
  controlPlane: string;
  /** Table cache and data directory; a fresh temp dir unless given (pass the same to restart from cache). */
  dir?: string;
  modules?: Record<string, unknown>;
  /** Routing script (default: the default script). */
  script?: string;
  settings?: Record<string, unknown>;
  /** Extra `controlPlane` keys (e.g. `tls`, `token`). */
  controlPlaneExtra?: Record<string, unknown>;
  /** Extra `control` settings (fifo, dgram) next to its listen address. */
  control?: Record<string, unknown>;
  readyTimeoutMs?: number;
  /** Extra top-level configuration keys (e.g. `aliases`). */
  extra?: Record<string, unknown>;
  /** Extra environment of the process. */
  env?: Record<string, string>;
}

/**
 * Writes a configuration file and starts `data-plane/main.ts --config <file>`; resolves once the
 * control API answers (the SIP sockets open before it).
 */
export async function startDataPlaneProcess(o: DataPlaneOptions): Promise<DataPlaneProcess> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), `olelo-e2e-${o.node}-`));
  const configFile = join(dir, "olelo.json");
  writeFileSync(
    configFile,
    JSON.stringify(
      {
        node: o.node,
        listen: [`udp:127.0.0.1:${o.sipPort}`],
        control: { listen: `127.0.0.1:${o.controlPort}`, ...(o.control ?? {}) },
        modules: o.modules ?? { dispatcher: { ping_interval: 0 } },
        script: { ...(o.script ? { file: o.script } : {}), settings: o.settings ?? { dispatcherSet: 1 } },
        controlPlane: { url: o.controlPlane, cacheDir: join(dir, "table-cache"), ...(o.controlPlaneExtra ?? {}) },
        dataDir: join(dir, "data"),
        log: { level: "warn" },
        ...(o.extra ?? {}),
      },
      null,
      2,
    ),
  );
  const p = spawnTsx(`data-plane ${o.node}`, "data-plane/main.ts", ["--config", configFile], o.env ?? {});
  const rpcUrl = `http://127.0.0.1:${o.controlPort}/RPC`;
  const dp: DataPlaneProcess = Object.assign(p, {
    node: o.node,
    sipPort: o.sipPort,
    rpcUrl,
    configFile,
    async version(kind: string) {
      const st = await rpcResult<Array<{ version: string | null }>>(rpcUrl, "core.config_status", [kind]);
      return st[0]?.version ?? null;
    },
  });
  try {
    await waitForPort(o.controlPort, "127.0.0.1", o.readyTimeoutMs ?? 60_000, [dp]);
    await waitUntil(`${o.node}'s control API`, async () => typeof (await rpcResult(rpcUrl, "core.uptime")).uptime === "number", 20_000, [dp]);
  } catch (e) {
    await dp.stop("SIGKILL");
    throw e;
  }
  return dp;
}

/** Creates (dropping first) a MariaDB test database `olelo_test_e2e*`; returns a root connection using it. */
export async function freshE2eDatabase(name: string): Promise<mysql.Connection> {
  if (!/^olelo_test_e2e\w*$/.test(name)) throw new Error(`refusing to recreate '${name}'`);
  const admin = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.query(`USE \`${name}\``);
  return admin;
}

/** Drops a test database `olelo_test_e2e*`. */
export async function dropE2eDatabase(admin: mysql.Connection | undefined, name: string): Promise<void> {
  if (!/^olelo_test_e2e\w*$/.test(name)) throw new Error(`refusing to drop '${name}'`);
  await admin?.query(`DROP DATABASE IF EXISTS \`${name}\``);
}
