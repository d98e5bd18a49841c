/**
 * Issue 13, the incremental path for drouting's dr_rules, with real processes and MariaDB: a
 * control plane with change capture only (`--cdc-ms 50 --poll-ms 0`) and a data plane running the
 * drouting example script (test/scripts/routing-drouting.ts, group 1). 5,000 rules, so the kind
 * travels as deltas; one-row SQL UPDATE / INSERT / DELETE on dr_rules are applied on the data
 * plane as deltas compiled from the changed rows only (`core.sync_status` deltas.incremental), and
 * the gateway a real INVITE is relayed to changes accordingly (two UDP peers as gateways).
 */
import type mysql from "mysql2/promise";
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
  type DataPlaneProcess,
} from "./helpers/processes.js";
import { TEST_SCRIPTS } from "./helpers/proxy.js";
import { UdpPeer, firstLine, request } from "./helpers/udp-peer.js";
import { freePortBlock } from "./kit/ports.js";

const DB = "olelo_test_e2e_dr_incr";
const BASE = await freePortBlock(12);
const ROWS = 5000;
let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;
let caller: UdpPeer;
let gwA: UdpPeer;
let gwB: UdpPeer;
let calls = 0;

const status = async () => (await rpcResult<Array<{ version: string | null; rows: number }>>(dp.rpcUrl, "core.config_status", ["drouting"]))[0]!;
const incremental = async () => Number((await rpcResult<{ deltas: { incremental: number } }>(dp.rpcUrl, "core.sync_status")).deltas.incremental);

/** Runs `sql` and waits until the data plane runs a new version with `rows` rows (the kind's 2 gateways included). */
async function applied(sql: string, rules: number): Promise<void> {
  const before = (await status()).version;
  await admin.query(sql);
  await waitUntil(`'${sql}' applied`, async () => {
    const s = await status();
    return s.version !== before && s.rows === rules + 2;
  }, 10_000, [cp, dp]);
}

/** Sends an INVITE for `number`; resolves with "A", "B" (the gateway that got it) or the caller's final reply. */
async function routeOf(number: string): Promise<string> {
  const callId = `dr-incr-${++calls}`;
  const ruri = `sip:${number}@127.0.0.1:${BASE + 5}`;
  caller.send(request("INVITE", ruri, { port: caller.port, callId }), BASE + 5);
  const has = (t: string) => t.includes(`Call-ID: ${callId}`);
  return Promise.race([
    gwA.wait((t) => has(t) && t.startsWith("INVITE"), 5000).then(() => "A"),
    gwB.wait((t) => has(t) && t.startsWith("INVITE"), 5000).then(() => "B"),
    caller.wait((t) => has(t) && /^SIP\/2\.0 [3-6]/.test(t), 5000).then(firstLine),
  ]);
}

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  [caller, gwA, gwB] = await Promise.all([UdpPeer.open(BASE + 8), UdpPeer.open(BASE + 9), UdpPeer.open(BASE + 10)]);
  // migrate first (a start without change capture), then load the tables
  cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0 });
  await cp.stop("SIGTERM");
  await admin.query(`INSERT INTO dr_gateways (gwid, type, address, strip, pri_prefix, attrs, description) VALUES (1, 0, '127.0.0.1:${BASE + 9}', 0, '', '', 'A'), (2, 0, '127.0.0.1:${BASE + 10}', 0, '', '', 'B')`);
  await admin.query(`INSERT INTO dr_rules (ruleid, groupid, prefix, timerec, priority, routeid, gwlist, description) SELECT seq + 1, '1', CONCAT('49', LPAD(seq, 5, '0')), '', 0, '', '1', '' FROM seq_0_to_${ROWS - 1}`);
  cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0, cdcMs: 50 });
  dp = await startDataPlaneProcess({
    node: "e2e-dr-incr",
    sipPort: BASE + 5,
    controlPort: BASE + 6,
    controlPlane: cp.grpcUrl,
    modules: { drouting: { timezone: "UTC" } },
    script: join(TEST_SCRIPTS, "routing-drouting.ts"),
    settings: { group: 1 },
  });
  await waitUntil("drouting applied", async () => (await status()).rows === ROWS + 2, 30_000, [cp, dp]);
}, 120_000);

afterAll(async () => {
  await stopAllProcesses();
  for (const p of [caller, gwA, gwB]) p?.close();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
});

describe("dr_rules changes as incremental deltas (real processes)", () => {
  it("UPDATE, INSERT and DELETE of one rule are compiled from the changed rows only and change the routing", async () => {
    expect(await routeOf("4900030")).toBe("A");
    const n0 = await incremental();
    await applied("UPDATE dr_rules SET gwlist = '2' WHERE ruleid = 31", ROWS);
    expect(await incremental()).toBe(n0 + 1);
    expect(await routeOf("4900030")).toBe("B");
    expect(await routeOf("4999123")).toBe("SIP/2.0 404 No route");
    await applied("INSERT INTO dr_rules (ruleid, groupid, prefix, timerec, priority, routeid, gwlist, description) VALUES (90001, '1', '4999', '', 0, '', '2', '')", ROWS + 1);
    expect(await routeOf("4999123")).toBe("B");
    await applied("DELETE FROM dr_rules WHERE ruleid = 32", ROWS);
    expect(await incremental()).toBe(n0 + 3);
    expect(await routeOf("4900031")).toBe("SIP/2.0 404 No route");
    // a higher-priority rule on the same prefix takes over
    await applied("INSERT INTO dr_rules (ruleid, groupid, prefix, timerec, priority, routeid, gwlist, description) VALUES (90002, '1', '4900030', '', 5, '', '1', '')", ROWS + 1);
    expect(await routeOf("4900030")).toBe("A");
    expect(await incremental()).toBe(n0 + 4);
  });

  it("a bad rule written in SQL is refused alone; the good change is applied", async () => {
    const before = (await status()).version;
    await admin.query("INSERT INTO dr_rules (ruleid, groupid, prefix, timerec, priority, routeid, gwlist, description) VALUES (90003, '1', '48', '', 0, '', '7', '')");
    await admin.query("UPDATE dr_rules SET gwlist = '2' WHERE ruleid = 40");
    await waitUntil("the good change applied", async () => (await status()).version !== before && (await routeOf("4900039")) === "B", 10_000, [cp, dp]);
    expect(await routeOf("4812345")).toBe("SIP/2.0 404 No route");
    const st = JSON.stringify(await rpcResult(cp.rpcUrl, "status"));
    expect(st).toContain("gateway 7 is not in dr_gateways");
  });
});
