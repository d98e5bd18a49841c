/**
 * Change capture end to end (issue 13, "Sub-second pickup of SQL writes"), real processes and a
 * real MariaDB: a control plane (`control-plane/main.ts --cdc-ms 50 --poll-ms 0`: no full poll at
 * all, so only the triggers + change-log tail can deliver a SQL write) and two data planes
 * (`data-plane/main.ts`, modules dispatcher + auth); a change counts as live when both run it.
 *
 * - the triggers exist on the kinds' tables after start, and a second start keeps them;
 * - a plain SQL INSERT / UPDATE / DELETE on `dispatcher` and on `subscriber` is applied on the
 *   data plane (its version equals the control plane's, the row is there) in well under a second
 *   (asserted < 1.5 s for CI noise; bench/push/cdc-latency.ts measures p50/p99);
 * - writes made while the control plane is stopped are live after it starts again (nothing missed).
 */
import type { RowDataPacket } from "mysql2/promise";
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
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const DB = "olelo_test_e2e_cdc";
const BASE = await freePortBlock(10);
const CP_API = BASE + 1;
const CP_GRPC = BASE + 2;

let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;
let dp2: DataPlaneProcess;

const startCp = () => startControlPlaneProcess({ db: DB, apiPort: CP_API, grpcPort: CP_GRPC, pollMs: 0, cdcMs: 50, extraArgs: ["--row-policy", "dispatcher=hold"] });

/** The version the control plane serves for `kind`. */
async function served(kind: string): Promise<string | null> {
  const st = await rpcResult(cp.rpcUrl, "status");
  return st.kinds.find((k: { kind: string }) => k.kind === kind)?.version ?? null;
}

async function dpStatus(kind: string, node = dp): Promise<{ version: string | null; rows: number }> {
  const st = await rpcResult<Array<{ version: string | null; rows: number }>>(node.rpcUrl, "core.config_status", [kind]);
  return st[0]!;
}

/** Runs `sql`, then polls the data plane until `kind` has `rows` rows under a new version; returns ms. */
async function timeToLive(kind: string, sql: string, rows: number): Promise<number> {
  const before = (await dpStatus(kind)).version;
  const t0 = performance.now();
  await admin.query(sql);
  for (;;) {
    const s = await dpStatus(kind);
    const s2 = await dpStatus(kind, dp2);
    if (s.version !== before && s.rows === rows && s2.version === s.version) return performance.now() - t0;
    if (performance.now() - t0 > 10_000) throw new Error(`${kind}: '${sql}' not live after 10 s (dp ${JSON.stringify(s)}); cp log: ${cp.log().slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function destinations(): Promise<string[]> {
  const l = await rpcResult(dp.rpcUrl, "dispatcher.list", ["short"]);
  return (l.RECORDS ?? []).flatMap((r: { SET: { TARGETS: Array<{ DEST: { URI: string } }> } }) => r.SET.TARGETS.map((t) => t.DEST.URI)).sort();
}

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  cp = await startCp();
  dp = await startDataPlaneProcess({
    node: "e2e-cdc",
    sipPort: BASE + 5,
    controlPort: BASE + 6,
    controlPlane: cp.grpcUrl,
    modules: { dispatcher: { ping_interval: 0 }, auth: { secret: "olelo-test-secret-0123456789" } },
  });
  dp2 = await startDataPlaneProcess({
    node: "e2e-cdc-2",
    sipPort: BASE + 7,
    controlPort: BASE + 8,
    controlPlane: cp.grpcUrl,
    modules: { dispatcher: { ping_interval: 0 }, auth: { secret: "olelo-test-secret-0123456789" } },
  });
  await waitUntil(
    "dispatcher and subscriber applied on both",
    async () => {
      for (const n of [dp, dp2]) if ((await dpStatus("dispatcher", n)).version === null || (await dpStatus("subscriber", n)).version === null) return false;
      return true;
    },
    20_000,
    [cp, dp, dp2],
  );
}, 120_000);

afterAll(async () => {
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
});

describe("change capture: SQL writes go live without polling", () => {
  it("installs the triggers on every kind table", async () => {
    const [rows] = await admin.query<RowDataPacket[]>(
      "SELECT EVENT_OBJECT_TABLE AS t, EVENT_MANIPULATION AS e FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME LIKE 'olelo\\_cdc\\_%'",
      [DB],
    );
    const on = (t: string) => rows.filter((r) => r.t === t).map((r) => String(r.e)).sort();
    expect(on("dispatcher")).toEqual(["DELETE", "INSERT", "UPDATE"]);
    expect(on("subscriber")).toEqual(["DELETE", "INSERT", "UPDATE"]);
    expect(on("prefix_route")).toEqual(["DELETE", "INSERT", "UPDATE"]);
    expect(on("location")).toEqual([]); // not a pushed kind
    const st = await rpcResult(cp.rpcUrl, "status");
    expect(st.changeCapture).toMatchObject({ intervalMs: 50, lost: false });
  });

  it("INSERT, UPDATE and DELETE on dispatcher and subscriber are live on both data planes in < 1.5 s", async () => {
    const times: Record<string, number> = {};
    times.dsInsert = await timeToLive("dispatcher", "INSERT INTO dispatcher (id, setid, destination, flags, priority, attrs, description) VALUES (1, 1, 'sip:10.9.0.1:5060', 0, 0, '', 'cdc')", 1);
    expect(await destinations()).toEqual(["sip:10.9.0.1:5060"]);
    times.dsUpdate = await timeToLive("dispatcher", "UPDATE dispatcher SET destination = 'sip:10.9.0.2:5060' WHERE id = 1", 1);
    expect(await destinations()).toEqual(["sip:10.9.0.2:5060"]);
    times.dsDelete = await timeToLive("dispatcher", "DELETE FROM dispatcher WHERE id = 1", 0);
    expect(await destinations()).toEqual([]);
    times.subInsert = await timeToLive("subscriber", "INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('alice', 'example.org', 'pw', '', '')", 1);
    times.subUpdate = await timeToLive("subscriber", "UPDATE subscriber SET password = 'pw2' WHERE username = 'alice'", 1);
    // subscriber versions pushed without plaintext passwords carry ".h" (push/README.md "Least secret material")
    expect((await dpStatus("subscriber")).version).toBe(`${await served("subscriber")}.h`);
    times.subDelete = await timeToLive("subscriber", "DELETE FROM subscriber WHERE username = 'alice'", 0);
    for (const [what, ms] of Object.entries(times)) expect(ms, what).toBeLessThan(1500);
    // the spliced version is the content hash a full read gives (same version as a fresh compile)
    const viaCdc = await served("dispatcher");
    await rpcResult(cp.rpcUrl, "push");
    expect(await served("dispatcher")).toBe(viaCdc);
  });

  it("a bad row written in SQL is refused with its row and keeps the kind on its last good version until it is fixed", async () => {
    const good = await served("dispatcher");
    await admin.query("INSERT INTO dispatcher (id, setid, destination, flags, priority, attrs, description) VALUES (3, 1, 'not a sip uri', 0, 0, '', 'bad')");
    await waitUntil("the bad row is reported", async () => (await rpcResult(cp.rpcUrl, "status")).kinds.find((k: { kind: string }) => k.kind === "dispatcher").lastError?.row === 3, 5000, [cp]);
    // a good row written after it does not slip past the refused one
    await admin.query("INSERT INTO dispatcher (id, setid, destination, flags, priority, attrs, description) VALUES (4, 1, 'sip:10.9.0.4:5060', 0, 0, '', 'good')");
    await letTimePass(500, "the good row would be served within this if it slipped past");
    expect(await served("dispatcher")).toBe(good);
    expect(await destinations()).toEqual([]);
    // removing the bad row clears the error (the kind is back at the same content: same version)
    await admin.query("DELETE FROM dispatcher WHERE id IN (3, 4)");
    await waitUntil("the error is gone", async () => (await rpcResult(cp.rpcUrl, "status")).kinds.find((k: { kind: string }) => k.kind === "dispatcher").lastError === null, 1500, [cp]);
    expect(await served("dispatcher")).toBe(good);
  });

  it("misses nothing across a control-plane restart: writes made while it is down are live after it starts", async () => {
    await timeToLive("dispatcher", "INSERT INTO dispatcher (id, setid, destination, flags, priority, attrs, description) VALUES (5, 1, 'sip:10.9.0.5:5060', 0, 0, '', 'before')", 1);
    await cp.stop("SIGTERM");
    await admin.query("INSERT INTO dispatcher (id, setid, destination, flags, priority, attrs, description) VALUES (6, 1, 'sip:10.9.0.6:5060', 0, 0, '', 'while down')");
    await admin.query("DELETE FROM dispatcher WHERE id = 5");
    await admin.query("INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('bob', 'example.org', 'pw', '', '')");
    cp = await startCp();
    await waitUntil("writes made while the control plane was down are live", async () => (await destinations()).join() === "sip:10.9.0.6:5060" && (await dpStatus("subscriber")).rows === 1 && (await dpStatus("dispatcher", dp2)).rows === 1, 30_000, [cp, dp, dp2]);
    // and the tail runs again after the restart
    const ms = await timeToLive("dispatcher", "INSERT INTO dispatcher (id, setid, destination, flags, priority, attrs, description) VALUES (7, 1, 'sip:10.9.0.7:5060', 0, 0, '', 'after')", 2);
    // the control plane has no full poll (pollMs 0): the version came from the change-log tail,
    // and its log says so. Latency is the benchmark's (bench/push/cdc-latency.ts); the bound here
    // is loose because the first change after a restart competes with the restart's own work,
    // which on a loaded CI machine took 2.7 s once.
    expect(cp.log()).toMatch(/"kind":"dispatcher","version":"[0-9a-f]+","rows":2,"refused":0,"trigger":"change log: /);
    expect(ms).toBeLessThan(5000);
  });
});
