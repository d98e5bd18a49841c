/**
 * A 1M-row table push while calls run, control-plane mode with `workers: 2` (issue 19,
 * "Correctness under workers"): the control plane on MariaDB olelo_test_e2e_workers_push, a data
 * plane (`data-plane/main.ts`, default script relaying every call to a sipp UAS) whose primary holds
 * the one sync client. A sipp UAC (one socket per call, so both workers take calls) runs at a steady
 * rate from before the push until after the ACK; the rows are made by `INSERT … SELECT … FROM
 * seq_0_to_N` and one management API write publishes the version. Checked: 0 failed calls, both
 * workers took INVITEs while the push was under way (from the API write's answer to the ACK), the
 * control plane sees the ACK only with both workers running the version with every row
 * (core.worker_stats core.config_status).
 * Rows: OLELO_TEST_PUSH_ROWS (default 1,000,000: ~25 s on a 2-core VM; far fewer rows make the push
 * too short for the "both workers took INVITEs during it" check). Ports: a block of 20 from test/kit/ports.ts.
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
import { startSippServer, type SippServer } from "./helpers/sipp.js";
import { freePortBlock } from "./kit/ports.js";

const DB = "olelo_test_e2e_workers_push";
const ROWS = Number(process.env.OLELO_TEST_PUSH_ROWS ?? 1_000_000);
const RATE = 25; // calls/s offered during the whole push
const BASE = await freePortBlock(20);
const UAS = BASE + 5;

let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;
let uas: SippServer;

const appliedOnCp = async (): Promise<string | undefined> => {
  const nodes = await rpcResult(cp.rpcUrl, "nodes");
  return nodes.find((n: { nodeId: string }) => n.nodeId === "w-push")?.tables.find((t: { kind: string }) => t.kind === "prefix_route")?.appliedVersion;
};
/** prefix_route version and row count each worker runs, by worker index. */
const routesPerWorker = async (): Promise<Array<{ version: string | null; rows: number }>> => {
  const r = await rpcResult<Array<{ worker: number; result: Array<{ version: string | null; rows: number }> }>>(dp.rpcUrl, "core.worker_stats", ["core.config_status", ["prefix_route"]]);
  return r.sort((a, b) => a.worker - b.worker).map((w) => w.result[0]!);
};
const invitesPerWorker = async (): Promise<number[]> => {
  const r = await rpcResult<Array<{ worker: number; result: string[] }>>(dp.rpcUrl, "core.worker_stats", ["stats.get_statistics", ["core:rcv_requests_invite"]]);
  return r.sort((a, b) => a.worker - b.worker).map((w) => Number(w.result[0]?.split(" = ")[1] ?? 0));
};

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0 });
  dp = await startDataPlaneProcess({
    node: "w-push",
    sipPort: BASE + 10,
    controlPort: BASE + 11,
    controlPlane: cp.grpcUrl,
    modules: { prefix_route: {} },
    settings: { nextHop: `sip:127.0.0.1:${UAS}` },
    extra: { workers: 2 },
  });
  await waitUntil("2 workers running", async () => (await rpcResult(dp.rpcUrl, "core.workers")).workers.every((w: { state: string }) => w.state === "running"), 30_000, [dp]);
  await waitUntil("the first prefix_route version ACKed", async () => !!(await appliedOnCp()), 20_000, [cp, dp]);
  uas = await startSippServer({ scenario: "uas_rr.xml", port: UAS, timeoutS: 600 });
}, 90_000);

afterAll(async () => {
  await uas?.stop();
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 30_000);

describe(`a ${ROWS.toLocaleString("en")}-row prefix_route push with workers: 2 while calls run`, () => {
  it("reaches both workers and is ACKed once both run it; sipp's calls at a steady rate during the whole push: 0 failed", async () => {
    const uac = await startSippServer({ scenario: "uac_rr.xml", port: BASE + 6, remote: `127.0.0.1:${BASE + 10}`, rate: RATE, service: "bob", transport: "un", timeoutS: 600, extra: ["-max_socket", "2000"] });
    try {
      await waitUntil("calls before the push", () => uac.stats().successful >= RATE, 20_000, [dp]);
      const t0 = Date.now();
      const digits = String(ROWS - 1).length;
      await admin.query(`INSERT INTO prefix_route (prefix, route, comment) SELECT CONCAT('49', LPAD(seq, ${digits}, '0')), 'R1', '' FROM seq_0_to_${ROWS - 1}`);
      const tInsert = Date.now();
      const created = await rpcResult(cp.rpcUrl, "prefix_route.create", { prefix: "31", route: "R2" });
      const tApi = Date.now();
      const inv0 = await invitesPerWorker();
      let atAck: Array<{ version: string | null; rows: number }> = [];
      await waitUntil("the control plane to see the ACK", async () => {
        if ((await appliedOnCp()) !== created.version) return false;
        atAck = await routesPerWorker();
        return true;
      }, 120_000, [cp, dp]);
      const tAck = Date.now();
      const inv1 = await invitesPerWorker();
      // the ACK came with both workers running the version, every row in each
      expect(atAck).toEqual([
        { version: created.version, rows: ROWS + 1 },
        { version: created.version, rows: ROWS + 1 },
      ].map((w) => expect.objectContaining(w)));
      const during = inv1.map((v, i) => v - inv0[i]!);
      expect(during.every((v) => v > 0), `INVITEs per worker during the push: ${during.join(", ")}`).toBe(true);
      const okAtAck = uac.stats().successful;
      await waitUntil("calls after the ACK", () => uac.stats().successful >= okAtAck + RATE, 20_000, [dp]);
      const r = await uac.stop();
      expect(r.failed, r.errors + r.stderr).toBe(0);
      expect(r.successful).toBeGreaterThan(0);
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      // the worst event-loop stall of either worker since it started (a figure, not an assertion)
      const metrics = await (await fetch(`http://127.0.0.1:${BASE + 11}/metrics`)).text();
      const stall = /olelo_event_loop_delay_max_seconds\{[^}]*window="start"[^}]*\} ([\d.e+-]+)/.exec(metrics);
      expect(stall, "the event-loop stall gauge is served").not.toBeNull();
      console.info(
        `[workers push] ${ROWS} rows: INSERT ${s(tInsert - t0)}, API write (control plane compile) ${s(tApi - tInsert)}, ` +
          `push to the ACK ${s(tAck - tApi)}; ${r.successful} calls, ${r.failed} failed, ${r.retransmissions} retransmissions; ` +
          `INVITEs per worker during the push ${during.join(" / ")}; longest worker event-loop stall ${s(Number(stall![1]) * 1000)}`,
      );
    } finally {
      await uac.stop();
    }
  }, 240_000);
});
