/**
 * Control-plane mode with `workers: 2` (real processes: the control plane on MariaDB
 * olelo_test_e2e_workers_cp, a data plane `data-plane/main.ts` with two worker threads). The
 * primary holds the one sync client and hands each version to both workers:
 * - an lcr version created through the management API reaches both workers (core.worker_stats
 *   answers per worker), and the control plane sees the ACK only once both applied it: worker 1
 *   applies 1.5 s late (test hook OLELO_TEST_TABLE_DELAY), and worker 0 is seen running the new
 *   version while the control plane still waits for the ACK;
 * - a version worker 1 refuses (test hook OLELO_TEST_TABLE_REFUSE: the control plane validates with
 *   the node's compile options, so a real bad row is never pushed) is NACKed with the row named;
 *   worker 0, which had applied it, is rolled back, so both keep the old version; core.sync_status
 *   reports the node as one (one stream, the NACK counted once) with what each worker runs;
 * - a worker restarted by the node gets the current version before it runs again;
 * - a one-row change of a 2,000-row kind (prefix_route, which compiles deltas incrementally) goes
 *   to the workers as the delta itself: each builds the new set from the version it runs and
 *   compiles the changed row only (the restarted worker too, whose base came whole).
 * Ports: a block of 20 from test/kit/ports.ts.
 */
import type mysql from "mysql2/promise";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ROOT,
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
import { freePortBlock } from "./kit/ports.js";

const DB = "olelo_test_e2e_workers_cp";
const BASE = await freePortBlock(20);
const DELAY_MS = 1500;

let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;

interface Lcr {
  appliedVersion: string;
  lastNackVersion: string | null;
  lastNackError?: unknown;
}
const lcrOnCp = async (): Promise<Lcr | undefined> => {
  const nodes = await rpcResult(cp.rpcUrl, "nodes");
  return nodes.find((n: { nodeId: string }) => n.nodeId === "w-cp")?.tables.find((t: { kind: string }) => t.kind === "lcr");
};
/** The lcr version each worker runs, by worker index. */
const perWorker = async (): Promise<Array<{ version: string | null; lastErrorVersion: string | null }>> => {
  const r = await rpcResult<Array<{ worker: number; result: Array<{ version: string | null; lastErrorVersion: string | null }> }>>(dp.rpcUrl, "core.worker_stats", ["core.config_status", ["lcr"]]);
  return r.sort((a, b) => a.worker - b.worker).map((w) => w.result[0]!);
};
const gwsPerWorker = async (): Promise<string[][]> => {
  const r = await rpcResult<Array<{ worker: number; result: Array<{ gw_name: string }> }>>(dp.rpcUrl, "core.worker_stats", ["lcr.load_gws", [1, "4915550001"]]);
  return r.sort((a, b) => a.worker - b.worker).map((w) => w.result.map((g) => g.gw_name));
};

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0 });
  dp = await startDataPlaneProcess({
    node: "w-cp",
    sipPort: BASE + 10,
    controlPort: BASE + 11,
    controlPlane: cp.grpcUrl,
    modules: { lcr: { lcr_count: 1 }, prefix_route: {} }, // lcr_count stricter than the control plane's compile: lcr_id 2 is NACKed
    script: join(ROOT, "test/scripts/cp-lcr.ts"),
    settings: { lcrId: 1 },
    extra: { workers: 2 },
    env: { OLELO_TEST_TABLE_DELAY: `1:${DELAY_MS}`, OLELO_TEST_TABLE_REFUSE: "1:refused-by-1" },
  });
  await waitUntil("2 workers running", async () => (await rpcResult(dp.rpcUrl, "core.workers")).workers.every((w: { state: string }) => w.state === "running"), 30_000, [dp]);
  // the empty versions of every kind, applied by both (worker 1 late) and ACKed
  await waitUntil("the first lcr version ACKed", async () => !!(await lcrOnCp())?.appliedVersion, 20_000, [cp, dp]);
}, 60_000);

afterAll(async () => {
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 30_000);

describe("control plane → data plane with workers: 2", () => {
  let version = "";

  it("a pushed version reaches both workers; the ACK comes only after both applied it", async () => {
    const before = (await lcrOnCp())!.appliedVersion;
    const gw1 = await rpcResult(cp.rpcUrl, "lcr_gw.create", { lcr_id: 1, gw_name: "carrier", ip_addr: "127.0.0.1", port: BASE + 15, transport: 1 });
    const rule = await rpcResult(cp.rpcUrl, "lcr_rule.create", { lcr_id: 1, prefix: "49", stopper: 0, enabled: 1 });
    const t0 = Date.now();
    const last = await rpcResult(cp.rpcUrl, "lcr_rule_target.create", { lcr_id: 1, rule_id: rule.row.id, gw_id: gw1.row.id, priority: 0, weight: 1 });
    version = last.version;
    expect(version).not.toBe(before);
    let worker0Ahead = false;
    await waitUntil("the control plane to see the ACK", async () => {
      const [acked, ws] = await Promise.all([lcrOnCp(), perWorker()]);
      if (acked?.appliedVersion === version) return true;
      if (ws[0]!.version === version && ws[1]!.version !== version) worker0Ahead = true;
      return false;
    }, 20_000, [cp, dp]);
    const ackMs = Date.now() - t0;
    // at the ACK both workers run it (worker 1 applied DELAY_MS late)
    expect((await perWorker()).map((w) => w.version)).toEqual([version, version]);
    expect(worker0Ahead, "worker 0 ran the version while the ACK still waited for worker 1").toBe(true);
    expect(ackMs).toBeGreaterThanOrEqual(DELAY_MS - 200);
    expect(await gwsPerWorker()).toEqual([["carrier"], ["carrier"]]);
    const st = await rpcResult(dp.rpcUrl, "core.sync_status");
    expect(st).toMatchObject({ connected: true, versions: { lcr: version }, workers: [{ worker: 0, versions: { lcr: version } }, { worker: 1, versions: { lcr: version } }] });
    console.info(`[workers cp] lcr version ACKed ${ackMs} ms after the API write (worker 1 delayed ${DELAY_MS} ms)`);
  }, 40_000);

  it("a version one worker refuses is NACKed with the row named; the other is rolled back, both keep the old version", async () => {
    const acksBefore = (await rpcResult(dp.rpcUrl, "core.sync_status")).acks as number;
    // the control plane compiles it (valid row, the node's compile options); worker 1 refuses it (test hook)
    const gw = await rpcResult(cp.rpcUrl, "lcr_gw.create", { lcr_id: 1, gw_name: "refused-by-1", ip_addr: "127.0.0.1", port: BASE + 16, transport: 1 });
    expect(gw.version).not.toBe(version);
    await waitUntil("the NACK at the control plane", async () => (await lcrOnCp())?.lastNackVersion === gw.version, 20_000, [cp, dp]);
    expect(await lcrOnCp()).toMatchObject({ appliedVersion: version, lastNackVersion: gw.version, lastNackError: { reason: "INVALID_ROW", table: "lcr_gw", row: gw.row.id, detail: "test hook: worker 1 refuses 'refused-by-1'" } });
    // worker 0 had applied it (worker 1 answered 1.5 s later) and was given the old version back
    expect((await perWorker()).map((w) => w.version)).toEqual([version, version]);
    expect(await gwsPerWorker()).toEqual([["carrier"], ["carrier"]]);
    const st = await rpcResult(dp.rpcUrl, "core.sync_status");
    expect(st).toMatchObject({ versions: { lcr: version }, nacks: 1, acks: acksBefore, reconnects: 0 });
  }, 40_000);

  it("a restarted worker gets the current version before it runs again", async () => {
    await rpcResult(dp.rpcUrl, "core.worker_restart", [0]);
    await waitUntil("worker 0 restarted and running", async () => {
      const w = (await rpcResult(dp.rpcUrl, "core.workers")).workers;
      return w[0].restarts === 1 && w[0].state === "running";
    }, 20_000, [dp]);
    expect((await perWorker()).map((w) => w.version)).toEqual([version, version]);
    expect(await gwsPerWorker()).toEqual([["carrier"], ["carrier"]]);
    expect((await rpcResult(dp.rpcUrl, "core.sync_status")).versions).toMatchObject({ lcr: version });
  }, 30_000);

  it("a one-row change of a big kind reaches both workers as a delta, built and compiled incrementally in each", async () => {
    const routes = async () => {
      const r = await rpcResult<Array<{ worker: number; result: { version: string | null; rows: number }[] }>>(dp.rpcUrl, "core.worker_stats", ["core.config_status", ["prefix_route"]]);
      return r.sort((a, b) => a.worker - b.worker).map((w) => w.result[0]!);
    };
    await admin.query("INSERT INTO prefix_route (prefix, route, comment) SELECT CONCAT('49', LPAD(seq, 5, '0')), 'R1', '' FROM seq_0_to_1999");
    const first = await rpcResult(cp.rpcUrl, "prefix_route.create", { prefix: "4999999", route: "R2" });
    await waitUntil("both workers run the 2,001 routes", async () => (await routes()).every((w) => w.version === first.version && w.rows === 2001), 20_000, [cp, dp]);
    const before = (await rpcResult(dp.rpcUrl, "core.sync_status")).deltas;
    const second = await rpcResult(cp.rpcUrl, "prefix_route.create", { prefix: "4988888", route: "R3" });
    await waitUntil("the delta ACKed", async () => (await rpcResult(dp.rpcUrl, "core.sync_status")).versions.prefix_route === second.version, 20_000, [cp, dp]);
    expect(await routes()).toEqual([expect.objectContaining({ version: second.version, rows: 2002 }), expect.objectContaining({ version: second.version, rows: 2002 })]);
    const st = await rpcResult(dp.rpcUrl, "core.sync_status");
    expect(st.lastReceived.prefix_route).toMatchObject({ mode: "delta", ok: true });
    expect(st.deltas).toMatchObject({ applied: before.applied + 1, incremental: before.incremental + 1, baseMismatches: 0, resultMismatches: 0 });
    // no worker needed the whole set (it would have said so)
    expect(dp.log()).not.toContain("could not apply a delta");
  }, 40_000);
});
