/**
 * Memory of a node with 1M prefix_route rows pushed by the control plane, and the time from the
 * push to the ACK, for `workers: 1`, `workers: 2` with each worker compiling its own copy
 * (OLELO_SHARED_TABLES=0: the code path before the shared tables) and `workers: 2` compiling once
 * into shared memory (core/workers/README.md "Tables compiled once, shared").
 *   npx tsx bench/workers/shared-tables-memory.ts        (ROWS=1000000; needs the test MariaDB)
 * Prints per configuration: process RSS, each isolate's heap used / external / array buffers,
 * shared table bytes (core.memory), API write → ACK, and the primary's receipt → all applied.
 */
import { dropE2eDatabase, freshE2eDatabase, rpcResult, startControlPlaneProcess, startDataPlaneProcess, stopAllProcesses, waitUntil } from "../../test/helpers/processes.js";
import { freePortBlock } from "../../test/kit/ports.js";

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const DB = "olelo_test_e2e_bench_workers_shared";
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

async function one(label: string, workers: number, env: Record<string, string>): Promise<void> {
  const BASE = await freePortBlock(20);
  const admin = await freshE2eDatabase(DB);
  try {
    const cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0 });
    const dp = await startDataPlaneProcess({ node: "w-mem", sipPort: BASE + 10, controlPort: BASE + 11, controlPlane: cp.grpcUrl, modules: { prefix_route: {} }, extra: { workers }, env: { OLELO_WORKERS: String(workers), ...env } });
    const applied = async () => (await rpcResult(cp.rpcUrl, "nodes")).find((n: { nodeId: string }) => n.nodeId === "w-mem")?.tables.find((t: { kind: string }) => t.kind === "prefix_route")?.appliedVersion as string | undefined;
    await waitUntil("first version ACKed", async () => !!(await applied()), 60_000, [cp, dp]);
    const before = await rpcResult(dp.rpcUrl, "core.memory");
    const digits = String(ROWS - 1).length;
    await admin.query(`INSERT INTO prefix_route (prefix, route, comment) SELECT CONCAT('49', LPAD(seq, ${digits}, '0')), 'R1', '' FROM seq_0_to_${ROWS - 1}`);
    const created = await rpcResult(cp.rpcUrl, "prefix_route.create", { prefix: "31", route: "R2" });
    const t0 = Date.now();
    await waitUntil("the 1M version ACKed", async () => (await applied()) === created.version, 300_000, [cp, dp]);
    const ackMs = Date.now() - t0;
    // let the garbage of the push (rows, clones) be collected before reading memory
    await new Promise((r) => setTimeout(r, 5000));
    const m = await rpcResult(dp.rpcUrl, "core.memory");
    const shared = workers > 1 ? (await rpcResult(dp.rpcUrl, "core.sync_status")).shared?.prefix_route : undefined;
    const iso = (x: { heapUsed: number; external: number; arrayBuffers: number }) => `heap ${mb(x.heapUsed)}, external ${mb(x.external)}, arrayBuffers ${mb(x.arrayBuffers)}`;
    console.log(`\n## ${label} (workers: ${workers}), ${ROWS.toLocaleString("en")} rows`);
    console.log(`RSS ${mb(m.rss)} (before the push ${mb(before.rss)}); API write → ACK ${(ackMs / 1000).toFixed(1)} s`);
    if (workers === 1) console.log(`process: ${iso(m)}`);
    else {
      console.log(`primary: ${iso(m.primary)}`);
      for (const w of m.workers) console.log(`worker ${w.worker}: ${iso(w)}`);
      console.log(`shared table bytes ${mb(m.sharedTableBytes)}${shared ? `; primary compile ${shared.lastCompileMs} ms, receipt → all workers applied ${shared.lastApplyMs} ms, compiles ${shared.compiles}` : ""}`);
    }
  } finally {
    await stopAllProcesses();
    await dropE2eDatabase(admin, DB);
    await admin.end();
  }
}

const only = process.env.ONLY;
if (!only || only === "1") await one("one process", 1, {});
if (!only || only === "2copy") await one("2 workers, each compiles (before)", 2, { OLELO_SHARED_TABLES: "0" });
if (!only || only === "2shared") await one("2 workers, compiled once, shared", 2, {});
process.exit(0);
