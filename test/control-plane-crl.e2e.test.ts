/**
 * Issue 13, certificate revocation by CRL on the table push, with real processes: a control plane
 * (`npx tsx control-plane/main.ts` on MariaDB `olelo_test_e2e_crl`) with mutual TLS and
 * `--push-tls-crl`, and data planes (`npx tsx data-plane/main.ts`) with `controlPlane.tls`. The
 * fleet CA, its certificates and its CRLs are made here with `openssl ca -revoke` / `-gencrl`
 * (test/kit/fleet-pki.ts). Ports: a freePortBlock(20) base P, API P, push P+1, data planes P+2...
 *
 * Shown: a node whose certificate serial is on the CRL is refused at connect, the others get their
 * tables; `access.status` shows the CRL (issuer, nextUpdate, count); a CRL listing a connected node,
 * loaded by `access.reload`, cuts it off (`cutOff`), and one loaded by the file watch alone cuts off
 * another; a CRL that does not verify against the fleet CA is refused by the reload and the old one
 * stays; a data plane with `controlPlane.tls.crl` listing the control plane's certificate refuses
 * that control plane.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFleetPki } from "./kit/fleet-pki.js";
import { freePortBlock } from "./kit/ports.js";
import {
  dropE2eDatabase,
  freshE2eDatabase,
  rpcResult,
  spawnTsx,
  startDataPlaneProcess,
  stopAllProcesses,
  waitForPort,
  waitUntil,
  type DataPlaneProcess,
  type TestProcess,
} from "./helpers/processes.js";

const DB = "olelo_test_e2e_crl";
const BASE = await freePortBlock(20);
const API = BASE;
const GRPC = BASE + 1;
const pki = makeFleetPki();
const f = pki.f;
const ADMIN = "adm-" + "c".repeat(24);
const URL_ = `https://127.0.0.1:${API}/RPC`;

async function call(method: string, params: unknown = {}): Promise<any> {
  const { request } = await import("node:https");
  const payload = JSON.stringify({ jsonrpc: "2.0", id: 1, method, params });
  const body = await new Promise<any>((resolve, reject) => {
    const req = request(URL_, { method: "POST", ca: readFileSync(f("fleet-ca.pem")), headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve(JSON.parse(text)));
    });
    req.on("error", reject);
    req.end(payload);
  });
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

let admin: mysql.Connection;
let cp: TestProcess;
let port = BASE + 2;
const dps = new Map<string, DataPlaneProcess>();

async function dataPlane(node: string, extraTls: Record<string, unknown> = {}, cert = node): Promise<DataPlaneProcess> {
  const dp = await startDataPlaneProcess({
    node,
    sipPort: port++,
    controlPort: port++,
    controlPlane: `127.0.0.1:${GRPC}`,
    modules: { dispatcher: { ping_interval: 0 } },
    controlPlaneExtra: { backoff: { initialMs: 200, maxMs: 800 }, tls: { ca: f("fleet-ca.pem"), cert: f(`${cert}.pem`), key: f(`${cert}.key`), ...extraTls } },
  });
  dps.set(node, dp);
  return dp;
}
const sync = (dp: DataPlaneProcess) => rpcResult<any>(dp.rpcUrl, "core.sync_status");

beforeAll(async () => {
  pki.ca("fleet-ca");
  pki.ca("foreign-ca");
  pki.cert("fleet-ca", "control-plane", "cp", true);
  for (const n of ["edge-1", "edge-2", "edge-3", "edge-4"]) pki.cert("fleet-ca", n, n, false);
  pki.revoke("fleet-ca", "edge-3");
  pki.crl("fleet-ca", "fleet.crl", 7);
  writeFileSync(f("tokens.json"), JSON.stringify({ [ADMIN]: "admin" }));
  admin = await freshE2eDatabase(DB);
  cp = spawnTsx("control-plane (crl)", "control-plane/main.ts", [
    "--db-url", `mysql://root@127.0.0.1:3306/${DB}`, "--api", `127.0.0.1:${API}`, "--grpc", `127.0.0.1:${GRPC}`, "--poll-ms", "0",
    "--push-tls-cert", f("cp.pem"), "--push-tls-key", f("cp.key"), "--push-tls-ca", f("fleet-ca.pem"), "--push-tls-crl", f("fleet.crl"),
    "--api-tls-cert", f("cp.pem"), "--api-tls-key", f("cp.key"), "--api-tokens", f("tokens.json"), "--tls-poll-ms", "1000",
  ], { OLELO_LOG_FORMAT: "json" });
  await waitForPort(API, "127.0.0.1", 60_000, [cp]);
  await waitUntil("the control plane answers over HTTPS", async () => (await call("status")).db.ok === true, 30_000, [cp]);
}, 120_000);

afterAll(async () => {
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
});

describe("push CRL (real control plane and data planes)", () => {
  it("refuses a node on the CRL at connect, serves the others; access.status shows the CRL", async () => {
    const [e1, e2, e3] = await Promise.all([dataPlane("edge-1"), dataPlane("edge-2"), dataPlane("edge-3")]);
    const row = await call("dispatcher.create", { setid: 1, destination: "sip:10.7.7.1:5060" });
    for (const dp of [e1, e2]) await waitUntil(`${dp.node} runs the dispatcher version`, async () => (await dp.version("dispatcher")) === row.version, 30_000, [dp, cp]);
    await waitUntil("edge-3 is refused", async () => /revoked by the CRL/.test((await sync(e3)).lastError ?? ""), 20_000, [e3, cp]);
    const s3 = await sync(e3);
    expect(s3.connected).toBe(false);
    expect(s3.lastError).toBe(`PERMISSION_DENIED: node 'edge-3': client certificate serial ${pki.serial("edge-3")} is revoked by the CRL of CN=fleet-ca (since ${s3.lastError.split("(since ")[1]}`);
    expect(await e3.version("dispatcher")).toBeNull();
    const st = await call("access.status");
    expect(st.push.crl).toMatchObject({ file: f("fleet.crl"), revoked: 1, expired: false, lastError: null, crls: [{ issuer: "CN=fleet-ca", revoked: 1, crlNumber: "1000", expired: false }] });
    const days = (Date.parse(st.push.crl.crls[0].nextUpdate) - Date.now()) / 86400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);
    expect(cp.log()).toMatch(/"msg":"push CRL loaded".*"revoked":1/);
    await e3.stop();
  }, 120_000);

  it("access.reload with a CRL listing a connected node cuts it off; the watched file alone cuts off another", async () => {
    const e1 = dps.get("edge-1")!;
    const e2 = dps.get("edge-2")!;
    pki.revoke("fleet-ca", "edge-1");
    pki.crl("fleet-ca", "next.crl", 7);
    // written and reloaded at once, before the 1 s file poll: the answer names the cut node
    writeFileSync(f("fleet.crl"), readFileSync(f("next.crl")));
    const r = await call("access.reload");
    expect(r.ok).toBe(true);
    expect(r.push.crl).toMatchObject({ ok: true });
    // the poll may have seen the file first (then the cut happened there): edge-1 is cut either way
    expect(r.cutOff.length === 0 || (r.cutOff.length === 1 && r.cutOff[0] === "edge-1")).toBe(true);
    await waitUntil("edge-1 is cut off", async () => /revoked by the CRL/.test((await sync(e1)).lastError ?? ""), 10_000, [cp]);
    expect((await sync(e1)).connected).toBe(false);
    expect((await sync(e2)).connected).toBe(true);
    expect(cp.log()).toMatch(/"msg":"data plane cut off after an access reload","node":"edge-1"/);
    const nodes = (await call("nodes")) as Array<{ nodeId: string; connected: boolean }>;
    expect(nodes.find((n) => n.nodeId === "edge-1")!.connected).toBe(false);

    // no RPC: the file watch (1 s) picks up a CRL that lists edge-2 too
    pki.revoke("fleet-ca", "edge-2");
    pki.crl("fleet-ca", "fleet.crl", 7);
    await waitUntil("edge-2 cut off by the watched CRL", async () => /revoked by the CRL/.test((await sync(e2)).lastError ?? ""), 15_000, [cp]);
    expect((await call("access.status")).push.crl).toMatchObject({ revoked: 3, crls: [{ crlNumber: "1002" }] });
    // and their reconnects stay refused
    await waitUntil("edge-1 retried and was refused again", async () => (await sync(e1)).reconnects >= 2, 10_000, [cp]);
    expect((await sync(e1)).connected).toBe(false);
  }, 90_000);

  it("a CRL the fleet CA did not sign is refused by the reload; the old one stays in force", async () => {
    pki.crl("foreign-ca", "foreign.crl");
    writeFileSync(f("fleet.crl"), readFileSync(f("foreign.crl")));
    const r = await call("access.reload");
    expect(r.ok).toBe(false);
    expect(r.push.crl.error).toBe(`crl file ${f("fleet.crl")}: CRL issuer is none of the CA certificates (CN=fleet-ca)`);
    const st = (await call("access.status")).push.crl;
    expect(st.revoked).toBe(3);
    expect(st.lastError).toMatch(/CRL issuer is none of the CA certificates/);
    // a node not on the old list still connects
    const e4 = await dataPlane("edge-4");
    await waitUntil("edge-4 connected", async () => (await sync(e4)).connected === true, 30_000, [e4, cp]);
  }, 60_000);

  it("a data plane with controlPlane.tls.crl refuses a control plane whose certificate the CRL lists", async () => {
    const e4 = dps.get("edge-4")!;
    // edge-4 is connected; a data plane that checks the server against a CRL listing cp.pem is not
    pki.revoke("fleet-ca", "cp");
    pki.crl("fleet-ca", "dp.crl");
    const e5 = await (async () => {
      pki.cert("fleet-ca", "edge-5", "edge-5", false);
      return dataPlane("edge-5", { crl: f("dp.crl") });
    })();
    await waitUntil("edge-5 refuses the control plane", async () => /control plane certificate serial [0-9A-F]+ is revoked by the CRL of CN=fleet-ca/.test((await sync(e5)).lastError ?? ""), 30_000, [e5, cp]);
    const s5 = await sync(e5);
    expect(s5.connected).toBe(false);
    expect(s5.security.crl).toMatchObject({ revoked: 4, crls: [{ issuer: "CN=fleet-ca" }] });
    expect(await e5.version("dispatcher")).toBeNull();
    expect((await sync(e4)).connected).toBe(true);
  }, 60_000);
});
