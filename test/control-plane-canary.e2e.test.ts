/**
 * Issue 13, canary and rollback, dry run, fleet status — with real processes, MariaDB and sipp:
 * one control plane (`control-plane/main.ts`, change check off: rows written in SQL are the
 * pending change until `push`) and three data planes (`data-plane/main.ts`, dispatcher module,
 * default script with `dispatcherSet: 1`) labelled zone=eu, zone=us, zone=us, sending StatsReports
 * every 300 ms. Every operator step goes through the real `olectl` binary.
 *
 * - `olectl dryrun` answers where a number goes now and after the pending SQL change;
 * - `olectl push --canary zone=eu` gives the new version only to the eu node; after the soak
 *   the control plane promotes it to the fleet by itself (audit: canary.promote with the reason);
 * - a change whose destination answers 503 is pushed as a canary; the other nodes carry good
 *   calls, calls through the canary node fail (the gateway's 503 relayed as 500, then 404 once
 *   the default script marked it inactive), and the control plane rolls it back by itself before
 *   the soak ends (audit: canary.rollback naming the 5xx ratio against the other nodes' 0 %); a
 *   plain push afterwards holds that version;
 * - `olectl rollback dispatcher V1` serves an earlier kept version to all nodes and pins the
 *   kind (a newer SQL change + push is held) until `olectl unpin dispatcher`;
 * - `olectl nodes` prints the fleet table (running, offered, lag, pinned, last NACK, canary role).
 */
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
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
import { olectlProcess } from "./scripts/cli-support.js";
import { freePortBlock } from "./kit/ports.js";

const DB = "olelo_test_e2e_canary";
const BASE = await freePortBlock(50);
const CP_API = BASE + 1;
const CP_GRPC = BASE + 2;
const UAS_A = BASE + 20;
const UAS_B = BASE + 21;
const UAS_BAD = BASE + 22;
let uacPort = BASE + 30;

let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dps: DataPlaneProcess[] = [];
const uas: TracedUas[] = [];
const olectl = (args: string[]) => olectlProcess(args, { OLELO_CP_URL: `http://127.0.0.1:${CP_API}/RPC` });

const versions = () => Promise.all(dps.map((dp) => dp.version("dispatcher")));
async function servedVersion(): Promise<string> {
  const st = await rpcResult(cp.rpcUrl, "status");
  return st.kinds.find((k: { kind: string }) => k.kind === "dispatcher").version;
}
async function setDestination(port: number, description = ""): Promise<void> {
  await admin.query("UPDATE dispatcher SET destination = ?, description = ? WHERE setid = 1", [`sip:127.0.0.1:${port}`, description]);
}
async function auditRows(action: string): Promise<Array<{ actor: string; after: { reason?: string; kinds?: unknown } }>> {
  return (await rpcResult(cp.rpcUrl, "audit.list", { limit: 200 })).rows.filter((r: { action: string }) => r.action === action);
}
async function until(what: string, pred: () => Promise<boolean>, ms = 20_000) {
  return waitUntil(what, pred, ms, [cp, ...dps]);
}

let v1 = "";
let v2 = "";

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  uas.push(await startTracedUas(UAS_A), await startTracedUas(UAS_B), await startTracedUas(UAS_BAD, "ds_uas_503.xml"));
  cp = await startControlPlaneProcess({ db: DB, apiPort: CP_API, grpcPort: CP_GRPC, pollMs: 0 });
  const zones = ["eu", "us", "us"];
  dps = await Promise.all(
    zones.map((zone, i) =>
      startDataPlaneProcess({
        node: `canary-${zone}-${i}`,
        sipPort: BASE + 10 + 2 * i,
        controlPort: BASE + 11 + 2 * i,
        controlPlane: cp.grpcUrl,
        controlPlaneExtra: { labels: { zone }, statsIntervalMs: 300 },
      }),
    ),
  );
  const created = await rpcResult(cp.rpcUrl, "dispatcher.create", { setid: 1, destination: `sip:127.0.0.1:${UAS_A}`, description: "a" });
  v1 = created.version;
  await until("all nodes on v1", async () => (await versions()).every((v) => v === v1));
}, 120_000);

afterAll(async () => {
  await stopAllProcesses();
  for (const u of uas) await u.stop();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 40_000);

describe("canary, rollback, dry run and fleet status (real control plane, 3 data planes, MariaDB, sipp)", () => {
  it("dryrun answers now and after the pending SQL change, before anything is pushed", async () => {
    await setDestination(UAS_B, "b");
    await admin.query("INSERT INTO prefix_route (prefix, route, comment) VALUES ('4930', 'berlin', '')");
    const r = await olectl(["dryrun", "4930123", "--kind", "dispatcher", "--kind", "prefix_route", "--set", "1"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`4930123\\s+dispatcher\\s+set 1: sip:127\\.0\\.0\\.1:${UAS_A}\\s+set 1: sip:127\\.0\\.0\\.1:${UAS_B}\\s+yes`));
    expect(r.out).toMatch(/4930123\s+prefix_route\s+no prefix matches\s+route 'berlin'\s+yes/);
    const j = JSON.parse((await olectl(["--json", "dryrun", "sip:+4940555@example.com", "--kind", "prefix_route"])).out);
    expect(j.results).toEqual([{ query: "sip:+4940555@example.com", kind: "prefix_route", now: "no prefix matches", after: "no prefix matches", changed: false }]);
    // nothing was pushed
    expect(await versions()).toEqual([v1, v1, v1]);
    const bad = await olectl(["dryrun", "1", "--kind", "nosuch"]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/kinds/);
  }, 60_000);

  it("push --canary zone=eu: only the eu node runs the new version during the soak, then it is promoted by itself", async () => {
    const r = await olectl(["push", "--canary", "zone=eu", "--soak-ms", "4000"]);
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toMatch(/canary \d+: soaking \(zone=eu; nodes canary-eu-0\)/);
    v2 = await servedVersion();
    expect(v2).not.toBe(v1);
    await until("eu node on v2", async () => (await versions())[0] === v2, 10_000);
    expect(await versions()).toEqual([v2, v1, v1]);
    const nodes = await olectl(["nodes"]);
    expect(nodes.code).toBe(0);
    expect(nodes.out.split("\n")[0]).toMatch(/^NODE\s+UP\s+LABELS\s+CANARY\s+KIND\s+RUNNING\s+OFFERED\s+LAG_MS\s+PINNED\s+LAST_NACK$/);
    expect(nodes.out).toMatch(new RegExp(`canary-eu-0\\s+yes\\s+zone=eu\\s+canary\\s+dispatcher\\s+${v2}\\s+${v2}\\s+0\\s+no\\s+-`));
    expect(nodes.out).toMatch(new RegExp(`canary-us-1\\s+yes\\s+zone=us\\s+rest\\s+dispatcher\\s+${v1}\\s+${v1}`));
    await until("promotion to every node", async () => (await versions()).every((v) => v === v2), 20_000);
    const st = await rpcResult(cp.rpcUrl, "canary.status");
    expect(st.current).toBeNull();
    expect(st.recent[0]).toMatchObject({ state: "promoted", selector: "zone=eu", nodes: ["canary-eu-0"] });
    expect(st.recent[0].reason).toMatch(/^soak of 4000 ms passed/);
    const promoted = await auditRows("canary.promote");
    expect(promoted[0]).toMatchObject({ actor: "canary", after: { reason: st.recent[0].reason } });
    expect((await auditRows("canary.start"))[0]).toMatchObject({ actor: "local" });
  }, 60_000);

  it("a change that makes the canary answer 503 is rolled back by the control plane, with the reason in the audit log", async () => {
    await setDestination(UAS_BAD, "bad");
    const r = await olectl(["push", "--canary", "zone=eu", "--soak-ms", "30000"]);
    expect(r.code, r.err + r.out).toBe(0);
    const v3 = await servedVersion();
    await until("eu node on the bad version", async () => (await versions())[0] === v3, 10_000);
    // the other nodes carry good traffic meanwhile (v2 → UAS_B answers 200): the verdict compares against it
    const good = await runSipp({ scenario: "uac_rr.xml", port: uacPort++, remote: `127.0.0.1:${dps[1]!.sipPort}`, calls: 10, rate: 20, service: "good", timeoutS: 20 });
    expect(good.successful).toBe(10);
    await until("the other nodes' replies reach the verdict", async () => ((await rpcResult(cp.rpcUrl, "canary.status")).current?.health?.rest.replies ?? 0) >= 10, 10_000);
    const invitesBefore = uas[2]!.invites().length;
    const t0 = Date.now();
    const calls = await runSipp({ scenario: "uac_expect.xml", port: uacPort++, remote: `127.0.0.1:${dps[0]!.sipPort}`, calls: 10, rate: 20, service: "bad", templ: { code: "503" }, timeoutS: 20 });
    // The first call reaches the bad gateway: its 503 goes upstream as 500 (a proxy does not relay
    // 503) and the default script's failover marks the gateway inactive; later calls get 404
    // "No destination". Either way no call through the canary succeeds.
    expect(calls.successful + calls.failed).toBe(10);
    expect(uas[2]!.invites().length - invitesBefore).toBeGreaterThanOrEqual(1);
    await until("eu node back on v2", async () => (await versions())[0] === v2, 15_000);
    expect(Date.now() - t0).toBeLessThan(15_000); // well before the 30 s soak ends
    expect(await versions()).toEqual([v2, v2, v2]);
    const st = await rpcResult(cp.rpcUrl, "canary.status");
    expect(st.recent[0]).toMatchObject({ state: "rolled-back" });
    // rolled back by the 5xx/408 ratio against the other nodes (0 of >= 10), not by a NACK or the soak end
    const m = /^5xx\/408 replies on the canary nodes (\d+\.\d)% \((\d+) of (\d+)\) vs 0\.0% on the other nodes \(allowed \+5\.0%\)$/.exec(st.recent[0].reason);
    expect(m, st.recent[0].reason).not.toBeNull();
    const [errors, replies] = [Number(m![2]), Number(m![3])];
    expect(errors).toBeGreaterThanOrEqual(1);
    expect(replies).toBeGreaterThanOrEqual(5); // minSamples
    expect(errors / replies).toBeGreaterThan(0.05);
    expect(st.recent[0].health.rest.errors).toBe(0);
    expect(st.recent[0].health.rest.replies).toBeGreaterThanOrEqual(10);
    const rolled = await auditRows("canary.rollback");
    expect(rolled[0]).toMatchObject({ actor: "canary", after: { reason: st.recent[0].reason } });
    // a plain push does not send the version the canary rejected
    const push = await olectl(["push"]);
    expect(push.code).toBe(0);
    expect(push.out).toMatch(/held: dispatcher \w+: rolled back by a canary: 5xx\/408/);
    expect(await versions()).toEqual([v2, v2, v2]);
  }, 90_000);

  it("rollback KIND VERSION serves a kept earlier version to every node and pins the kind until unpin", async () => {
    const snaps = await olectl(["snapshots", "dispatcher"]);
    expect(snaps.out).toContain(v1);
    const r = await olectl(["rollback", "dispatcher", v1]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`dispatcher: rolled back from ${v2.slice(0, 16)} to ${v1}; pinned`));
    await until("all nodes on v1", async () => (await versions()).every((v) => v === v1));
    await setDestination(UAS_B, "newer");
    const push = await olectl(["push"]);
    expect(push.out).toMatch(/held: dispatcher \w+: pinned to \w+ by local/);
    const v4 = await servedVersion();
    expect(await versions()).toEqual([v1, v1, v1]);
    const nodes = await olectl(["nodes"]);
    expect(nodes.out).toMatch(new RegExp(`canary-us-2\\s+yes\\s+zone=us\\s+-\\s+dispatcher\\s+${v1}\\s+${v1}\\s+0\\s+yes`));
    expect((await auditRows("rollback"))[0]).toMatchObject({ after: { kind: "dispatcher", version: v1, from: v2, pinned: true } });
    const bogus = await olectl(["rollback", "dispatcher", "0000000000000000"]);
    expect(bogus.code).not.toBe(0);
    expect(bogus.err).toMatch(/version 0000000000000000 of dispatcher is not among the kept versions/);
    const un = await olectl(["unpin", "dispatcher"]);
    expect(un.code, un.err).toBe(0);
    await until("all nodes on the newest version after unpin", async () => (await versions()).every((v) => v === v4));
    const again = await jsonRpc(cp.rpcUrl, "unpin", { kind: "dispatcher" });
    expect(again.error).toMatchObject({ code: 409, message: "dispatcher is not pinned" });
  }, 60_000);

  it("push --percent picks a share of the nodes; canary abort rolls back by hand; bad selectors are refused", async () => {
    await setDestination(UAS_A, "percent");
    const r = await olectl(["push", "--percent", "34", "--soak-ms", "60000"]);
    expect(r.code, r.err + r.out).toBe(0);
    const st = await rpcResult(cp.rpcUrl, "canary.status");
    expect(st.current.nodes).toHaveLength(2); // ceil(3 × 34 %)
    const busy = await olectl(["push", "--canary", "zone=us"]);
    expect(busy.code).not.toBe(0);
    expect(busy.err).toMatch(/canary \d+ is still soaking/);
    const abort = await olectl(["canary", "abort"]);
    expect(abort.code, abort.err).toBe(0);
    expect(abort.out).toMatch(/rolled-back .*aborted by local/s);
    const none = await olectl(["push", "--canary", "zone=mars"]);
    expect(none.err).toMatch(/no connected data plane matches zone=mars; nothing pushed/);
    const bad = await olectl(["push", "--canary", "zone"]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/canary.*label=value/);
  }, 60_000);
});
