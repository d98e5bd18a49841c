/**
 * Issue 4 end to end with real processes, a real MariaDB and sipp: the control plane
 * (`npx tsx control-plane/main.ts`, database olelo_test_e2e_ds, change check OFF so only the
 * management API's own push can deliver a change) and two data planes
 * (`npx tsx data-plane/main.ts --config …`: dispatcher module, default script with
 * `dispatcherSet: 1`, tables from the control plane).
 *
 * - a dispatcher set created with JSON-RPC `dispatcher.create` is routed by both running data
 *   planes within a second (measured from the API request to the first INVITE the UAS received,
 *   while sipp calls flow the whole time), no restart;
 * - both data planes converge to the same version (`core.config_status` on each, `nodes` on the
 *   control plane);
 * - an invalid row through the API is refused (422, {kind, table, row, reason}); one inserted
 *   with SQL is refused by `push` and shown by `status` with its row; the data planes keep the old
 *   table and keep routing calls by it.
 *
 * Ports: a block of 50 from test/kit/ports.ts (freePortBlock).
 */
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropE2eDatabase, freshE2eDatabase, jsonRpc, rpcResult, startControlPlaneProcess, startDataPlaneProcess, stopAllProcesses, waitUntil, type ControlPlaneProcess, type DataPlaneProcess } from "./helpers/processes.js";
import { runSipp } from "./helpers/sipp.js";
import { startTracedUas, type TracedUas } from "./scripts/dispatcher-support.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const DB = "olelo_test_e2e_ds";
const BASE = await freePortBlock(50); // this file's ports: BASE … BASE + 49
const CP_API = BASE + 1;
const CP_GRPC = BASE + 2;
const UAS_A = BASE + 20;
const UAS_B = BASE + 21;
let uacPort = BASE + 30; // each sipp UAC run gets its own local port (BASE + 30 … BASE + 49)

let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dps: DataPlaneProcess[] = [];
const uas: TracedUas[] = [];

interface NodeTable {
  kind: string;
  appliedVersion: string | null;
  pending: boolean;
  lastNackVersion: string | null;
}
interface NodeStatus {
  nodeId: string;
  connected: boolean;
  tables: NodeTable[];
}

const dispatcherOf = (n: NodeStatus | undefined) => n?.tables.find((t) => t.kind === "dispatcher");

/** Kind `dispatcher` as the control plane serves it (`status`). */
async function servedDispatcher(): Promise<{ version: string | null; rows: number; lastError: { table: string; row: unknown; reason: string } | null; held: boolean; refused: unknown[] }> {
  const st = await rpcResult(cp.rpcUrl, "status");
  return st.kinds.find((k: { kind: string }) => k.kind === "dispatcher");
}

/** Waits until every data plane runs `version` and the control plane's `nodes` shows it ACKed by all. */
async function converged(version: string): Promise<void> {
  await waitUntil(
    `both data planes and nodes() to report dispatcher ${version}`,
    async () => {
      for (const dp of dps) if ((await dp.version("dispatcher")) !== version) return false;
      const nodes = await rpcResult<NodeStatus[]>(cp.rpcUrl, "nodes");
      return dps.every((dp) => {
        const t = dispatcherOf(nodes.find((n) => n.nodeId === dp.node && n.connected));
        return t?.appliedVersion === version && !t.pending;
      });
    },
    15_000,
    [cp, ...dps],
  );
}

/** Runs `calls` sipp calls (uac_rr.xml, R-URI user `tag`) through `dp`. */
async function calls(dp: DataPlaneProcess, tag: string, n = 5) {
  return runSipp({ scenario: "uac_rr.xml", port: uacPort++, remote: `127.0.0.1:${dp.sipPort}`, calls: n, rate: 10, service: tag, timeoutS: 30 });
}

/** `n` calls through each data plane, all answered by `target` (checked at both UAS). */
async function expectRoutedTo(target: TracedUas, other: TracedUas, tag: string, n = 5): Promise<void> {
  const runs = await Promise.all(dps.map((dp, i) => calls(dp, `${tag}${i}x`, n)));
  for (const r of runs) expect([r.successful, r.failed], r.errors || r.stderr).toEqual([n, 0]);
  for (let i = 0; i < dps.length; i++) {
    expect(target.invites(`${tag}${i}x`)).toHaveLength(n);
    expect(other.invites(`${tag}${i}x`)).toHaveLength(0);
  }
}

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  uas.push(await startTracedUas(UAS_A), await startTracedUas(UAS_B));
  cp = await startControlPlaneProcess({ db: DB, apiPort: CP_API, grpcPort: CP_GRPC, pollMs: 0 });
  dps = await Promise.all([
    startDataPlaneProcess({ node: "e2e-ds-a", sipPort: BASE + 10, controlPort: BASE + 11, controlPlane: cp.grpcUrl }),
    startDataPlaneProcess({ node: "e2e-ds-b", sipPort: BASE + 12, controlPort: BASE + 13, controlPlane: cp.grpcUrl }),
  ]);
  // the migrated database's empty dispatcher table is version 1 on both
  const empty = (await servedDispatcher()).version!;
  await converged(empty);
}, 110_000);

afterAll(async () => {
  await stopAllProcesses();
  for (const u of uas) await u.stop();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 40_000);

describe("control plane → data planes, dispatcher (real processes, MariaDB, sipp)", () => {
  let v1 = "";

  it("a set created through the management API is routed by both running data planes within a second, without restart", async () => {
    const [a, b] = dps as [DataPlaneProcess, DataPlaneProcess];
    // nothing in set 1: calls get 404 "No destination"
    const none = await runSipp({ scenario: "uac_expect.xml", port: uacPort++, remote: `127.0.0.1:${a.sipPort}`, calls: 1, templ: { code: "404" }, timeoutS: 20 });
    expect([none.successful, none.failed], none.errors).toEqual([1, 0]);

    // calls flow through both data planes the whole time (404 until the set arrives, then routed)
    const CALLS = 80;
    const RATE = 20;
    const traffic = [a, b].map((dp, i) =>
      runSipp({ scenario: "ds_uac_or_404.xml", port: uacPort++, remote: `127.0.0.1:${dp.sipPort}`, calls: CALLS, rate: RATE, service: `lat${i}x`, timeoutS: 40 }),
    );
    await letTimePass(1200, "traffic runs before the change");
    const pidsBefore = dps.map((dp) => dp.proc.pid);
    const t0 = Date.now();
    const created = await jsonRpc(cp.rpcUrl, "dispatcher.create", { setid: 1, destination: `sip:127.0.0.1:${UAS_A}`, description: "e2e set 1" });
    const apiMs = Date.now() - t0;
    expect(created.error).toBeUndefined();
    expect(created.result).toMatchObject({ kind: "dispatcher", version: expect.stringMatching(/^[0-9a-f]{16}$/), row: { setid: 1 } });
    v1 = created.result.version;
    const done = await Promise.all(traffic);
    for (const r of done) expect([r.successful, r.failed], r.errors || r.stderr).toEqual([CALLS, 0]);

    const latencies = [0, 1].map((i) => {
      const inv = uas[0]!.invites(`lat${i}x`);
      // no call reached the UAS before the write; after the first one, every later call did
      expect(inv.length).toBeGreaterThan(0);
      expect(inv[0]!.at).toBeGreaterThanOrEqual(t0 - 5); // trace clock: µs stamp, local time
      expect(inv.length).toBeGreaterThanOrEqual(Math.floor(((CALLS / RATE) * 1000 - 1200 - 1000) / (1000 / RATE)));
      return inv[0]!.at - t0;
    });
    console.info(`[control-plane e2e] dispatcher.create answered in ${apiMs} ms; API request → first routed INVITE at the UAS: ${latencies.map((l, i) => `${dps[i]!.node} ${l} ms`).join(", ")}`);
    for (const l of latencies) expect(l).toBeLessThan(1000);
    expect(dps.map((dp) => dp.proc.pid)).toEqual(pidsBefore); // same processes: no restart
    await converged(v1);
    const st = await rpcResult(a.rpcUrl, "core.config_status", ["dispatcher"]);
    expect(st[0]).toMatchObject({ kind: "dispatcher", version: v1, rows: 1, source: "control-plane", lastError: null });
  }, 60_000);

  it("two data planes converge to the same version after an update; calls follow it", async () => {
    const [row] = await admin.query<RowDataPacket[]>("SELECT id FROM dispatcher WHERE setid = 1");
    const up = await rpcResult(cp.rpcUrl, "dispatcher.update", { id: row[0]!.id, destination: `sip:127.0.0.1:${UAS_B}` });
    expect(up.version).not.toBe(v1);
    await converged(up.version);
    const versions = await Promise.all(dps.map((dp) => dp.version("dispatcher")));
    expect(versions).toEqual([up.version, up.version]);
    const nodes = await rpcResult<NodeStatus[]>(cp.rpcUrl, "nodes");
    expect(nodes.map((n) => [n.nodeId, n.connected, dispatcherOf(n)?.appliedVersion]).sort()).toEqual([
      ["e2e-ds-a", true, up.version],
      ["e2e-ds-b", true, up.version],
    ]);
    await expectRoutedTo(uas[1]!, uas[0]!, "upd");
    v1 = up.version;
  }, 60_000);

  it("an invalid row through the API is refused with 422 naming table, row and reason; data planes keep routing by the old table", async () => {
    const bad = await jsonRpc(cp.rpcUrl, "dispatcher.create", { setid: 1, destination: "sip:bad host:5060" });
    expect(bad.result).toBeUndefined();
    expect(bad.error).toMatchObject({
      code: 422,
      message: expect.stringMatching(/^rejected: dispatcher would not compile: dispatcher row \d+: destination 'sip:bad host:5060': bad host 'bad host'$/),
      data: { kind: "dispatcher", table: "dispatcher", row: expect.any(Number), reason: "destination 'sip:bad host:5060': bad host 'bad host'" },
    });
    const [n] = await admin.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM dispatcher");
    expect(Number(n[0]!.n)).toBe(1); // rolled back
    expect((await servedDispatcher()).version).toBe(v1);
    await letTimePass(300, "a push of the rolled-back row would reach the data planes within this");
    for (const dp of dps) {
      const st = await rpcResult(dp.rpcUrl, "core.config_status", ["dispatcher"]);
      expect(st[0]).toMatchObject({ version: v1, lastError: null });
    }
    await expectRoutedTo(uas[1]!, uas[0]!, "api");
  }, 60_000);

  it("an invalid row inserted with SQL: push and status name it as refused, it is never pushed, data planes keep routing; deleting it through the API clears it", async () => {
    const [ins] = await admin.query<ResultSetHeader>(
      "INSERT INTO dispatcher (setid, destination, flags, priority, attrs, description) VALUES (1, 'sip:127.0.0.1:99999', 0, 0, '', 'bad port')",
    );
    const badId = ins.insertId;
    const push = await rpcResult(cp.rpcUrl, "push");
    const reason = "destination 'sip:127.0.0.1:99999': port 99999 out of range";
    // skip policy (default): the row is refused alone; the other rows are what they were → same version
    expect(push.changed).toEqual([]);
    expect(push.errors).toEqual([]);
    expect(push.refused).toEqual([{ kind: "dispatcher", table: "dispatcher", key: String(badId), row: badId, reason }]);
    expect(push.kinds.find((k: { kind: string }) => k.kind === "dispatcher")).toMatchObject({ version: v1, changed: false, error: null });
    const served = await servedDispatcher();
    expect(served).toMatchObject({ version: v1, lastError: null, held: false, refused: [{ kind: "dispatcher", table: "dispatcher", key: String(badId), reason }] });

    // the data planes never see it: same version, no NACK, calls keep going to the old destination
    await letTimePass(300, "a push would reach the data planes within this");
    for (const dp of dps) expect(await dp.version("dispatcher")).toBe(v1);
    const nodes = await rpcResult<NodeStatus[]>(cp.rpcUrl, "nodes");
    for (const n of nodes) expect(dispatcherOf(n)).toMatchObject({ appliedVersion: v1, lastNackVersion: null, pending: false });
    await expectRoutedTo(uas[1]!, uas[0]!, "sql");

    // the broken row is fixed through the API: the kind compiles again, to the same rows → same version
    const del = await rpcResult(cp.rpcUrl, "dispatcher.delete", { id: badId });
    expect(del).toMatchObject({ deleted: expect.anything(), kind: "dispatcher", version: v1 });
    expect(await servedDispatcher()).toMatchObject({ version: v1, lastError: null, refused: [] });
    expect(await rpcResult(cp.rpcUrl, "push")).toMatchObject({ errors: [], refused: [] });
    await expectRoutedTo(uas[1]!, uas[0]!, "fix");
  }, 60_000);
});
