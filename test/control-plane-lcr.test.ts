/**
 * Issue 4, lcr: lcr_gw, lcr_rule and lcr_rule_target rows written through the management API
 * (control-plane process on MariaDB olelo_test_e2e_lcr, change check off) reach a running
 * data-plane process (lcr module, test/scripts/cp-lcr.ts: `loadGws` / `nextGw` with a failure
 * route), which routes sipp calls by them: the first gateway answers 503, the call fails over to
 * the second, whose strip/prefix rewrite the number the gateway receives. A number no rule covers
 * gets 503 "No gateway"; a target naming an unknown gateway is refused with 422 and the data plane
 * keeps its lcr tables. The data plane runs lcr with `lcr_count: 1` and reports it in its Hello
 * (`compile_options`), so the control plane compiles lcr with that option too: a gateway in
 * instance 2 is refused with 422 and the reason the data plane's compile gives, nothing is pushed
 * and the old tables keep routing calls.
 *
 * Ports: a block of 50 from test/kit/ports.ts (freePortBlock).
 */
import type mysql from "mysql2/promise";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ROOT,
  dropE2eDatabase,
  freshE2eDatabase,
  jsonRpc,
  rpcResult,
  startControlPlaneProcess,
  startDataPlaneProcess,
  stopAllProcesses,
  waitUntil,
  type ControlPlaneProcess,
  type DataPlaneProcess,
} from "./helpers/processes.js";
import { runSipp } from "./helpers/sipp.js";
import { startTracedUas, type TracedUas } from "./scripts/dispatcher-support.js";
import { freePortBlock } from "./kit/ports.js";

const DB = "olelo_test_e2e_lcr";
const BASE = await freePortBlock(50); // this file's ports: BASE … BASE + 49
const GW_BUSY = BASE + 20; // answers 503
const GW_OK = BASE + 21;
let uacPort = BASE + 30;

let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;
let busy: TracedUas;
let ok: TracedUas;

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  busy = await startTracedUas(GW_BUSY, "ds_uas_503.xml");
  ok = await startTracedUas(GW_OK);
  cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0 });
  dp = await startDataPlaneProcess({
    node: "e2e-lcr",
    sipPort: BASE + 10,
    controlPort: BASE + 11,
    controlPlane: cp.grpcUrl,
    modules: { lcr: { lcr_count: 1 } }, // stricter than the module default (highest lcr_id); reported in Hello
    script: join(ROOT, "test/scripts/cp-lcr.ts"),
    settings: { lcrId: 1 },
  });
}, 110_000);

afterAll(async () => {
  await stopAllProcesses();
  await busy?.stop();
  await ok?.stop();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 40_000);

const expectCode = (service: string, code: number) =>
  runSipp({ scenario: "uac_expect.xml", port: uacPort++, remote: `127.0.0.1:${dp.sipPort}`, calls: 1, service, templ: { code: String(code) }, timeoutS: 20 });

describe("control plane → data plane, lcr (real processes, MariaDB, sipp)", () => {
  let version = "";

  it("gateways, a rule and its targets created through the API route sipp calls with failover, strip and prefix", async () => {
    const before = await expectCode("4915550001", 503); // no lcr instance yet
    expect([before.successful, before.failed], before.errors).toEqual([1, 0]);

    const gw1 = await rpcResult(cp.rpcUrl, "lcr_gw.create", { lcr_id: 1, gw_name: "busy", ip_addr: "127.0.0.1", port: GW_BUSY, transport: 1 });
    const gw2 = await rpcResult(cp.rpcUrl, "lcr_gw.create", { lcr_id: 1, gw_name: "carrier", ip_addr: "127.0.0.1", port: GW_OK, transport: 1, strip: 2, prefix: "00" });
    const rule = await rpcResult(cp.rpcUrl, "lcr_rule.create", { lcr_id: 1, prefix: "49", stopper: 0, enabled: 1 });
    await rpcResult(cp.rpcUrl, "lcr_rule_target.create", { lcr_id: 1, rule_id: rule.row.id, gw_id: gw1.row.id, priority: 0, weight: 1 });
    const t0 = Date.now();
    const last = await rpcResult(cp.rpcUrl, "lcr_rule_target.create", { lcr_id: 1, rule_id: rule.row.id, gw_id: gw2.row.id, priority: 1, weight: 1 });
    expect(last.kind).toBe("lcr");
    version = last.version;
    const ms = await waitUntil("the data plane to apply the lcr version", async () => (await dp.version("lcr")) === version, 10_000, [cp, dp]);
    console.info(`[control-plane e2e] lcr_rule_target.create → lcr version live on the data plane in ≤ ${Date.now() - t0} ms (poll ${ms} ms)`);
    expect(Date.now() - t0).toBeLessThan(1000);
    const st = await rpcResult(dp.rpcUrl, "core.config_status", ["lcr"]);
    expect(st[0]).toMatchObject({ kind: "lcr", version, rows: 5, source: "control-plane", lastError: null });
    const route = await rpcResult(dp.rpcUrl, "lcr.load_gws", [1, "4915550001"]);
    expect(route.map((g: { gw_name: string }) => g.gw_name)).toEqual(["busy", "carrier"]);

    const calls = await runSipp({ scenario: "uac_rr.xml", port: uacPort++, remote: `127.0.0.1:${dp.sipPort}`, calls: 5, rate: 5, service: "4915550002", timeoutS: 30 });
    expect([calls.successful, calls.failed], calls.errors || calls.stderr).toEqual([5, 0]);
    // the 503 gateway saw the number as dialled, the carrier got it with "49" stripped and "00" in front
    expect(busy.invites("4915550002").map((r) => r.ruri)).toEqual(Array(5).fill(`sip:4915550002@127.0.0.1:${GW_BUSY};transport=udp`));
    expect(ok.invites("0015550002").map((r) => r.ruri)).toEqual(Array(5).fill(`sip:0015550002@127.0.0.1:${GW_OK};transport=udp`));
    expect(ok.requests("BYE")).toHaveLength(5);

    const other = await expectCode("3315550003", 503); // no rule for prefix 33
    expect([other.successful, other.failed], other.errors).toEqual([1, 0]);
    expect(busy.invites("33")).toHaveLength(0);
    expect(ok.invites("33")).toHaveLength(0);
  }, 60_000);

  it("a rule target naming an unknown gateway is refused with 422; the data plane keeps its lcr tables and routes by them", async () => {
    const [rules] = await admin.query<mysql.RowDataPacket[]>("SELECT id FROM lcr_rule");
    const bad = await jsonRpc(cp.rpcUrl, "lcr_rule_target.create", { lcr_id: 1, rule_id: rules[0]!.id, gw_id: 999, priority: 2, weight: 1 });
    expect(bad.error).toMatchObject({ code: 422, data: { kind: "lcr", table: "lcr_rule_target", row: expect.any(Number), reason: expect.stringMatching(/gw_id 999/) } });
    expect(bad.error!.message).toMatch(/^rejected: lcr would not compile: lcr_rule_target row \d+: .*gw_id 999/);
    expect(await dp.version("lcr")).toBe(version);
    const calls = await runSipp({ scenario: "uac_rr.xml", port: uacPort++, remote: `127.0.0.1:${dp.sipPort}`, calls: 3, rate: 5, service: "4915550004", timeoutS: 30 });
    expect([calls.successful, calls.failed], calls.errors || calls.stderr).toEqual([3, 0]);
    expect(ok.invites("0015550004")).toHaveLength(3);
    const nodes = await rpcResult(cp.rpcUrl, "nodes");
    expect(nodes[0].tables.find((t: { kind: string }) => t.kind === "lcr")).toMatchObject({ appliedVersion: version, lastNackVersion: null });
  }, 60_000);

  it("a gateway above the data plane's lcr_count is refused by the control plane with the reason the data plane gives (its Hello's compile options)", async () => {
    const reason = "lcr_id 2 is above lcr_count 1";
    const bad = await jsonRpc(cp.rpcUrl, "lcr_gw.create", { lcr_id: 2, gw_name: "other-instance", ip_addr: "127.0.0.1", port: GW_OK, transport: 1 });
    expect(bad.error).toMatchObject({ code: 422, data: { kind: "lcr", table: "lcr_gw", row: expect.any(Number), reason } });
    expect(bad.error!.message).toMatch(new RegExp(`^rejected: lcr would not compile: lcr_gw row \\d+: ${reason}`));
    // the data plane's own compile says the same of that row (lcr.test.ts / compile-options-parity.test.ts)
    const [gws] = await admin.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM lcr_gw WHERE lcr_id = 2");
    expect(Number(gws[0]!.n)).toBe(0);
    expect(await dp.version("lcr")).toBe(version);
    const nodes = await rpcResult(cp.rpcUrl, "nodes");
    expect(nodes[0].tables.find((t: { kind: string }) => t.kind === "lcr")).toMatchObject({ appliedVersion: version, lastNackVersion: null });
    const calls = await runSipp({ scenario: "uac_rr.xml", port: uacPort++, remote: `127.0.0.1:${dp.sipPort}`, calls: 3, rate: 5, service: "4915550005", timeoutS: 30 });
    expect([calls.successful, calls.failed], calls.errors || calls.stderr).toEqual([3, 0]);
    expect(ok.invites("0015550005")).toHaveLength(3);
  }, 60_000);
});
