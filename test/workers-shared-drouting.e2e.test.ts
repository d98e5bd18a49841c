/**
 * drouting compiled once per node and shared by the workers (core/workers/README.md "Tables
 * compiled once, shared"): the control plane on MariaDB olelo_test_e2e_workers_shared_dr and a
 * node started as users start it (`npm start`) with `workers: 2`, the drouting example script
 * (test/scripts/routing-drouting.ts, group 1) and two UDP peers as gateways A and B. Checked: per
 * pushed version the node compiles once (core.sync_status `shared.drouting.compiles` + 1), no worker
 * compiles (core.shared_tables `localCompiles` 0, its rules on shared memory, the same bytes on
 * both), both count the rules, and INVITEs sent from up to 16 caller sockets (SO_REUSEPORT spreads
 * them over both workers) are relayed to the gateway of the new rules; a restarted worker attaches
 * the current version and routes by it. With OLELO_SHARED_TABLES=0 (each worker compiles) the
 * compile counts and `shared` do not hold: the tests fail. Ports: a block of 40 from test/kit/ports.ts (16 caller sockets: SO_REUSEPORT picks the worker by
 * 4-tuple, so a few source ports can all land on one worker).
 */
import type mysql from "mysql2/promise";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropE2eDatabase, freshE2eDatabase, rpcResult, startControlPlaneProcess, stopAllProcesses, waitUntil, type ControlPlaneProcess } from "./helpers/processes.js";
import { TEST_SCRIPTS } from "./helpers/proxy.js";
import { UdpPeer, firstLine, request } from "./helpers/udp-peer.js";
import { startWorkersNode, workerStat, type WorkersNode } from "./helpers/workers-node.js";
import { sharedTableReaders } from "./helpers/shared-tables.js";
import { freePortBlock } from "./kit/ports.js";

const DB = "olelo_test_e2e_workers_shared_dr";
const BASE = await freePortBlock(40);
const SIP = BASE + 10;
const ROWS = 5000;

let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let node: WorkersNode;
let gwA: UdpPeer;
let gwB: UdpPeer;
const callers: UdpPeer[] = [];
let calls = 0;

const { appliedOnCp, nodeShared, attachedPerWorker } = sharedTableReaders(() => cp.rpcUrl, () => node.rpc, "w-shared-dr", "drouting");

const rule = (ruleid: number, prefix: string, gwlist: string, priority = 0) => ({ ruleid, groupid: "1", prefix, timerec: "", priority, routeid: "", gwlist, description: "" });
const push = async (r: ReturnType<typeof rule>): Promise<string> => {
  const created = await rpcResult(cp.rpcUrl, "dr_rules.create", r);
  await waitUntil(`version ${created.version} ACKed`, async () => (await appliedOnCp()) === created.version, 60_000, [cp, node]);
  return created.version as string;
};

/** One INVITE from caller socket `c`; resolves with "A", "B" (the gateway that got it) or the caller's final reply. */
async function routeOf(c: UdpPeer, number: string): Promise<string> {
  const callId = `dr-shared-${++calls}`;
  c.send(request("INVITE", `sip:${number}@127.0.0.1:${SIP}`, { port: c.port, callId }), SIP);
  const has = (t: string) => t.includes(`Call-ID: ${callId}`);
  return Promise.race([
    gwA.wait((t) => has(t) && t.startsWith("INVITE"), 5000).then(() => "A"),
    gwB.wait((t) => has(t) && t.startsWith("INVITE"), 5000).then(() => "B"),
    c.wait((t) => has(t) && /^SIP\/2\.0 [3-6]/.test(t), 5000).then(firstLine),
  ]);
}

/** Routes `number` from every caller socket until both workers took INVITEs; every call must go to `want`. */
async function routedByBoth(number: string, want: string): Promise<void> {
  const before = await workerStat(node.rpc, "core:rcv_requests_invite");
  const got: string[] = [];
  for (const c of callers) {
    got.push(await routeOf(c, number));
    const now = await workerStat(node.rpc, "core:rcv_requests_invite");
    if (got.length >= 4 && now.every((n, i) => n > before[i]!)) break;
  }
  expect(got.every((g) => g === want), `${number} → ${want}: ${got.join(" ")}`).toBe(true);
  const after = await workerStat(node.rpc, "core:rcv_requests_invite");
  expect(after.map((n, i) => n > before[i]!), "both workers took INVITEs").toEqual([true, true]);
}

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  [gwA, gwB] = await Promise.all([UdpPeer.open(BASE + 3), UdpPeer.open(BASE + 4)]);
  for (let i = 0; i < 16; i++) callers.push(await UdpPeer.open(BASE + 20 + i));
  cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0 });
  await admin.query(`INSERT INTO dr_gateways (gwid, type, address, strip, pri_prefix, attrs, description) VALUES (1, 0, '127.0.0.1:${BASE + 3}', 0, '', '', 'A'), (2, 0, '127.0.0.1:${BASE + 4}', 0, '', '', 'B')`);
  const dir = mkdtempSync(join(tmpdir(), "olelo-e2e-w-shared-dr-"));
  const file = join(dir, "olelo.json");
  writeFileSync(
    file,
    JSON.stringify({
      node: "w-shared-dr",
      workers: 2,
      listen: [`udp:127.0.0.1:${SIP}`],
      control: { listen: `127.0.0.1:${BASE + 11}` },
      modules: { drouting: { timezone: "UTC" } },
      script: { file: join(TEST_SCRIPTS, "routing-drouting.ts"), settings: { group: 1 } },
      controlPlane: { url: cp.grpcUrl, cacheDir: join(dir, "table-cache") },
      dataDir: join(dir, "data"),
      log: { level: "warn" },
    }),
  );
  node = await startWorkersNode("w-shared-dr", file, BASE + 11);
  await waitUntil("the first drouting version ACKed", async () => !!(await appliedOnCp()), 30_000, [cp, node]);
}, 120_000);

afterAll(async () => {
  await node?.stop("SIGTERM");
  await stopAllProcesses();
  for (const p of [gwA, gwB, ...callers]) p?.close();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 30_000);

describe("drouting with workers: 2, compiled once in shared memory", () => {
  it("a full version: one compile for the node, both workers attach it (no compile of their own) and route by it", async () => {
    const s0 = await nodeShared();
    await admin.query(`INSERT INTO dr_rules (ruleid, groupid, prefix, timerec, priority, routeid, gwlist, description) SELECT seq + 1, '1', CONCAT('49', LPAD(seq, 4, '0')), '', 0, '', '1', '' FROM seq_0_to_${ROWS - 1}`);
    const version = await push(rule(90001, "31", "2"));
    const s1 = await nodeShared();
    expect(s1.version).toBe(version);
    expect(s1.compiles + s1.deltaCompiles - s0.compiles - s0.deltaCompiles, "compiles by the node for one version").toBe(1);
    expect(s1.bytes).toBeGreaterThan(0);
    expect(await attachedPerWorker()).toEqual([0, 1].map(() => expect.objectContaining({ version, shared: true, localCompiles: 0, bytes: s1.bytes })));
    expect(await workerStat(node.rpc, "drouting:rules")).toEqual([ROWS + 1, ROWS + 1]);
    const mem = await rpcResult(node.rpc, "core.memory");
    expect(mem.sharedTableBytes).toBe(s1.bytes);
    await routedByBoth("4900123", "A");
    await routedByBoth("3155501", "B");
    expect(await routeOf(callers[0]!, "33123")).toBe("SIP/2.0 404 No route");
  }, 90_000);

  it("new rules (one row each, deltas) are compiled once in the primary, routed by both workers, then folded once", async () => {
    const s0 = await nodeShared();
    // a higher priority on an existing prefix, and a new prefix
    await push(rule(90002, "4900123", "2", 5));
    const version = await push(rule(90003, "33", "1"));
    const s1 = await nodeShared();
    expect(s1.version).toBe(version);
    expect(s1.compiles + s1.deltaCompiles - s0.compiles - s0.deltaCompiles, "compiles by the node for two versions").toBe(2);
    expect((await attachedPerWorker()).map((a) => [a.version, a.localCompiles, a.shared])).toEqual([[version, 0, true], [version, 0, true]]);
    expect(await workerStat(node.rpc, "drouting:rules")).toEqual([ROWS + 3, ROWS + 3]);
    await routedByBoth("4900123", "B");
    await routedByBoth("4900124", "A");
    await routedByBoth("33123", "A");
    // both were deltas (5,000 rules travel as deltas), compiled over the shared buffers
    expect(s1.deltaCompiles - s0.deltaCompiles, "delta compiles").toBe(2);
    // the overlay is folded by the primary once (new buffers), then both workers swap to it
    await waitUntil("the overlay folded on both workers", async () => (await attachedPerWorker()).every((a) => a.folds > 0), 20_000, [node]);
    expect((await nodeShared()).folds).toBe(s1.folds + 1);
    await routedByBoth("4900123", "B");
    // drouting.reload (Kamailio's RPC): the control plane re-reads the kind; still no compile in a worker
    expect(await rpcResult(node.rpc, "drouting.reload")).toBe("reload ok");
    expect((await attachedPerWorker()).map((a) => [a.localCompiles, a.shared])).toEqual([[0, true], [0, true]]);
    await routedByBoth("4900123", "B");
  }, 90_000);

  it("a restarted worker attaches the version the node runs and routes by it", async () => {
    const s0 = await nodeShared();
    await rpcResult(node.rpc, "core.worker_restart", [1]);
    await waitUntil("worker 1 restarted and running", async () => {
      const w = (await rpcResult(node.rpc, "core.workers")).workers;
      return w[1].restarts === 1 && w[1].state === "running";
    }, 30_000, [node]);
    const att = await attachedPerWorker();
    expect(att[1]).toEqual(expect.objectContaining({ version: s0.version, shared: true, localCompiles: 0, attaches: 1, bytes: s0.bytes }));
    expect(await workerStat(node.rpc, "drouting:rules")).toEqual([ROWS + 3, ROWS + 3]);
    await routedByBoth("33123", "A");
    await routedByBoth("3155501", "B");
    const s1 = await nodeShared();
    expect(s1.compiles + s1.deltaCompiles).toBe(s0.compiles + s0.deltaCompiles);
  }, 90_000);
});
