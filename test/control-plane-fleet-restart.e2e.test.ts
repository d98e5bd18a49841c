/**
 * Issue 13, canary and rollback across a control-plane restart, with real processes and MariaDB
 * (`olelo_test_e2e_fleet_restart`): one control plane (`control-plane/main.ts`, change check off,
 * so SQL rows are the pending change until `push`) and two data planes labelled zone=eu / zone=us.
 * Ports: a freePortBlock(20) base P (API P, push P+1, data planes P+2...).
 *
 * Shown, by stopping the real control-plane process (SIGTERM) and starting it again on the same
 * database: a kind pinned by `rollback` stays pinned and is served at the pinned version (a data
 * plane started after the restart with no cache receives the pinned version, a newer compiled
 * version stays held); a canary soaking at the stop is rolled back at start (audit
 * `canary.rollback` by `canary` with the reason), the canary node gets the fleet's version back,
 * and a plain push holds the candidate; `unpin` then moves the kind on. State: olelo_fleet_state
 * (migration 0012).
 */
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePortBlock } from "./kit/ports.js";
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

const DB = "olelo_test_e2e_fleet_restart";
const BASE = await freePortBlock(20);
const API = BASE;
const GRPC = BASE + 1;
let port = BASE + 2;

let admin: mysql.Connection;
let cp: ControlPlaneProcess;
const dps: DataPlaneProcess[] = [];
const rpc = (method: string, params: unknown = {}) => rpcResult<any>(cp.rpcUrl, method, params);
const startCp = () => startControlPlaneProcess({ db: DB, apiPort: API, grpcPort: GRPC, pollMs: 0 });
const dataPlane = async (node: string, zone: string) => {
  const dp = await startDataPlaneProcess({
    node,
    sipPort: port++,
    controlPort: port++,
    controlPlane: `127.0.0.1:${GRPC}`,
    modules: { dispatcher: { ping_interval: 0 }, prefix_route: {} },
    controlPlaneExtra: { labels: { zone }, statsIntervalMs: 300, backoff: { initialMs: 200, maxMs: 600 } },
  });
  dps.push(dp);
  return dp;
};
const versions = (kind: string, list = dps) => Promise.all(list.map((dp) => dp.version(kind)));
const until = (what: string, pred: () => Promise<boolean>, ms = 20_000) => waitUntil(what, pred, ms, [cp, ...dps]);

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  cp = await startCp();
  await Promise.all([dataPlane("fr-eu", "eu"), dataPlane("fr-us", "us")]);
  dps.sort((a, b) => (a.node === "fr-eu" ? -1 : b.node === "fr-eu" ? 1 : 0)); // versions() lists eu first
}, 120_000);

afterAll(async () => {
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 40_000);

describe("pins and canaries survive a control-plane restart (real processes)", () => {
  it("a pinned kind stays pinned and served at its version; a soaking canary is rolled back at start with the reason audited", async () => {
    const d1 = (await rpc("dispatcher.create", { setid: 1, destination: "sip:10.6.6.1:5060" })).version as string;
    await until("both on d1", async () => (await versions("dispatcher")).every((v) => v === d1));
    const d2 = (await rpc("dispatcher.create", { setid: 1, destination: "sip:10.6.6.2:5060" })).version as string;
    await until("both on d2", async () => (await versions("dispatcher")).every((v) => v === d2));
    await rpc("rollback", { kind: "dispatcher", version: d1 });
    await until("both back on d1 (pinned)", async () => (await versions("dispatcher")).every((v) => v === d1));
    const d3 = (await rpc("dispatcher.create", { setid: 1, destination: "sip:10.6.6.3:5060" })).version as string;
    expect(d3).not.toBe(d1);

    // prefix_route: p1 on every node, then a canary of p2 on the eu node only, soaking for 10 minutes
    await admin.query("INSERT INTO prefix_route (prefix, route, comment) VALUES ('4930', 'berlin', '')");
    await rpc("push");
    const p1 = (await rpc("status")).kinds.find((k: { kind: string }) => k.kind === "prefix_route").version as string;
    await until("both on p1", async () => (await versions("prefix_route")).every((v) => v === p1));
    const acked = async (kind: string, v: string) =>
      ((await rpc("nodes")) as Array<{ connected: boolean; tables: Array<{ kind: string; appliedVersion: string | null; pending: boolean }> }>)
        .filter((n) => n.connected)
        .every((n) => n.tables.some((t) => t.kind === kind && t.appliedVersion === v && !t.pending));
    await until("the control plane has both ACKs of p1", () => acked("prefix_route", p1));
    await admin.query("INSERT INTO prefix_route (prefix, route, comment) VALUES ('4940', 'hamburg', '')");
    const c = await rpc("push", { canary: "zone=eu", soak_ms: 600_000 });
    expect(c.canary).toMatchObject({ state: "soaking", nodes: ["fr-eu"], kinds: [{ kind: "prefix_route", from: p1 }] });
    const p2 = c.canary.kinds[0].to as string;
    try {
      await until("the eu node runs the candidate p2", async () => (await versions("prefix_route")).join() === [p2, p1].join());
    } catch (e) {
      throw new Error(`${(e as Error).message}\nnodes: ${JSON.stringify(await rpc("nodes"))}\nsync ${dps[0]!.node}: ${JSON.stringify(await rpcResult(dps[0]!.rpcUrl, "core.sync_status"))}`);
    }
    expect(await versions("dispatcher")).toEqual([d1, d1]);

    // restart the real control-plane process
    await cp.stop("SIGTERM");
    cp = await startCp();
    expect(cp.log()).toMatch(/"msg":"canary rolled back at start"/);
    expect(cp.log()).toMatch(/"msg":"fleet state restored","pins":"dispatcher@/);

    const st = await rpc("canary.status");
    expect(st.current).toBeNull();
    expect(st.recent[0]).toMatchObject({ id: c.canary.id, state: "rolled-back", nodes: ["fr-eu"] });
    expect(st.recent[0].reason).toMatch(new RegExp(`^control plane restarted while canary ${c.canary.id} \\(zone=eu, started .* by local\\) was soaking: rolled back`));
    const audit = (await rpc("audit.list", { limit: 100 })).rows.filter((r: { action: string }) => r.action === "canary.rollback");
    expect(audit[0]).toMatchObject({ actor: "canary", after: { id: c.canary.id, reason: st.recent[0].reason } });

    // the nodes reconnect: the eu node gets p1 back, dispatcher stays d1 everywhere
    await until("the eu node is back on p1 after the restart", async () => (await versions("prefix_route")).every((v) => v === p1), 30_000);
    expect(await versions("dispatcher")).toEqual([d1, d1]);
    // a data plane that starts now, with no cache, is served the pinned and the fleet's versions
    const fresh = await dataPlane("fr-new", "eu");
    await until("the new node runs d1 and p1", async () => (await fresh.version("dispatcher")) === d1 && (await fresh.version("prefix_route")) === p1, 30_000);
    const nodes = (await rpc("nodes")) as Array<{ nodeId: string; tables: Array<{ kind: string; offeredVersion: string; pinned: boolean }> }>;
    expect(nodes.find((n) => n.nodeId === "fr-new")!.tables.find((t) => t.kind === "dispatcher")).toMatchObject({ offeredVersion: d1, pinned: true });

    // a plain push holds both: the pin and the version the canary rolled back
    const push = await rpc("push");
    expect(push.pushed).toEqual([]);
    expect(push.held).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "dispatcher", version: d3, reason: expect.stringMatching(/^pinned to /) }),
        expect.objectContaining({ kind: "prefix_route", version: p2, reason: expect.stringMatching(/^rolled back by a canary: control plane restarted/) }),
      ]),
    );
    expect(await versions("prefix_route")).toEqual([p1, p1, p1]);

    // unpin moves dispatcher on; the pin is gone after another restart
    await rpc("unpin", { kind: "dispatcher" });
    await until("every node on d3 after unpin", async () => (await versions("dispatcher")).every((v) => v === d3), 20_000);
    const [[row]] = (await admin.query("SELECT COUNT(*) AS n FROM olelo_fleet_state WHERE name LIKE 'pin:%' OR name = 'canary'")) as any;
    expect(Number(row.n)).toBe(0);
  }, 150_000);
});
