/**
 * Issue 4, control-plane outage, with real processes, MariaDB (olelo_test_e2e_out) and sipp:
 * the control-plane process is killed (SIGKILL); both data-plane processes keep routing by their
 * tables; one data plane is killed and started again while the control plane is down and routes
 * from its table cache; the set is changed with SQL meanwhile; when the control plane starts again
 * both data planes converge to the newest version (`core.config_status` on each, `nodes` on the
 * control plane) and calls follow it. The change check is off: the restart's own compile is what
 * picks up the SQL change.
 *
 * Ports: a block of 50 from test/kit/ports.ts (freePortBlock).
 */
import type mysql from "mysql2/promise";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  type DataPlaneOptions,
  type DataPlaneProcess,
} from "./helpers/processes.js";
import { runSipp } from "./helpers/sipp.js";
import { startTracedUas, type TracedUas } from "./scripts/dispatcher-support.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(50); // this file's ports: BASE … BASE + 49
const DB = "olelo_test_e2e_out";
const CP = { db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0 };
const UAS_A = BASE + 20;
const UAS_B = BASE + 21;
let uacPort = BASE + 30;

let admin: mysql.Connection;
let cp: ControlPlaneProcess | null = null;
const dps: DataPlaneProcess[] = [];
const dpOpts: DataPlaneOptions[] = [];
const uas: TracedUas[] = [];

interface NodeStatus {
  nodeId: string;
  connected: boolean;
  tables: Array<{ kind: string; appliedVersion: string | null; pending: boolean }>;
}

/** `n` calls through every data plane; all must be answered by `target` and none by `other`. */
async function expectRoutedTo(target: TracedUas, other: TracedUas, tag: string, n = 5): Promise<void> {
  const runs = await Promise.all(
    dps.map((dp, i) => runSipp({ scenario: "uac_rr.xml", port: uacPort++, remote: `127.0.0.1:${dp.sipPort}`, calls: n, rate: 10, service: `${tag}${i}x`, timeoutS: 30 })),
  );
  for (const r of runs) expect([r.successful, r.failed], r.errors || r.stderr).toEqual([n, 0]);
  for (let i = 0; i < dps.length; i++) {
    expect(target.invites(`${tag}${i}x`)).toHaveLength(n);
    expect(other.invites(`${tag}${i}x`)).toHaveLength(0);
  }
}

async function convergedTo(version: string, timeoutMs: number): Promise<number> {
  return waitUntil(
    `both data planes and nodes() at dispatcher ${version}`,
    async () => {
      for (const dp of dps) if ((await dp.version("dispatcher")) !== version) return false;
      const nodes = await rpcResult<NodeStatus[]>(cp!.rpcUrl, "nodes");
      return dps.every((dp) => {
        const t = nodes.find((n) => n.nodeId === dp.node && n.connected)?.tables.find((x) => x.kind === "dispatcher");
        return t?.appliedVersion === version && !t.pending;
      });
    },
    timeoutMs,
    [...(cp ? [cp] : []), ...dps],
  );
}

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  uas.push(await startTracedUas(UAS_A), await startTracedUas(UAS_B));
  cp = await startControlPlaneProcess(CP);
  dpOpts.push(
    { node: "e2e-out-a", sipPort: BASE + 10, controlPort: BASE + 11, controlPlane: cp.grpcUrl, dir: mkdtempSync(join(tmpdir(), "olelo-e2e-out-a-")) },
    { node: "e2e-out-b", sipPort: BASE + 12, controlPort: BASE + 13, controlPlane: cp.grpcUrl },
  );
  dps.push(...(await Promise.all(dpOpts.map((o) => startDataPlaneProcess(o)))));
}, 110_000);

afterAll(async () => {
  await stopAllProcesses();
  for (const u of uas) await u.stop();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 40_000);

describe("control-plane outage (real processes, MariaDB, sipp)", () => {
  let v1 = "";

  it("with a set pushed through the API, the control plane is killed: both data planes keep routing by it", async () => {
    const created = await rpcResult(cp!.rpcUrl, "dispatcher.create", { setid: 1, destination: `sip:127.0.0.1:${UAS_A}` });
    v1 = created.version;
    await convergedTo(v1, 15_000);
    await expectRoutedTo(uas[0]!, uas[1]!, "up");

    await cp!.stop("SIGKILL");
    cp = null;
    for (const dp of dps) {
      await waitUntil(`${dp.node} to notice the control plane is gone`, async () => (await rpcResult(dp.rpcUrl, "core.sync_status")).connected === false, 20_000, dps);
    }
    await expectRoutedTo(uas[0]!, uas[1]!, "down");
    for (const dp of dps) {
      const st = await rpcResult(dp.rpcUrl, "core.config_status", ["dispatcher"]);
      expect(st[0]).toMatchObject({ version: v1, rows: 1, source: "control-plane" });
    }
  }, 60_000);

  it("a data plane killed and started again while the control plane is down routes from its cache", async () => {
    const old = dps[0]!;
    await old.stop("SIGKILL");
    const again = await startDataPlaneProcess(dpOpts[0]!);
    dps[0] = again;
    expect(again.proc.pid).not.toBe(old.proc.pid);
    const st = await rpcResult(again.rpcUrl, "core.config_status", ["dispatcher"]);
    expect(st[0]).toMatchObject({ kind: "dispatcher", version: v1, rows: 1, source: "cache" });
    const sync = await rpcResult(again.rpcUrl, "core.sync_status");
    expect(sync).toMatchObject({ connected: false, cache: { loaded: expect.arrayContaining([{ kind: "dispatcher", version: v1, rows: 1 }]), errors: [] } });
    await expectRoutedTo(uas[0]!, uas[1]!, "cache");
  }, 90_000);

  it("the set changed with SQL while the control plane was down: started again, it serves the newest version and both data planes converge to it", async () => {
    await admin.query("UPDATE dispatcher SET destination = ? WHERE setid = 1", [`sip:127.0.0.1:${UAS_B}`]);
    await expectRoutedTo(uas[0]!, uas[1]!, "stale"); // nothing can push it yet

    cp = await startControlPlaneProcess(CP);
    const served = (await rpcResult(cp.rpcUrl, "status")).kinds.find((k: { kind: string }) => k.kind === "dispatcher");
    expect(served).toMatchObject({ rows: 1, lastError: null });
    const v2: string = served.version;
    expect(v2).not.toBe(v1);
    // data plane b has been backing off since the kill (up to several seconds between attempts)
    const ms = await convergedTo(v2, 45_000);
    console.info(`[control-plane e2e] control plane back: both data planes at the newest dispatcher version ${ms} ms after its API answered`);
    for (const dp of dps) {
      const st = await rpcResult(dp.rpcUrl, "core.config_status", ["dispatcher"]);
      expect(st[0]).toMatchObject({ version: v2, rows: 1, source: "control-plane", lastError: null });
      expect(await rpcResult(dp.rpcUrl, "core.sync_status")).toMatchObject({ connected: true, state: "connected" });
    }
    const nodes = await rpcResult<NodeStatus[]>(cp.rpcUrl, "nodes");
    expect(nodes.map((n) => [n.nodeId, n.connected, n.tables.find((t) => t.kind === "dispatcher")?.appliedVersion]).sort()).toEqual([
      ["e2e-out-a", true, v2],
      ["e2e-out-b", true, v2],
    ]);
    await expectRoutedTo(uas[1]!, uas[0]!, "new");
  }, 90_000);
});
