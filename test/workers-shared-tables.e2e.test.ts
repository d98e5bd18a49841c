/**
 * prefix_route compiled once per node and shared by the workers (issue 19: "Tables compiled once
 * per node … typed arrays in shared memory"): the control plane on MariaDB
 * olelo_test_e2e_workers_shared, a data plane (`data-plane/main.ts`) with `workers: 2` whose
 * primary compiles each pushed prefix_route version into SharedArrayBuffers and posts them to the
 * workers. Checked: per version the node compiles once (core.sync_status `shared.prefix_route`
 * compiles + deltaCompiles grows by one) and no worker compiles (core.shared_tables
 * `localCompiles` 0, its tree on shared memory); both workers answer by the new table
 * (prefix_route.dump, `prefix_route:prefixes`); a delta reaches both and its overlay is folded once
 * into a new shared tree; a restarted worker attaches the current version. Without the sharing
 * (OLELO_SHARED_TABLES=0) localCompiles is 1 per worker per version and `shared` is false: the
 * test fails. Ports: a block of 20 from test/kit/ports.ts.
 */
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
} from "./helpers/processes.js";
import { sharedTableReaders } from "./helpers/shared-tables.js";
import { freePortBlock } from "./kit/ports.js";

const DB = "olelo_test_e2e_workers_shared";
const BASE = await freePortBlock(20);

let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;

const { perWorker, appliedOnCp, nodeShared, attachedPerWorker } = sharedTableReaders(() => cp.rpcUrl, () => dp.rpcUrl, "w-shared", "prefix_route");
const dumps = async (): Promise<string> => (await perWorker<string[]>("prefix_route.dump")).map((l) => l.join("\n")).join("\n=====\n");
const prefixesPerWorker = async (): Promise<number[]> =>
  (await perWorker<string[]>("stats.get_statistics", ["prefix_route:prefixes"])).map((r) => Number(r[0]?.split(" = ")[1] ?? -1));

const push = async (prefix: string, route: string): Promise<string> => {
  const created = await rpcResult(cp.rpcUrl, "prefix_route.create", { prefix, route });
  await waitUntil(`version ${created.version} ACKed`, async () => (await appliedOnCp()) === created.version, 30_000, [cp, dp]);
  return created.version as string;
};

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0 });
  dp = await startDataPlaneProcess({
    node: "w-shared",
    sipPort: BASE + 10,
    controlPort: BASE + 11,
    controlPlane: cp.grpcUrl,
    modules: { prefix_route: {} },
    extra: { workers: 2 },
  });
  await waitUntil("2 workers running", async () => (await rpcResult(dp.rpcUrl, "core.workers")).workers.every((w: { state: string }) => w.state === "running"), 30_000, [dp]);
  await waitUntil("the first prefix_route version ACKed", async () => !!(await appliedOnCp()), 20_000, [cp, dp]);
}, 90_000);

afterAll(async () => {
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 30_000);

describe("prefix_route with workers: 2, compiled once in shared memory", () => {
  it("a full version: one compile for the node, both workers attach it (no compile of their own) and answer by it", async () => {
    const s0 = await nodeShared();
    await admin.query(`INSERT INTO prefix_route (prefix, route, comment) SELECT CONCAT('49', LPAD(seq, 4, '0')), 'R1', '' FROM seq_0_to_4999`);
    const version = await push("31", "R2");
    const s1 = await nodeShared();
    expect(s1.version).toBe(version);
    expect(s1.compiles + s1.deltaCompiles - s0.compiles - s0.deltaCompiles, "compiles by the node for one version").toBe(1);
    expect(s1.bytes).toBeGreaterThan(0);
    const att = await attachedPerWorker();
    expect(att).toEqual([0, 1].map(() => expect.objectContaining({ version, shared: true, localCompiles: 0, bytes: s1.bytes })));
    expect(await prefixesPerWorker()).toEqual([5001, 5001]);
    const d = await dumps();
    expect(d.split("=====").every((w) => w.includes("--> route[R2]") && w.includes("--> route[R1]"))).toBe(true);
    const mem = await rpcResult(dp.rpcUrl, "core.memory");
    expect(mem.sharedTableBytes).toBe(s1.bytes);
    expect(mem.workers).toHaveLength(2);
  }, 60_000);

  it("a delta applies on both workers, compiled once; its overlay is folded once into a new shared tree", async () => {
    const s0 = await nodeShared();
    const version = await push("32", "R3");
    const s1 = await nodeShared();
    expect(s1.compiles + s1.deltaCompiles - s0.compiles - s0.deltaCompiles).toBe(1);
    expect(await prefixesPerWorker()).toEqual([5002, 5002]);
    expect((await dumps()).split("=====").every((w) => w.includes("--> route[R3]"))).toBe(true);
    expect((await attachedPerWorker()).map((a) => [a.version, a.localCompiles])).toEqual([[version, 0], [version, 0]]);
    if (s1.deltaCompiles > s0.deltaCompiles) {
      // the overlay is folded by the primary once, then both workers swap to the folded tree
      await waitUntil("the overlay folded on both workers", async () => (await attachedPerWorker()).every((a) => a.folds > 0), 20_000, [dp]);
      const s2 = await nodeShared();
      expect(s2.folds).toBe(s1.folds + 1);
      expect(await perWorker<string[]>("stats.get_statistics", ["prefix_route:overlay_prefixes"])).toEqual([["prefix_route:overlay_prefixes = 0"], ["prefix_route:overlay_prefixes = 0"]]);
      expect(await prefixesPerWorker()).toEqual([5002, 5002]);
    }
  }, 60_000);

  it("a restarted worker attaches the version the node runs and answers by it", async () => {
    const s0 = await nodeShared();
    await rpcResult(dp.rpcUrl, "core.worker_restart", [1]);
    await waitUntil("worker 1 restarted and running", async () => {
      const w = (await rpcResult(dp.rpcUrl, "core.workers")).workers;
      return w[1].restarts === 1 && w[1].state === "running";
    }, 20_000, [dp]);
    const att = await attachedPerWorker();
    expect(att[1]).toEqual(expect.objectContaining({ version: s0.version, shared: true, localCompiles: 0, attaches: 1 }));
    expect(await prefixesPerWorker()).toEqual([5002, 5002]);
    expect((await dumps()).split("=====")[1]).toContain("--> route[R3]");
    const s1 = await nodeShared();
    expect(s1.compiles + s1.deltaCompiles).toBe(s0.compiles + s0.deltaCompiles);
  }, 60_000);
});
