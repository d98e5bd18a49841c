/**
 * The call-feature table kinds end to end with real processes and a real MariaDB: a control plane
 * (`npx tsx control-plane/main.ts`, database olelo_test_feat1, change check off, so only the
 * management API's own push delivers a change) and a data plane (`npx tsx data-plane/main.ts`)
 * with the usrloc, registrar, callfwd, alias_db and speed_dial modules, the default routing
 * script and its tables from the control plane. Phones REGISTER over UDP; calls are single
 * INVITEs from a raw UDP caller (test/scripts/cpf-support.ts), phones answer 486.
 *
 * Rows are created with JSON-RPC on the control plane's management API; each must change routing
 * within a second of the write (measured from just before the API request to the first call that
 * behaves the new way), with no restart of the data plane:
 * - (a) `olelo_callfwd` unconditional: a call to registered carol goes to bob, the forward target
 *   (and back to carol when the row is deleted);
 * - (b) `olelo_callblock` deny: mallory's call to bob gets 603, alice's still reaches bob;
 * - (c) `dbaliases`: a call to the alias `sales` reaches registered bob (404 before);
 * - (d) `speed_dial`: alice dialling 12 reaches bob (404 before) — the kind is now named as the
 *   module registers it;
 * - rows the modules would refuse are refused by the API (422 naming kind, table and row) and the
 *   data plane keeps its tables.
 *
 * Ports: a block of 50 from test/kit/ports.ts (freePortBlock).
 */
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  jsonRpc,
  rpcResult,
  startControlPlaneProcess,
  startDataPlaneProcess,
  stopAllProcesses,
  waitUntil,
  type ControlPlaneProcess,
  type DataPlaneProcess,
} from "./helpers/processes.js";
import { Caller, Phone, dropFeatDatabase, freshFeatDatabase, type CallResult } from "./scripts/cpf-support.js";
import { freePortBlock } from "./kit/ports.js";

const DB = "olelo_test_feat1";
const BASE = await freePortBlock(50); // this file's ports: BASE … BASE + 49
const CP_API = BASE + 1;
const CP_GRPC = BASE + 2;
const DP_SIP = BASE + 10;
const DP_CTL = BASE + 11;
const KINDS = ["callfwd", "alias_db", "speed_dial"] as const;

let admin: mysql.Connection | undefined;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;
let bob: Phone;
let carol: Phone;
let caller: Caller;
let dpPid = 0;
const latencies: Record<string, number> = {};

/** The version the control plane serves for a kind (`status`). */
async function served(kind: string): Promise<{ version: string | null; rows: number; lastError: unknown; validator: string }> {
  const st = await rpcResult(cp.rpcUrl, "status");
  return st.kinds.find((k: { kind: string }) => k.kind === kind);
}

/** One management-API write; returns its result and the time just before the request. */
async function write(method: string, params: Record<string, unknown>): Promise<{ t0: number; res: { row: Record<string, unknown>; kind: string; version: string } }> {
  const t0 = Date.now();
  const res = await rpcResult(cp.rpcUrl, method, params);
  return { t0, res };
}

/**
 * Places calls until `ok(call)` holds; returns ms since `t0` and the call that showed it. Every
 * call before that one behaved the old way, so the figure bounds when routing changed.
 */
async function firstCallThat(what: string, t0: number, place: () => Promise<CallResult>, ok: (c: CallResult) => boolean): Promise<{ ms: number; call: CallResult }> {
  let last: CallResult | null = null;
  await waitUntil(what, async () => ok((last = await place())), 10_000, [cp, dp]);
  return { ms: Date.now() - t0, call: last! };
}

/** The part of the control plane's `nodes` answer these tests read. */
interface NodeStatus {
  nodeId: string;
  connected: boolean;
  tables: Array<{ kind: string; appliedVersion: string | null; pending: boolean }>;
}

/** The data plane and the control plane's `nodes` agree that `kind` runs `version`. */
async function applied(kind: string, version: string): Promise<void> {
  expect(await dp.version(kind)).toBe(version);
  await waitUntil(`nodes() to show ${kind} ${version} ACKed`, async () => {
    const n = (await rpcResult<NodeStatus[]>(cp.rpcUrl, "nodes")).find((x) => x.nodeId === dp.node && x.connected);
    const t = n?.tables.find((x) => x.kind === kind);
    return t?.appliedVersion === version && !t.pending;
  }, 10_000, [cp, dp]);
}

beforeAll(async () => {
  admin = await freshFeatDatabase(DB);
  cp = await startControlPlaneProcess({ db: DB, apiPort: CP_API, grpcPort: CP_GRPC, pollMs: 0 });
  dp = await startDataPlaneProcess({
    node: "feat-a",
    sipPort: DP_SIP,
    controlPort: DP_CTL,
    controlPlane: cp.grpcUrl,
    modules: { usrloc: {}, registrar: {}, callfwd: {}, alias_db: {}, speed_dial: {} },
    settings: {},
  });
  dpPid = dp.proc.pid!;
  // the empty tables of the three kinds reach the data plane under the names its modules register
  await waitUntil(
    "the data plane to run the control plane's callfwd, alias_db and speed_dial versions",
    async () => {
      for (const k of KINDS) {
        const v = (await served(k)).version;
        if (!v || (await dp.version(k)) !== v) return false;
      }
      return true;
    },
    30_000,
    [cp, dp],
  );
  bob = await Phone.open(BASE + 20, "bob");
  carol = await Phone.open(BASE + 21, "carol");
  caller = await Caller.open(BASE + 30);
  await bob.register(DP_SIP);
  await carol.register(DP_SIP);
}, 150_000);

afterAll(async () => {
  await stopAllProcesses();
  for (const p of [bob, carol, caller]) p?.close();
  await dropFeatDatabase(admin, DB);
  await admin?.end();
  if (Object.keys(latencies).length) console.log(`control-plane-features: API write → first call routed the new way (ms): ${JSON.stringify(latencies)}`);
}, 40_000);

describe("call-feature kinds from the management API to a running data plane (real processes, MariaDB)", () => {
  it("the control plane compiles alias_db, speed_dial and callfwd with the modules' own functions", async () => {
    expect((await served("callfwd")).validator).toMatch(/^tables\/callfwd\//);
    expect((await served("alias_db")).validator).toMatch(/^tables\/alias-db\//);
    expect((await served("speed_dial")).validator).toMatch(/^tables\/speed-dial\//);
    const st = await rpcResult(cp.rpcUrl, "status");
    expect(st.kinds.map((k: { kind: string }) => k.kind)).not.toContain("speeddial");
  });

  it("(a) an unconditional forward row sends calls for registered carol to the target within a second; deleting it gives them back", async () => {
    const before = await caller.call(DP_SIP, "carol", "alice");
    expect([before.code, carol.got(before.callId), bob.got(before.callId)]).toEqual([486, true, false]);

    const { t0, res } = await write("olelo_callfwd.create", { username: "carol", cf_type: "unconditional", target: `sip:bob@127.0.0.1:${DP_SIP}`, description: "to bob" });
    expect(res).toMatchObject({ kind: "callfwd", version: expect.stringMatching(/^[0-9a-f]{16}$/), row: { username: "carol", domain: "", cf_type: "unconditional", timeout: 0, enabled: 1 } });
    const { ms, call } = await firstCallThat("carol's calls to reach bob", t0, () => caller.call(DP_SIP, "carol", "alice"), (c) => bob.got(c.callId));
    latencies.callfwd = ms;
    expect(carol.got(call.callId)).toBe(false);
    expect(bob.invites.get(call.callId)).toBe(`sip:bob@127.0.0.1:${bob.peer.port}`); // looked up at bob's binding
    expect(call.code).toBe(486); // bob's phone's answer came back
    expect(ms).toBeLessThan(1000);
    await applied("callfwd", res.version);

    const del = await write("olelo_callfwd.delete", { id: res.row.id });
    const back = await firstCallThat("carol's calls to reach carol again", del.t0, () => caller.call(DP_SIP, "carol", "alice"), (c) => carol.got(c.callId));
    expect(back.ms).toBeLessThan(1000);
  }, 60_000);

  it("(b) a deny row makes the listed caller's calls to bob get 603 within a second; other callers still reach bob", async () => {
    const before = await caller.call(DP_SIP, "bob", "mallory");
    expect([before.code, bob.got(before.callId)]).toEqual([486, true]);

    const { t0, res } = await write("olelo_callblock.create", { username: "bob", list_type: "deny", caller: "mallory" });
    expect(res).toMatchObject({ kind: "callfwd", row: { username: "bob", list_type: "deny", caller: "mallory" } });
    const { ms, call } = await firstCallThat("mallory's call to bob to be declined", t0, () => caller.call(DP_SIP, "bob", "mallory"), (c) => c.code === 603);
    latencies.callblock = ms;
    expect(call.reason).toBe("Decline");
    expect(bob.got(call.callId)).toBe(false);
    expect(ms).toBeLessThan(1000);
    const alice = await caller.call(DP_SIP, "bob", "alice");
    expect([alice.code, bob.got(alice.callId)]).toEqual([486, true]);
    await applied("callfwd", res.version);
  }, 60_000);

  it("(c) an alias row makes a call to the alias reach the registered user within a second", async () => {
    const before = await caller.call(DP_SIP, "sales", "alice");
    expect(before.code).toBe(404);

    const { t0, res } = await write("dbaliases.create", { alias_username: "sales", alias_domain: "", username: "bob", domain: "" });
    expect(res).toMatchObject({ kind: "alias_db", row: { alias_username: "sales", username: "bob" } });
    const { ms, call } = await firstCallThat("a call to sales to reach bob", t0, () => caller.call(DP_SIP, "sales", "alice"), (c) => bob.got(c.callId));
    latencies.alias_db = ms;
    expect(bob.invites.get(call.callId)).toBe(`sip:bob@127.0.0.1:${bob.peer.port}`);
    expect(ms).toBeLessThan(1000);
    await applied("alias_db", res.version);
  }, 60_000);

  it("(d) a speed_dial row makes alice's 12 reach bob within a second", async () => {
    const before = await caller.call(DP_SIP, "12", "alice");
    expect(before.code).toBe(404);

    const { t0, res } = await write("speed_dial.create", { username: "alice", sd_username: "12", new_uri: `sip:bob@127.0.0.1:${DP_SIP}` });
    expect(res).toMatchObject({ kind: "speed_dial", row: { username: "alice", sd_username: "12" } });
    const { ms } = await firstCallThat("alice's 12 to reach bob", t0, () => caller.call(DP_SIP, "12", "alice"), (c) => bob.got(c.callId));
    latencies.speed_dial = ms;
    expect(ms).toBeLessThan(1000);
    await applied("speed_dial", res.version);
  }, 60_000);

  it("rows the modules refuse are refused by the API with kind, table and row; the data plane keeps its tables", async () => {
    const running = { callfwd: await dp.version("callfwd"), alias_db: await dp.version("alias_db") };
    const cf = await jsonRpc(cp.rpcUrl, "olelo_callfwd.create", { username: "dave", cf_type: "often", target: "sip:x@example.com" });
    expect(cf.error).toMatchObject({ code: 422, data: { kind: "callfwd", table: "olelo_callfwd", row: expect.any(Number), reason: expect.stringMatching(/cf_type/) } });
    const tg = await jsonRpc(cp.rpcUrl, "olelo_callfwd.create", { username: "dave", cf_type: "busy", target: "voicemail" });
    expect(tg.error).toMatchObject({ code: 422, data: { table: "olelo_callfwd", reason: expect.stringMatching(/target/) } });
    const bl = await jsonRpc(cp.rpcUrl, "olelo_callblock.create", { username: "bob", list_type: "block", caller: "eve" });
    expect(bl.error).toMatchObject({ code: 422, data: { kind: "callfwd", table: "olelo_callblock", reason: expect.stringMatching(/list_type/) } });
    const al = await jsonRpc(cp.rpcUrl, "dbaliases.create", { alias_username: "bad alias", username: "bob" });
    expect(al.error).toMatchObject({ code: 422, data: { kind: "alias_db", table: "dbaliases" } });
    const missing = await jsonRpc(cp.rpcUrl, "olelo_callfwd.create", { username: "dave", cf_type: "busy" });
    expect(missing.error).toMatchObject({ code: -32602, data: { param: "target" } });
    expect(await dp.version("callfwd")).toBe(running.callfwd);
    expect(await dp.version("alias_db")).toBe(running.alias_db);
    const [rows] = await admin!.query("SELECT COUNT(*) AS n FROM olelo_callfwd WHERE username = 'dave'");
    expect((rows as Array<{ n: number }>)[0]!.n).toBe(0);
  }, 30_000);

  it("all of it without a data-plane restart", async () => {
    expect(dp.alive()).toBe(true);
    expect(dp.proc.pid).toBe(dpPid);
    expect(dp.proc.exitCode).toBeNull();
    const all = await rpcResult<Array<{ kind: string; source: string | null; lastError: string | null }>>(dp.rpcUrl, "core.config_status");
    const mine = KINDS.map((k) => all.find((s) => s.kind === k));
    expect(mine.map((s) => [s?.kind, s?.source, s?.lastError])).toEqual(KINDS.map((k) => [k, "control-plane", null]));
  });
});
