/**
 * Billing bench (issue 14): real control-plane and data-plane processes, MariaDB
 * (olelo_test_e2e_bench_bill, dropped at the end), sipp.
 *
 *   1. CDR write cost: the data plane's CPU time per call for CALLS short calls at RATE calls/s,
 *      dialog only vs dialog + acc with the CDR spool delivered to the control plane.
 *   2. Durability: TOTAL calls (default 1000) at RATE_B calls/s holding HOLD_MS each; the data plane
 *      is SIGKILLed and restarted while calls are up (dialog db_mode 1), the control plane is
 *      down for CP_DOWN_S seconds in the middle; then every call must have exactly one CDR.
 *
 * Run (through the shared lock): flock /tmp/olelo-test.lock npx tsx bench/billing/run.ts
 * Env: CALLS (1000), RATE (100), TOTAL (1000), RATE_B (50), HOLD_MS (3000), CP_DOWN_S (30).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { signCdr } from "../../control-plane/api/cdr-webhook.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  dropE2eDatabase,
  freshE2eDatabase,
  rpcResult,
  sleep,
  startControlPlaneProcess,
  startDataPlaneProcess,
  stopAllProcesses,
  waitUntil,
  type DataPlaneOptions,
  type DataPlaneProcess,
} from "../../test/helpers/processes.js";
import { runSipp, startSippServer } from "../../test/helpers/sipp.js";
import { freePortBlock } from "../../test/kit/ports.js";

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
/** Where the dialogs are kept: "mysql" (Kamailio's dialog table) or "redis" (the fleet's Redis). */
const DIALOG_DB = process.env.DIALOG_DB === "redis" ? "redis" : "mysql";
/** NEW_DISK=1: the data plane comes back without its dialog journal (a replaced machine). */
const NEW_DISK = process.env.NEW_DISK === "1";
const REDIS_PREFIX = `olelo:bench:dlg:${process.pid}:`;
const CALLS = env("CALLS", 1000);
const RATE = env("RATE", 100);
const TOTAL = env("TOTAL", 1000);
const RATE_B = env("RATE_B", 50);
const HOLD_MS = env("HOLD_MS", 3000);
const CP_DOWN_S = env("CP_DOWN_S", 30);

const BASE = await freePortBlock(40);
const DB = "olelo_test_e2e_bench_bill";
const HOOK_PORT = BASE + 30;
const CP = {
  db: DB,
  apiPort: BASE + 1,
  grpcPort: BASE + 2,
  extraArgs: ["--cdr-webhook", `http://127.0.0.1:${HOOK_PORT}/cdr`, "--cdr-webhook-secret", "bench-secret", "--cdr-webhook-retry-ms", "200"],
};
/** The test receiver: accepted deliveries by Idempotency-Key (node → keys), repeats, bad signatures. */
const hook = { byNode: new Map<string, Set<string>>(), repeats: 0, bad: 0 };
const hookServer = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    if (req.headers["x-olelo-signature"] !== signCdr("bench-secret", Number(req.headers["x-olelo-timestamp"]), body)) {
      hook.bad++;
      return res.writeHead(401).end();
    }
    const node = String((JSON.parse(body) as { node: string }).node);
    const set = hook.byNode.get(node) ?? new Set<string>();
    hook.byNode.set(node, set);
    const key = String(req.headers["idempotency-key"]);
    if (set.has(key)) hook.repeats++;
    set.add(key);
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => hookServer.listen(HOOK_PORT, "127.0.0.1", r));
const UAS = BASE + 20;
let uac = BASE + 31;
const admin = await freshE2eDatabase(DB);

/** utime + stime of every process in the group, in ms (Linux /proc; clock ticks of 100 Hz). */
function groupCpuMs(pgid: number): number {
  let ticks = 0;
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "latin1");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return ticks * 10;
}

function dpOptions(name: string, dir: string, acc: boolean): DataPlaneOptions {
  return {
    node: name,
    sipPort: BASE + 10,
    controlPort: BASE + 11,
    controlPlane: `127.0.0.1:${CP.grpcPort}`,
    dir,
    settings: { nextHop: `sip:127.0.0.1:${UAS}` },
    modules: {
      dialog: { db_mode: 1, db_url: DIALOG_DB === "redis" ? "redis://127.0.0.1:6379/0" : `mysql://root@127.0.0.1:3306/${DB}`, redis_prefix: REDIS_PREFIX, default_timeout: 600 },
      ...(acc ? { acc: { cdr_enable: 1, cdr_log_enable: 0, cdr_push_url: `http://127.0.0.1:${CP.apiPort}/RPC`, cdr_push_retry: 200, cdr_push_retry_max: 2000 } } : {}),
    },
  };
}

async function cdrCount(node: string): Promise<{ n: number; distinct: number; calls: number }> {
  const [r] = await admin.query<import("mysql2/promise").RowDataPacket[]>(
    "SELECT COUNT(*) n, COUNT(DISTINCT cdr_id) d, COUNT(DISTINCT call_id) c FROM olelo_cdrs WHERE node = ?",
    [node],
  );
  return { n: Number(r[0]!.n), distinct: Number(r[0]!.d), calls: Number(r[0]!.c) };
}

const uas = await startSippServer({ scenario: "uas_rr.xml", port: UAS, timeoutS: 3600 });
let cp = await startControlPlaneProcess(CP);
try {
  // ---------------------------------------------------------------- 1. cost per call
  const cost: Record<string, { cpuMsPerCall: number; wallS: number }> = {};
  for (const acc of process.env.SKIP_COST === "1" ? [] : [false, true]) {
    const label = acc ? "dialog + acc CDR spool" : "dialog only";
    const node = acc ? "cost-acc" : "cost-plain";
    const dp = await startDataPlaneProcess(dpOptions(node, mkdtempSync(join(tmpdir(), "olelo-bench-bill-")), acc));
    await runSipp({ scenario: "uac_rr.xml", port: uac++, remote: `127.0.0.1:${dp.sipPort}`, calls: 50, rate: 50, service: "warm", timeoutS: 60 });
    const cpu0 = groupCpuMs(dp.pgid);
    const t0 = Date.now();
    const r = await runSipp({ scenario: "uac_rr.xml", port: uac++, remote: `127.0.0.1:${dp.sipPort}`, calls: CALLS, rate: RATE, service: "cost", timeoutS: 300 });
    if (acc) await waitUntil("CDRs delivered", async () => (await cdrCount(node)).n === CALLS + 50, 60_000, [dp, cp]);
    await sleep(500);
    const cpu = groupCpuMs(dp.pgid) - cpu0;
    cost[label] = { cpuMsPerCall: cpu / CALLS, wallS: (Date.now() - t0) / 1000 };
    console.log(`${label}: ${r.successful}/${CALLS} calls at ${RATE}/s, data-plane CPU ${(cpu / CALLS).toFixed(3)} ms/call`);
    await dp.stop("SIGTERM");
  }
  const a = cost["dialog + acc CDR spool"]?.cpuMsPerCall ?? NaN;
  const b = cost["dialog only"]?.cpuMsPerCall ?? NaN;
  if (process.env.SKIP_COST !== "1") console.log(`CDR write cost: +${(a - b).toFixed(3)} ms CPU per call (${((a / b - 1) * 100).toFixed(0)} %), i.e. ${(1000 / a).toFixed(0)} vs ${(1000 / b).toFixed(0)} calls per CPU-second`);

  // ---------------------------------------------------------------- 2. durability
  const node = "dur";
  const dir = mkdtempSync(join(tmpdir(), "olelo-bench-bill-dur-"));
  let dp: DataPlaneProcess = await startDataPlaneProcess(dpOptions(node, dir, true));
  const t0 = Date.now();
  const run = runSipp({
    scenario: "dlg_uac_hold.xml",
    port: uac++,
    remote: `127.0.0.1:${dp.sipPort}`,
    calls: TOTAL,
    rate: RATE_B,
    service: "dur",
    templ: { hold_ms: String(HOLD_MS) },
    timeoutS: 600,
    extra: ["-l", "1000"],
  });
  const upAtKill = await (async () => {
    await waitUntil("calls up", async () => Number((await rpcResult(dp.rpcUrl, "dlg.stats_active")).all) >= Math.min(100, Math.floor((RATE_B * HOLD_MS) / 1000) - 10), 60_000, [dp]);
    await sleep(TOTAL / RATE_B * 250); // a quarter in
    return Number((await rpcResult(dp.rpcUrl, "dlg.stats_active")).all);
  })();
  await dp.stop("SIGKILL");
  const tKill = Date.now();
  if (NEW_DISK) rmSync(join(dir, "data", "dialog"), { recursive: true, force: true });
  dp = await startDataPlaneProcess(dpOptions(node, dir, true));
  const restartS = (Date.now() - tKill) / 1000;
  const restored = Number((await rpcResult(dp.rpcUrl, "dlg.stats_active")).all);
  console.log(`data plane SIGKILLed with ${upAtKill} calls up; back after ${restartS.toFixed(1)} s with ${restored} dialogs restored`);
  await sleep(1000);
  await cp.stop("SIGKILL");
  console.log(`control plane down for ${CP_DOWN_S} s`);
  await sleep(CP_DOWN_S * 1000);
  const spooled = (await rpcResult(dp.rpcUrl, "stats.fetchn", ["acc:"]))["acc.cdr_spooled"];
  cp = await startControlPlaneProcess(CP);
  console.log(`control plane back; ${spooled} CDRs were waiting in the spool`);
  const r = await run;
  const tCalls = (Date.now() - t0) / 1000;
  await waitUntil("all CDRs", async () => (await cdrCount(node)).calls >= TOTAL, 60_000, [dp, cp]).catch(() => undefined);
  await sleep(2000);
  const c = await cdrCount(node);
  console.log(`${TOTAL} calls: ${r.successful} successful, ${r.failed} failed (sipp), ${tCalls.toFixed(0)} s`);
  await waitUntil("webhook deliveries", async () => (hook.byNode.get(node)?.size ?? 0) >= TOTAL, 60_000, [cp]).catch(() => undefined);
  const delivered = hook.byNode.get(node)?.size ?? 0;
  console.log(`webhook: ${delivered} distinct CDRs accepted by the receiver for ${TOTAL} calls, ${hook.repeats} repeated deliveries (dropped by Idempotency-Key), ${hook.bad} bad signatures`);
  const ok = c.n === TOTAL && c.calls === TOTAL && c.distinct === c.n && delivered === TOTAL && hook.bad === 0;
  console.log(`CDRs: ${c.n} rows, ${c.distinct} distinct cdr_id, ${c.calls} distinct call-ids of ${TOTAL} calls → ${ok ? "exactly one per call" : "MISMATCH"}`);
  if (!ok) process.exitCode = 1;
  await dp.stop("SIGTERM");
} finally {
  hookServer.close();
  await uas.stop();
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin.end();
}
