/**
 * Swapping a 1M-row prefix_route table under call load: does the reload pause call processing?
 *
 *   npx tsx bench/prefix-lookup/swap-under-load.ts [--rows 1000000] [--rate 50] [--seconds 16] [--reload-at 5]
 *
 * Runs a real data-plane process (data-plane/main.ts) with prefix_route and a table file of
 * `--rows` prefixes, a sipp gateway (test/scenarios/rt_uas_answer.xml) and a sipp caller dialling
 * random 15-digit numbers at `--rate` calls/s (every number matches a prefix). `--reload-at`
 * seconds into the calls the table file is replaced by another `--rows`-row table and
 * `prefix_route.reload` is called over the control API. The routing script
 * (swap-script.ts) measures the data plane's own event loop with perf_hooks
 * monitorEventLoopDelay and logs it every 250 ms; this reports the longest pause before, during
 * and after the reload, how long the reload took, and that no call failed. Ports 17900–17999.
 * Writes the figures to bench/prefix-lookup/results/swap-under-load-<date>.json as well.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runSipp, startSippServer } from "../../test/helpers/sipp.js";
import { seededRandom as rng } from "../../lib/random/seeded.js";

const ROOT = resolve(import.meta.dirname, "../..");
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const ROWS = arg("rows", 1_000_000);
const RATE = arg("rate", 50);
const SECONDS = arg("seconds", 16);
const RELOAD_AT = arg("reload-at", 5);
const PROXY = 17900;
const CONTROL = 17901;
const GATEWAY = 17910;
const UAC = 17920;
const MONITOR_MS = 250;


/**
 * `rows` unique digit prefixes: every 3-digit prefix 100–999 (so that any number starting with
 * 1–9 matches) plus random 4–12-digit ones; route names R0–R7 (S0–S7 for the second table).
 */
function makeTable(seed: number, rows: number, routePrefix: string): string {
  const r = rng(seed);
  const seen = new Set<string>();
  for (let p = 100; p <= 999; p++) seen.add(String(p));
  while (seen.size < rows) {
    const len = 4 + Math.floor(r() * 9);
    let s = String(1 + Math.floor(r() * 9));
    for (let i = 1; i < len; i++) s += String.fromCharCode(48 + Math.floor(r() * 10));
    seen.add(s);
  }
  const parts: string[] = [];
  for (const p of seen) parts.push(`{"prefix":"${p}","route":"${routePrefix}${p.charCodeAt(p.length - 1) & 7}","comment":""}`);
  return `{"prefix_route":[\n${parts.join(",\n")}\n]}\n`;
}

interface Window {
  at: number;
  maxMs: number;
  p99Ms: number;
  meanMs: number;
  gapMs: number;
  gcMaxMs: number;
  gcKind: number;
}

async function rpc(method: string, params?: unknown): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  const res = await fetch(`http://127.0.0.1:${CONTROL}/RPC`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params === undefined ? {} : { params }) }),
  });
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "olelo-swap-"));
  const tableFile = join(dir, "prefix_route.json");
  const nextFile = join(dir, "prefix_route.next.json");
  const t0 = performance.now();
  writeFileSync(tableFile, makeTable(1, ROWS, "R"));
  writeFileSync(nextFile, makeTable(2, ROWS, "S"));
  console.log(`${ROWS.toLocaleString()}-row tables written in ${((performance.now() - t0) / 1000).toFixed(1)} s (${dir})`);

  const calls = RATE * SECONDS;
  const r = rng(3);
  const numbers: string[] = [];
  for (let i = 0; i < calls; i++) {
    let s = String(1 + Math.floor(r() * 9));
    for (let k = 1; k < 15; k++) s += String.fromCharCode(48 + Math.floor(r() * 10));
    numbers.push(`${s};sipp;`);
  }
  const inf = join(dir, "calls.csv");
  writeFileSync(inf, ["SEQUENTIAL", ...numbers, ""].join("\n"));

  const gw = await startSippServer({ scenario: join(ROOT, "test/scenarios/rt_uas_answer.xml"), port: GATEWAY, timeoutS: 600, extra: ["-aa"] });
  const cfgFile = join(dir, "olelo.json");
  writeFileSync(
    cfgFile,
    JSON.stringify({
      listen: [`udp:127.0.0.1:${PROXY}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      dataDir: join(dir, "data"),
      log: { level: "info", format: "json" },
      script: { file: join(ROOT, "bench/prefix-lookup/swap-script.ts"), settings: { gateway: `sip:127.0.0.1:${GATEWAY}`, monitorMs: MONITOR_MS } },
      modules: { prefix_route: {} },
      tables: { prefix_route: tableFile },
    }),
  );
  const windows: Window[] = [];
  const dp = spawn(process.execPath, ["--import", "tsx", "data-plane/main.ts", "--config", cfgFile], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  let buf = "";
  dp.stderr.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      tail = (tail + line + "\n").slice(-4000);
      if (!line.includes('"eventloop"')) continue;
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        windows.push({ at: Date.parse(String(rec.ts)), maxMs: Number(rec.maxMs), p99Ms: Number(rec.p99Ms), meanMs: Number(rec.meanMs), gapMs: Number(rec.gapMs), gcMaxMs: Number(rec.gcMaxMs), gcKind: Number(rec.gcKind) });
      } catch {
        // not a JSON log line
      }
    }
  });
  const tStart = Date.now();
  for (;;) {
    if (dp.exitCode !== null) throw new Error(`data plane exited: ${tail}`);
    try {
      const st = await rpc("core.config_status", ["prefix_route"]);
      if (((st.result as Array<{ rows: number }> | undefined)?.[0]?.rows ?? 0) === ROWS) break;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  const startS = (Date.now() - tStart) / 1000;
  const before = ((await rpc("core.config_status", ["prefix_route"])).result as Array<{ version: string }>)[0]!.version;
  console.log(`data plane up with ${ROWS.toLocaleString()} prefixes after ${startS.toFixed(1)} s (process start, file read, compile)`);
  await sleep(1000);
  const memBefore = (await rpc("core.shmmem")).result;

  console.log(`calls: ${calls} at ${RATE}/s; reload of another ${ROWS.toLocaleString()}-row table ${RELOAD_AT} s in`);
  const callsStart = Date.now();
  const running = runSipp({ scenario: join(ROOT, "test/scenarios/rt_uac_call.xml"), port: UAC, remote: `127.0.0.1:${PROXY}`, calls, rate: RATE, timeoutS: SECONDS + 60, extra: ["-inf", inf] });
  await sleep(RELOAD_AT * 1000);
  renameSync(nextFile, tableFile);
  const reloadStart = Date.now();
  const res = await rpc("prefix_route.reload");
  const reloadEnd = Date.now();
  if (res.error) throw new Error(`reload failed: ${res.error.message}`);
  const result = await running;
  const callsEnd = Date.now();
  await sleep(2 * MONITOR_MS);
  const after = ((await rpc("core.config_status", ["prefix_route"])).result as Array<{ version: string; rows: number }>)[0]!;
  const stats = (await rpc("stats.get_statistics", ["prefix_route:"])).result as string[];
  const memAfter = (await rpc("core.shmmem")).result;
  dp.kill("SIGTERM");
  await new Promise((r) => dp.once("close", r));
  await gw.stop();

  const during = windows.filter((w) => w.at > reloadStart && w.at - MONITOR_MS < reloadEnd + 1000);
  const beforeW = windows.filter((w) => w.at > callsStart && w.at - MONITOR_MS < reloadStart);
  const afterW = windows.filter((w) => w.at - MONITOR_MS > reloadEnd + 1000 && w.at < callsEnd);
  const maxOf = (ws: Window[], k: keyof Window) => (ws.length === 0 ? 0 : Math.max(...ws.map((w) => w[k])));
  // the longest pause a window saw: monitorEventLoopDelay's max, or the 2 ms timer's longest gap
  // when that is larger (a pause right before the histogram is reset can land in neither)
  const pause = (ws: Window[]) => Math.max(maxOf(ws, "maxMs"), maxOf(ws, "gapMs"));
  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    rows: ROWS,
    rate: RATE,
    calls,
    successful: result.successful,
    failed: result.failed,
    sippExit: result.code,
    startSeconds: +startS.toFixed(1),
    reloadMs: reloadEnd - reloadStart,
    versionChanged: after.version !== before,
    rowsAfter: after.rows,
    eventLoop: {
      beforeReload: { longestPauseMs: pause(beforeW), maxMs: maxOf(beforeW, "maxMs"), p99Ms: maxOf(beforeW, "p99Ms"), timerGapMs: maxOf(beforeW, "gapMs"), gcMaxMs: maxOf(beforeW, "gcMaxMs") },
      duringReload: { longestPauseMs: pause(during), maxMs: maxOf(during, "maxMs"), p99Ms: maxOf(during, "p99Ms"), timerGapMs: maxOf(during, "gapMs"), gcMaxMs: maxOf(during, "gcMaxMs"), windows: during.length },
      afterReload: { longestPauseMs: pause(afterW), maxMs: maxOf(afterW, "maxMs"), p99Ms: maxOf(afterW, "p99Ms"), timerGapMs: maxOf(afterW, "gapMs"), gcMaxMs: maxOf(afterW, "gcMaxMs") },
    },
    stats,
    memBefore,
    memAfter,
  };
  console.log(JSON.stringify(summary, null, 1));
  console.log(
    `\n${ROWS.toLocaleString()} rows, ${calls} calls at ${RATE}/s: ${result.successful} successful, ${result.failed} failed; ` +
      `prefix_route.reload took ${summary.reloadMs} ms; longest event-loop pause in the data plane ` +
      `before the reload ${summary.eventLoop.beforeReload.longestPauseMs} ms, during it ${summary.eventLoop.duringReload.longestPauseMs} ms ` +
      `(longest GC pause ${summary.eventLoop.duringReload.gcMaxMs} ms), after it ${summary.eventLoop.afterReload.longestPauseMs} ms`,
  );
  const outDir = join(ROOT, "bench/prefix-lookup/results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `swap-under-load-${summary.date.slice(0, 19).replace(/[:T]/g, "-")}.json`), JSON.stringify({ summary, windows }, null, 1));
  if (result.failed !== 0 || result.code !== 0 || !summary.versionChanged) process.exitCode = 1;
}

await main();
