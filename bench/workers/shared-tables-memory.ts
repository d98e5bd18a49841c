/**
 * Memory of a node with 1M prefix_route rows pushed by the control plane, and the time from the
 * push to the ACK, for `workers: 1`, `workers: 2` with each worker compiling its own copy
 * (OLELO_SHARED_TABLES=0: the code path before the shared tables) and `workers: 2` compiling once
 * into shared memory (core/workers/README.md "Tables compiled once, shared").
 *   npx tsx bench/workers/shared-tables-memory.ts        (ROWS=1000000; needs the test MariaDB)
 *   KIND=drouting npx tsx bench/workers/shared-tables-memory.ts   (dr_rules: ROWS rules, 2 gateways, one group)
 *   SETTLE_MS (5000): wait after the ACK before memory is read
 * Prints per configuration: process RSS, each isolate's heap used / external / array buffers,
 * shared table bytes (core.memory), API write → ACK, and the primary's receipt → all applied.
 */
import { dropE2eDatabase, freshE2eDatabase, rpcResult, startControlPlaneProcess, startDataPlaneProcess, stopAllProcesses, waitUntil } from "../../test/helpers/processes.js";
import { freePortBlock } from "../../test/kit/ports.js";

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const KIND = process.env.KIND ?? "prefix_route";
if (KIND !== "prefix_route" && KIND !== "drouting") throw new Error("KIND must be prefix_route or drouting");

/** The kind's module, its big table filled in SQL, and one API write that makes the version. */
const KINDS = {
  prefix_route: {
    modules: { prefix_route: {} },
    fill: (digits: number) => [`INSERT INTO prefix_route (prefix, route, comment) SELECT CONCAT('49', LPAD(seq, ${digits}, '0')), 'R1', '' FROM seq_0_to_${ROWS - 1}`],
    create: ["prefix_route.create", { prefix: "31", route: "R2" }],
  },
  drouting: {
    modules: { drouting: { timezone: "UTC" } },
    fill: (digits: number) => [
      "INSERT INTO dr_gateways (gwid, type, address, strip, pri_prefix, attrs, description) VALUES (1, 0, '127.0.0.1:5070', 0, '', '', 'A'), (2, 0, '127.0.0.1:5071', 0, '', '', 'B')",
      // rule texts as in real tables: a few gwlists, some route ids and time recurrences
      `INSERT INTO dr_rules (ruleid, groupid, prefix, timerec, priority, routeid, gwlist, description) SELECT seq + 1, IF(seq % 10 = 0, '1,2', '1'), CONCAT('49', LPAD(seq, ${digits}, '0')), IF(seq % 7 = 0, '20240101T080000|10H|weekly|||MO,TU,WE,TH,FR', ''), seq % 3, IF(seq % 5 = 0, 'R1', ''), IF(seq % 2 = 0, '1,2', '2;1'), '' FROM seq_0_to_${ROWS - 1}`,
    ],
    create: ["dr_rules.create", { ruleid: ROWS + 1, groupid: "1", prefix: "31", timerec: "", priority: 0, routeid: "", gwlist: "2", description: "" }],
  },
} as const;
const K = KINDS[KIND as keyof typeof KINDS];
const DB = "olelo_test_e2e_bench_workers_shared";
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

async function one(label: string, workers: number, env: Record<string, string>): Promise<void> {
  const BASE = await freePortBlock(20);
  const admin = await freshE2eDatabase(DB);
  try {
    const cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0 });
    const dp = await startDataPlaneProcess({ node: "w-mem", sipPort: BASE + 10, controlPort: BASE + 11, controlPlane: cp.grpcUrl, modules: K.modules, extra: { workers }, env: { OLELO_WORKERS: String(workers), ...env } });
    const applied = async () => (await rpcResult(cp.rpcUrl, "nodes")).find((n: { nodeId: string }) => n.nodeId === "w-mem")?.tables.find((t: { kind: string }) => t.kind === KIND)?.appliedVersion as string | undefined;
    await waitUntil("first version ACKed", async () => !!(await applied()), 60_000, [cp, dp]);
    const before = await rpcResult(dp.rpcUrl, "core.memory");
    const digits = String(ROWS - 1).length;
    for (const sql of K.fill(digits)) await admin.query(sql);
    const created = await rpcResult(cp.rpcUrl, K.create[0], K.create[1]);
    const t0 = Date.now();
    await waitUntil("the 1M version ACKed", async () => (await applied()) === created.version, 300_000, [cp, dp]);
    const ackMs = Date.now() - t0;
    // let the garbage of the push (rows, clones) be collected before reading memory
    await new Promise((r) => setTimeout(r, Number(process.env.SETTLE_MS ?? 5000)));
    const m = await rpcResult(dp.rpcUrl, "core.memory");
    const shared = workers > 1 ? (await rpcResult(dp.rpcUrl, "core.sync_status")).shared?.[KIND] : undefined;
    const iso = (x: { heapUsed: number; external: number; arrayBuffers: number }) => `heap ${mb(x.heapUsed)}, external ${mb(x.external)}, arrayBuffers ${mb(x.arrayBuffers)}`;
    console.log(`\n## ${KIND}: ${label} (workers: ${workers}), ${ROWS.toLocaleString("en")} rows`);
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
