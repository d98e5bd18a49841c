/**
 * Change-capture latency benchmark (issue 13): SQL commit → applied on each of two real data-plane
 * processes, through the triggers, the change-log tail (`--cdc-ms 50`, no full poll), the splice
 * into the last snapshot, the control plane's compile, the gRPC push (delta) and the data plane's
 * apply. For a small kind (dispatcher, 10 rows) and a big one (prefix_route, 1M rows generated
 * with INSERT ... SELECT from MariaDB's sequence engine), `--changes` one-row UPDATEs each, one at
 * a time; the time is taken from just before the UPDATE until the data plane's
 * `core.config_status` shows the new version (polled every 5 ms on each data plane).
 *
 * Run (needs MariaDB on 127.0.0.1:3306, root without password):
 *   flock /tmp/olelo-test.lock npx tsx bench/push/cdc-latency.ts [--changes 50] [--rows 1000000] [--kind prefix_route|drouting|subscriber] [--cp-prof DIR]
 * `--kind subscriber`: ROWS subscribers as kamctl add writes them (password, ha1, ha1b), the data
 * planes with the auth module; the changes cycle kamctl add (INSERT), passwd (UPDATE), rm (DELETE).
 * Prints the figures; nothing is asserted (benchmarks are not tests).
 */
import { setLogSink } from "../../lib/log/logger.js";
import {
  dropE2eDatabase,
  freshE2eDatabase,
  rpcResult,
  startControlPlaneProcess,
  startDataPlaneProcess,
  stopAllProcesses,
  waitUntil,
  type ControlPlaneProcess,
  type DataPlaneProcess,
} from "../../test/helpers/processes.js";
import { freePortBlock } from "../../test/kit/ports.js";

setLogSink(() => {});

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const CHANGES = arg("changes", 50);
/** `--cp-prof DIR`: the control plane runs with --cpu-prof and writes its profile there when stopped. */
const CP_PROF = process.argv.includes("--cp-prof") ? process.argv[process.argv.indexOf("--cp-prof") + 1]! : "";
const ROWS = arg("rows", 1_000_000);
const DB = "olelo_test_e2e_bench_cdc";
/** The big kind: prefix_route (default), drouting (`--kind drouting`: ROWS dr_rules, one gateway) or subscriber. */
const KIND = process.argv.includes("--kind") ? process.argv[process.argv.indexOf("--kind") + 1]! : "prefix_route";
if (KIND !== "prefix_route" && KIND !== "drouting" && KIND !== "subscriber") throw new Error("--kind: prefix_route, drouting or subscriber");
/** The data-plane module of the big kind. */
const MODULE = KIND === "subscriber" ? "auth" : KIND;
const MODULE_PARAMS = KIND === "subscriber" ? { secret: "olelo-bench-cdc-secret-0123456789" } : {};
/** kamctl add's row: the password and both hashes (realm = domain). */
const kamctlAdd = (user: string, pw: string) =>
  `INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('${user}', 'example.com', '${pw}', MD5('${user}:example.com:${pw}'), MD5('${user}@example.com:example.com:${pw}'))`;
/** The big kind's i-th change: kamctl add, passwd, rm in turn for subscriber; one UPDATE otherwise. */
function bigChange(i: number): string {
  if (KIND === "drouting") return `UPDATE dr_rules SET priority = ${i + 1} WHERE ruleid = ${1 + ((i * 7919) % ROWS)}`;
  if (KIND === "prefix_route") return `UPDATE prefix_route SET comment = 'c${i}' WHERE prefix = '49${String(i * 7919).padStart(7, "0")}'`;
  const u = `u${(i * 7919) % ROWS}`;
  if (i % 3 === 0) return kamctlAdd(`new${i}`, `pw${i}`);
  if (i % 3 === 1) return `UPDATE subscriber SET password = 'np${i}', ha1 = MD5('${u}:example.com:np${i}'), ha1b = MD5('${u}@example.com:example.com:np${i}') WHERE username = '${u}' AND domain = 'example.com'`;
  return `DELETE FROM subscriber WHERE username = 'new${i - 2}' AND domain = 'example.com'`;
}
const BIG_ROWS = KIND === "drouting" ? ROWS + 1 : ROWS;

const version = async (dp: DataPlaneProcess, kind: string): Promise<string | null> => {
  const st = await rpcResult<Array<{ version: string | null }>>(dp.rpcUrl, "core.config_status", [kind]);
  return st[0]?.version ?? null;
};

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function measure(dps: DataPlaneProcess[], kind: string, sql: (i: number) => string, admin: { query(q: string): Promise<unknown> }): Promise<{ perNode: number[]; all: number[]; breakdown: string }> {
  const breakdown: Array<{ mode: string; receiveMs: number; mergeMs: number; loadMs: number }> = [];
  const perNode: number[] = [];
  const all: number[] = [];
  const incremental = async () => Number((await rpcResult<{ deltas: { incremental: number } }>(dps[0]!.rpcUrl, "core.sync_status")).deltas.incremental);
  const inc0 = await incremental();
  for (let i = 0; i < CHANGES; i++) {
    const before = await Promise.all(dps.map((d) => version(d, kind)));
    const t0 = performance.now();
    await admin.query(sql(i));
    const done: Array<number | null> = dps.map(() => null);
    while (done.some((d) => d === null)) {
      await Promise.all(
        dps.map(async (d, j) => {
          if (done[j] === null && (await version(d, kind)) !== before[j]) done[j] = performance.now() - t0;
        }),
      );
      if (performance.now() - t0 > 30_000) throw new Error(`${kind} change ${i} not applied within 30 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    perNode.push(...(done as number[]));
    const lr = (await rpcResult<{ lastReceived: Record<string, { mode: string; receiveMs: number; mergeMs: number; loadMs: number }> }>(dps[0]!.rpcUrl, "core.sync_status")).lastReceived[kind];
    if (lr) breakdown.push(lr);
    all.push(Math.max(...(done as number[])));
    await new Promise((r) => setTimeout(r, 100)); // let the previous delta settle
  }
  const med = (k: "receiveMs" | "mergeMs" | "loadMs") => pct(breakdown.map((b) => b[k]), 50);
  const deltas = breakdown.filter((b) => b.mode === "delta").length;
  const inc = (await incremental()) - inc0;
  // which changes were the slow ones (the first, a kamctl add, …) says where a p99 comes from
  const slowest = all
    .map((ms, i) => [i, ms] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([i, ms]) => `#${i} ${ms.toFixed(0)} ms`)
    .join(", ");
  return { perNode, all, breakdown: `${deltas}/${breakdown.length} as deltas (${inc} compiled incrementally); median receive ${med("receiveMs")} ms, merge ${med("mergeMs")} ms, load ${med("loadMs")} ms; slowest (until both) ${slowest}` };
}

async function main(): Promise<void> {
  const base = await freePortBlock(10);
  const admin = await freshE2eDatabase(DB);
  let cp: ControlPlaneProcess | null = null;
  let dps: DataPlaneProcess[] = [];
  try {
    // 1. migrate once without change capture, then load the big table without triggers
    cp = await startControlPlaneProcess({ db: DB, apiPort: base + 1, grpcPort: base + 2, pollMs: 0 });
    await cp.stop("SIGTERM");
    const tl = performance.now();
    if (KIND === "drouting") {
      await admin.query("INSERT INTO dr_gateways (gwid, type, address, strip, pri_prefix, attrs, description) VALUES (1, 0, '10.0.0.1:5060', 0, '', '', '')");
      await admin.query(`INSERT INTO dr_rules (ruleid, groupid, prefix, timerec, priority, routeid, gwlist, description) SELECT seq + 1, '1', CONCAT('49', LPAD(seq, 7, '0')), '', 0, '', '1', '' FROM seq_0_to_${ROWS - 1}`);
    } else if (KIND === "subscriber") {
      await admin.query(
        `INSERT INTO subscriber (username, domain, password, ha1, ha1b) SELECT CONCAT('u', seq), 'example.com', CONCAT('pw', seq), MD5(CONCAT('u', seq, ':example.com:pw', seq)), MD5(CONCAT('u', seq, '@example.com:example.com:pw', seq)) FROM seq_0_to_${ROWS - 1}`,
      );
    } else {
      await admin.query(`INSERT INTO prefix_route (prefix, route, comment) SELECT CONCAT('49', LPAD(seq, 7, '0')), 'R1', '' FROM seq_0_to_${ROWS - 1}`);
    }
    await admin.query("INSERT INTO dispatcher (id, setid, destination, flags, priority, attrs, description) SELECT seq, 1, CONCAT('sip:10.0.0.', seq, ':5060'), 0, 0, '', '' FROM seq_1_to_10");
    const loadS = (performance.now() - tl) / 1000;

    // 2. the control plane with change capture (no full poll) and two data planes
    const ts = performance.now();
    cp = await startControlPlaneProcess({ db: DB, apiPort: base + 1, grpcPort: base + 2, pollMs: 0, cdcMs: 50, readyTimeoutMs: 180_000, nodeArgs: CP_PROF ? ["--cpu-prof", `--cpu-prof-dir=${CP_PROF}`] : [] });
    dps = await Promise.all(
      [0, 1].map((i) =>
        startDataPlaneProcess({
          node: `bench-cdc-${i}`,
          sipPort: base + 5 + 2 * i,
          controlPort: base + 6 + 2 * i,
          controlPlane: cp!.grpcUrl,
          modules: { dispatcher: { ping_interval: 0 }, [MODULE]: MODULE_PARAMS },
        }),
      ),
    );
    await waitUntil(
      "both data planes run both kinds",
      async () => {
        for (const d of dps) {
          const st = await rpcResult<Array<{ kind: string; rows: number }>>(d.rpcUrl, "core.config_status");
          if (st.find((s) => s.kind === KIND)?.rows !== BIG_ROWS || st.find((s) => s.kind === "dispatcher")?.rows !== 10) return false;
        }
        return true;
      },
      300_000,
      [cp, ...dps],
    );
    const startS = (performance.now() - ts) / 1000;

    // 3. trigger cost per write: 2000 one-row UPDATEs with and without the trigger
    const writes = async (n: number) => {
      const t = performance.now();
      for (let i = 0; i < n; i++) await admin.query(`UPDATE dispatcher SET attrs = '${i % 2 ? "x" : "y"}' WHERE id = 10`);
      return ((performance.now() - t) / n) * 1000;
    };
    const small = await measure(dps, "dispatcher", (i) => `UPDATE dispatcher SET description = 'c${i}' WHERE id = ${1 + (i % 10)}`, admin);
    const big = await measure(dps, KIND, bigChange, admin);
    const withTrigger = await writes(2000);
    await admin.query("DROP TRIGGER IF EXISTS olelo_cdc_dispatcher_au");
    const withoutTrigger = await writes(2000);

    const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
    const rows: Array<[string, string]> = [
      ["setup", `${ROWS} ${KIND} rows loaded in ${loadS.toFixed(1)} s; control plane + 2 data planes up with them in ${startS.toFixed(1)} s`],
      [`dispatcher (10 rows), ${CHANGES} changes, per data plane`, fmt(small.perNode)],
      ["dispatcher, until both data planes", fmt(small.all)],
      [`${KIND} (${ROWS} rows), ${CHANGES} changes, per data plane`, fmt(big.perNode)],
      [`${KIND}, until both data planes`, fmt(big.all)],
      [`${KIND}, data plane 1's part (receive / merge / compile+swap)`, big.breakdown],
      ["one-row UPDATE (autocommit) with / without the trigger", `${withTrigger.toFixed(0)} µs / ${withoutTrigger.toFixed(0)} µs`],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  } catch (e) {
    // what the processes said is the diagnosis of a failed run
    for (const [name, p] of [["control plane", cp], ...dps.map((d, i) => [`data plane ${i}`, d] as const)] as const) if (p) console.error(`--- ${name} (last 3000 chars)\n${p.log().slice(-3000)}`);
    throw e;
  } finally {
    // writing a profile of a 1M-row run takes longer than the usual grace before SIGKILL
    if (CP_PROF && cp) await cp.stop("SIGINT", 120_000);
    await stopAllProcesses();
    await dropE2eDatabase(admin, DB);
    await admin.end();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? `${e.message}${e.cause ? ` (${String(e.cause)})` : ""}\n${e.stack ?? ""}` : String(e));
  process.exit(1);
});
