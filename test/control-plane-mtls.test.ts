/**
 * Issue 13, security of the fleet channel, with real processes: a control plane
 * (`npx tsx control-plane/main.ts` on MariaDB `olelo_test_e2e_mtls`) started with mutual TLS on the
 * push (`--push-tls-cert/key/ca`, `--push-access`), HTTPS and role tokens on the management API
 * (`--api-tls-cert/key`, `--api-tokens`), and data planes (`npx tsx data-plane/main.ts --config …`)
 * with `controlPlane.tls`. Certificates are made here with the openssl CLI: a fleet CA, a foreign CA,
 * the server certificate (SAN 127.0.0.1) and client certificates with CN = node id.
 *
 * Shown: a node with the fleet CA's certificate receives its tables; a node without a client
 * certificate, one with a foreign CA's certificate, one whose Hello names another node than its
 * certificate, and a plaintext client are refused; a node revoked in the access file is cut off by
 * `access.reload`, and one dropped from the allow-list when the watched file changes; a replaced
 * server certificate is served without a restart (SIGHUP), and a data plane whose certificate files
 * are replaced connects with the new one without a restart; read-only tokens cannot write, operators can,
 * only admins reload; olectl works over HTTPS with `--ca`; subscriber passwords never reach a data
 * plane (its table cache holds ha1 but not the password) unless the control plane runs with
 * `--push-passwords` (in-process `startControlPlane`). Server-only TLS with per-node tokens runs
 * in-process (the real push server and sync client on real sockets).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePortBlock } from "./kit/ports.js";
import {
  ROOT,
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
import { createMemorySource } from "../control-plane/push/push-source.js";
import { createPushServer } from "../control-plane/push/server.js";
import { PushAccess } from "../control-plane/push/push-access.js";
import { WatchedPemFiles } from "../lib/tls/pem-files.js";
import { createSyncClient } from "../data-plane/sync/client.js";
import { createFakeTables } from "../data-plane/sync/testing/fake-sinks.js";

const DB = "olelo_test_e2e_mtls";
const BASE = await freePortBlock(30);
const API = BASE;
const GRPC = BASE + 1;
const dir = mkdtempSync(join(tmpdir(), "olelo-mtls-"));
const f = (n: string) => join(dir, n);

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}
function makeCa(name: string): void {
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f(`${name}.key`), "-out", f(`${name}.pem`), "-days", "2",
    "-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
}
/** A certificate for `cn` signed by `ca`, files `<out>.pem` / `<out>.key`. */
function makeCert(ca: string, cn: string, out: string, server: boolean): void {
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f(`${out}.key`), "-out", f(`${out}.csr`), "-subj", `/CN=${cn}`]);
  writeFileSync(f(`${out}.ext`), server ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n" : "extendedKeyUsage=clientAuth\n");
  openssl(["x509", "-req", "-in", f(`${out}.csr`), "-CA", f(`${ca}.pem`), "-CAkey", f(`${ca}.key`), "-set_serial", `0x${randomBytes(8).toString("hex")}`,
    "-out", f(`${out}.pem`), "-days", "2", "-extfile", f(`${out}.ext`)]);
}

const TOKENS = { ro: "ro-" + randomBytes(12).toString("hex"), op: "op-" + randomBytes(12).toString("hex"), adm: "adm-" + randomBytes(12).toString("hex") };
const URL_ = `https://127.0.0.1:${API}/RPC`;

/** JSON-RPC over HTTPS trusting the fleet CA. */
async function call(token: string | null, method: string, params: unknown = {}): Promise<{ status: number; body: any }> {
  const { request } = await import("node:https");
  const payload = JSON.stringify({ jsonrpc: "2.0", id: 1, method, params });
  return new Promise((resolve, reject) => {
    const req = request(URL_, { method: "POST", ca: readFileSync(f("fleet-ca.pem")), headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end(payload);
  });
}
const ok = async (token: string, method: string, params: unknown = {}) => {
  const r = await call(token, method, params);
  if (r.body.error) throw new Error(`${method}: ${r.body.error.message}`);
  return r.body.result;
};

function olectl(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync("npx", ["--no", "--", "tsx", join(ROOT, "cli/olectl.ts"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, OLELO_CP_URL: URL_ } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** The innermost node process of the control plane's group: `node --import …/tsx/dist/loader.mjs …/main.ts`. */
function controlPlaneNodePid(): number {
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "latin1");
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      const cmd = readFileSync(`/proc/${e}/cmdline`, "latin1").split("\0");
      if (pgrp === cp.pgid && cmd.some((a) => a.endsWith("control-plane/main.ts")) && cmd.some((a) => a.endsWith("tsx/dist/loader.mjs"))) return Number(e);
    } catch {
      /* gone */
    }
  }
  throw new Error("control plane node process not found");
}

let admin: mysql.Connection;
let cp: TestProcess;
let port = BASE + 2;
const nodes: DataPlaneProcess[] = [];

async function dataPlane(node: string, tls: Record<string, unknown> | null): Promise<DataPlaneProcess> {
  const sipPort = port++;
  const controlPort = port++;
  const dp = await startDataPlaneProcess({
    node,
    sipPort,
    controlPort,
    controlPlane: `127.0.0.1:${GRPC}`,
    modules: { dispatcher: { ping_interval: 0 }, auth: {} },
    controlPlaneExtra: { backoff: { initialMs: 200, maxMs: 1000 }, ...(tls ? { tls } : {}) },
  });
  nodes.push(dp);
  return dp;
}
const syncStatus = (dp: DataPlaneProcess) => rpcResult(dp.rpcUrl, "core.sync_status");
const writeAccess = (a: unknown) => writeFileSync(f("access.json"), JSON.stringify(a));

beforeAll(async () => {
  makeCa("fleet-ca");
  makeCa("foreign-ca");
  makeCert("fleet-ca", "control-plane", "cp", true);
  makeCert("fleet-ca", "control-plane", "cp2", true);
  for (const n of ["edge-1", "edge-2", "edge-3"]) makeCert("fleet-ca", n, n, false);
  makeCert("foreign-ca", "edge-1", "edge-1-foreign", false);
  writeAccess({ nodes: ["edge-1", "edge-2", "edge-3"], revoked: [] });
  writeFileSync(f("tokens.json"), JSON.stringify({ [TOKENS.ro]: { role: "read-only", name: "viewer" }, [TOKENS.op]: "operator", [TOKENS.adm]: { role: "admin", name: "root" } }));
  admin = await freshE2eDatabase(DB);
  cp = spawnTsx("control-plane (mtls)", "control-plane/main.ts", [
    "--db-url", `mysql://root@127.0.0.1:3306/${DB}`, "--api", `127.0.0.1:${API}`, "--grpc", `127.0.0.1:${GRPC}`, "--poll-ms", "0",
    "--push-tls-cert", f("cp.pem"), "--push-tls-key", f("cp.key"), "--push-tls-ca", f("fleet-ca.pem"), "--push-access", f("access.json"),
    "--api-tls-cert", f("cp.pem"), "--api-tls-key", f("cp.key"), "--api-tokens", f("tokens.json"), "--tls-poll-ms", "2500",
  ], { OLELO_LOG_FORMAT: "json" });
  await waitForPort(API, "127.0.0.1", 60_000, [cp]);
  await waitUntil("the control plane's status over HTTPS", async () => (await ok(TOKENS.ro, "status")).db.ok === true, 30_000, [cp]);
}, 120_000);

afterAll(async () => {
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
});

describe("push over mutual TLS between real processes", () => {
  it("refuses a start without TLS or the explicit loopback flag, with a one-line reason", () => {
    const r = spawnSync("npx", ["--no", "--", "tsx", join(ROOT, "control-plane/main.ts"), "--grpc", "127.0.0.1:1", "--api", "127.0.0.1:2"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n")[0]).toMatch(/^the table push needs TLS: .*--push-insecure-loopback/);
    const r2 = spawnSync("npx", ["--no", "--", "tsx", join(ROOT, "control-plane/main.ts"), "--grpc", "0.0.0.0:1", "--push-insecure-loopback"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    expect(r2.status).toBe(2);
    expect(r2.stderr.split("\n")[0]).toBe("--push-insecure-loopback: --grpc 0.0.0.0 is not a loopback address");
  });

  it("a node with the fleet CA's certificate gets its tables; no certificate, a foreign CA, a wrong CN and plaintext are refused", async () => {
    const good = await dataPlane("edge-1", { ca: f("fleet-ca.pem"), cert: f("edge-1.pem"), key: f("edge-1.key") });
    const noCert = await dataPlane("edge-2", { ca: f("fleet-ca.pem") });
    const foreign = await dataPlane("edge-1-foreign", { ca: f("fleet-ca.pem"), cert: f("edge-1-foreign.pem"), key: f("edge-1-foreign.key") });
    // edge-3 starts with edge-2's certificate in its files
    writeFileSync(f("edge-3-live.pem"), readFileSync(f("edge-2.pem")));
    writeFileSync(f("edge-3-live.key"), readFileSync(f("edge-2.key")));
    const wrongCn = await dataPlane("edge-3", { ca: f("fleet-ca.pem"), cert: f("edge-3-live.pem"), key: f("edge-3-live.key") });

    const row = await ok(TOKENS.op, "dispatcher.create", { setid: 1, destination: "sip:10.9.9.1:5060" });
    const want = row.version as string;
    await waitUntil("edge-1 runs the new dispatcher version", async () => (await good.version("dispatcher")) === want, 20_000, [good, cp]);
    const st = await syncStatus(good);
    expect(st.security.mode).toBe("mtls");
    expect(st.connected).toBe(true);

    await waitUntil("the refused nodes report their errors", async () => {
      const [a, b, c] = await Promise.all([syncStatus(noCert), syncStatus(foreign), syncStatus(wrongCn)]);
      return !!a.lastError && !!b.lastError && !!c.lastError && a.reconnects > 0 && b.reconnects > 0;
    }, 20_000, [cp]);
    for (const dp of [noCert, foreign, wrongCn]) {
      const s = await syncStatus(dp);
      expect(s.connected).toBe(false);
      expect(await dp.version("dispatcher")).toBeNull();
    }
    expect((await syncStatus(wrongCn)).lastError).toMatch(/PERMISSION_DENIED: hello names node 'edge-3' but the client certificate is for 'edge-2'/);
    // no certificate / a foreign CA: the TLS handshake fails, no stream ever opens
    for (const dp of [noCert, foreign]) expect((await syncStatus(dp)).lastError).toMatch(/^UNAVAILABLE: /);
    expect(cp.log()).toMatch(/"msg":"data plane connected","node":"edge-1"/);
    expect(cp.log()).not.toMatch(/"msg":"data plane connected","node":"(edge-2|edge-1-foreign)"/);
    const list = (await ok(TOKENS.ro, "nodes")) as Array<{ nodeId: string; connected: boolean }>;
    expect(list.filter((n) => n.connected).map((n) => n.nodeId)).toEqual(["edge-1"]);

    // a plaintext client does not get past the TLS listener
    const { tables, live } = createFakeTables(["dispatcher"]);
    const plain = await createSyncClient({ url: `127.0.0.1:${GRPC}`, nodeId: "edge-1", tables, cacheDir: null, backoff: { initialMs: 100, maxMs: 300 } });
    await waitUntil("the plaintext client fails", () => plain.status().lastError !== null, 10_000);
    expect(plain.status().connected).toBe(false);
    expect(live.get("dispatcher")).toBeUndefined();
    await plain.close();

    // edge-3 gets its own certificate in the same files: it connects without a restart
    writeFileSync(f("edge-3-live.key"), readFileSync(f("edge-3.key")));
    writeFileSync(f("edge-3-live.pem"), readFileSync(f("edge-3.pem")));
    await waitUntil("edge-3 runs the dispatcher version after its certificate was replaced", async () => (await wrongCn.version("dispatcher")) === want, 20_000, [wrongCn, cp]);
    expect((await syncStatus(wrongCn)).security.files.subject).toBe("CN=edge-3");
    for (const dp of [noCert, foreign, wrongCn]) await dp.stop();
  }, 120_000);

  it("access.reload cuts off a revoked node; a watched access file drops a node from the allow-list", async () => {
    const edge1 = nodes.find((n) => n.node === "edge-1")!;
    const edge2 = await dataPlane("edge-2", { ca: f("fleet-ca.pem"), cert: f("edge-2.pem"), key: f("edge-2.key") });
    await waitUntil("edge-2 connected", async () => (await syncStatus(edge2)).connected === true, 20_000, [edge2, cp]);

    const denied = await call(TOKENS.op, "access.reload");
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toBe("forbidden: 'access.reload' needs role admin; token 'operator-" + denied.body.error.message.split("operator-")[1]);
    writeAccess({ nodes: ["edge-1", "edge-2", "edge-3"], revoked: ["edge-1"] });
    // called at once, before the file poll (2.5 s) sees the change (the refused call above runs
    // before the write, so nothing slow sits between the write and this call)
    const r = await ok(TOKENS.adm, "access.reload");
    expect(r.ok).toBe(true);
    expect(r.cutOff).toEqual(["edge-1"]);
    await waitUntil("edge-1 sees the cut", async () => /revoked/.test((await syncStatus(edge1)).lastError ?? ""), 10_000, [cp]);
    // and stays out: its reconnects are refused
    await new Promise((res) => setTimeout(res, 1500));
    const s1 = await syncStatus(edge1);
    expect(s1.connected).toBe(false);
    expect(s1.lastError).toMatch(/PERMISSION_DENIED: node 'edge-1' is revoked/);
    expect((await syncStatus(edge2)).connected).toBe(true);

    // the file alone (polled every 2.5 s), no RPC: edge-2 leaves the allow-list
    writeAccess({ nodes: ["edge-3"], revoked: ["edge-1"] });
    await waitUntil("edge-2 cut off by the watched file", async () => /not in the allow-list/.test((await syncStatus(edge2)).lastError ?? ""), 15_000, [cp]);
    const stOut = olectl(["--ca", f("fleet-ca.pem"), "--cp-token", TOKENS.ro, "--json", "access", "status"]);
    expect(stOut.code).toBe(0);
    const st = JSON.parse(stOut.out);
    expect(st.push.mode).toBe("mtls");
    expect(st.push.access.revoked).toEqual(["edge-1"]);
    expect(JSON.stringify(st)).not.toContain(TOKENS.adm);
    expect(cp.log()).toContain("data plane cut off after an access reload");

    // back in: edge-1 reconnects by itself once the revocation is lifted
    writeAccess({ nodes: ["edge-1", "edge-2"], revoked: [] });
    const reload = olectl(["--ca", f("fleet-ca.pem"), "--cp-token", TOKENS.adm, "--json", "access", "reload"]);
    expect(reload.err).toBe("");
    expect(reload.code).toBe(0);
    expect(JSON.parse(reload.out)).toMatchObject({ ok: true, cutOff: [] });
    await waitUntil("edge-1 reconnected", async () => (await syncStatus(edge1)).connected === true, 20_000, [cp]);
  }, 90_000);

  it("serves a replaced server certificate without a restart (SIGHUP; the files are watched as well)", async () => {
    const serial = () =>
      new Promise<string>((resolve, reject) => {
        const s = tlsConnect({ host: "127.0.0.1", port: GRPC, ca: readFileSync(f("fleet-ca.pem")), cert: readFileSync(f("edge-2.pem")), key: readFileSync(f("edge-2.key")), ALPNProtocols: ["h2"] }, () => {
          resolve(s.getPeerCertificate().serialNumber);
          s.destroy();
        });
        s.on("error", reject);
      });
    const before = await serial();
    const cp2 = execFileSync("openssl", ["x509", "-in", f("cp2.pem"), "-noout", "-serial"], { encoding: "utf8" }).trim().split("=")[1]!;
    expect(before.toUpperCase()).not.toBe(cp2.toUpperCase());
    writeFileSync(f("cp.key"), readFileSync(f("cp2.key")));
    writeFileSync(f("cp.pem"), readFileSync(f("cp2.pem")));
    // SIGHUP to the control plane's node process itself (npx and the tsx wrapper would die of it)
    process.kill(controlPlaneNodePid(), "SIGHUP");
    await waitUntil("the SIGHUP reload is logged", () => cp.log().includes("SIGHUP: reloading certificates, access and token files"), 10_000, [cp]);
    await waitUntil("the new certificate is served", async () => (await serial()).toUpperCase() === cp2.toUpperCase(), 15_000, [cp]);
    // existing data planes keep working: a new version still reaches edge-1
    const row = await ok(TOKENS.op, "dispatcher.create", { setid: 1, destination: "sip:10.9.9.2:5060" });
    const edge1 = nodes.find((n) => n.node === "edge-1")!;
    await waitUntil("edge-1 runs the version after the rotation", async () => (await edge1.version("dispatcher")) === row.version, 20_000, [cp]);
  }, 60_000);
});

describe("management API: HTTPS and token roles", () => {
  it("no token 401; read-only reads but cannot write or push; operator writes; messages say which role is needed", async () => {
    const none = await call(null, "status");
    expect(none.status).toBe(401);
    expect((await call(TOKENS.ro, "dispatcher.list", { setid: 1 })).status).toBe(200);
    const w = await call(TOKENS.ro, "dispatcher.create", { setid: 2, destination: "sip:10.9.9.3:5060" });
    expect(w.status).toBe(403);
    expect(w.body.error).toEqual({ code: 403, message: "forbidden: 'dispatcher.create' needs role operator; token 'viewer' has role read-only" });
    expect((await call(TOKENS.ro, "push")).status).toBe(403);
    expect((await call(TOKENS.op, "push")).status).toBe(200);
    expect((await call(TOKENS.op, "tokens.list")).status).toBe(403);
    const list = await ok(TOKENS.adm, "tokens.list");
    expect(list).toEqual([
      { name: "viewer", role: "read-only", from: "file" },
      { name: expect.stringMatching(/^operator-[0-9a-f]{6}$/), role: "operator", from: "file" },
      { name: "root", role: "admin", from: "file" },
    ]);
    expect(JSON.stringify(list)).not.toContain(TOKENS.adm);
    expect((await ok(TOKENS.ro, "dispatcher.list", { setid: 2 })).total).toBe(0);
    // a batch with one write is refused whole
    const { request } = await import("node:https");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(URL_, { method: "POST", ca: readFileSync(f("fleet-ca.pem")), headers: { authorization: `Bearer ${TOKENS.ro}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      req.end(JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "status" }, { jsonrpc: "2.0", id: 2, method: "dispatcher.delete", params: { id: 1 } }]));
    });
    expect(status).toBe(403);
  });

  it("olectl talks HTTPS with --ca, and shows a refusal as a one-line error", () => {
    const st = olectl(["--ca", f("fleet-ca.pem"), "--cp-token", TOKENS.ro, "--json", "status"]);
    expect(st.err).toBe("");
    expect(st.code).toBe(0);
    expect(JSON.parse(st.out).db.ok).toBe(true);
    const human = olectl(["--ca", f("fleet-ca.pem"), "--cp-token", TOKENS.ro, "status"]);
    expect(human.out).toMatch(/^security: {5}push mtls; subscriber ha1\/ha1b only \(MD5 digests\); API https, 3 token\(s\)$/m);
    const noCa = olectl(["--cp-token", TOKENS.ro, "status"]);
    expect(noCa.code).toBe(1);
    expect(noCa.err).toMatch(/^olectl: cannot reach the control plane at https:\/\/127\.0\.0\.1:\d+\/RPC: /);
    const add = olectl(["--ca", f("fleet-ca.pem"), "--cp-token", TOKENS.ro, "dispatcher", "add", "3", "sip:10.9.9.4:5060"]);
    expect(add.code).toBe(1);
    expect(add.err.trim()).toBe("olectl: dispatcher.create: forbidden: 'dispatcher.create' needs role operator; token 'viewer' has role read-only (code 403)");
    const add2 = olectl(["--ca", f("fleet-ca.pem"), "--cp-token", TOKENS.op, "dispatcher", "add", "3", "sip:10.9.9.4:5060"]);
    expect(add2.code).toBe(0);
  }, 120_000);
});

describe("least secret material", () => {
  it("subscriber rows reach the data plane with ha1/ha1b and without the plaintext password", async () => {
    const password = "pw-" + randomBytes(10).toString("hex");
    const r = await ok(TOKENS.op, "subscriber.create", { username: "alice", domain: "example.org", password });
    const edge1 = nodes.find((n) => n.node === "edge-1")!;
    await waitUntil("edge-1 runs the hashed subscriber version", async () => (await edge1.version("subscriber")) === `${r.version}.h`, 20_000, [cp]);
    const cacheDir = join(edge1.configFile, "..", "table-cache");
    const file = readdirSync(cacheDir).find((n) => n.startsWith("subscriber"))!;
    await waitUntil("the subscriber cache file is written", () => readFileSync(join(cacheDir, file)).includes("alice"), 10_000);
    const bytes = readFileSync(join(cacheDir, file));
    expect(bytes.includes(password)).toBe(false);
    const [[db]] = (await admin.query("SELECT ha1, ha1b, password FROM subscriber WHERE username = 'alice'")) as any;
    expect(db.password).toBe(password); // the database keeps it (kamctl's default); the wire does not
    expect(bytes.includes(db.ha1)).toBe(true);
    expect(cp.log()).not.toContain(password);
    // a read-only token does not see the secrets through the API either; an operator does
    const ro = (await ok(TOKENS.ro, "subscriber.list", { username: "alice" })).rows[0];
    expect([ro.password, ro.ha1, ro.ha1b]).toEqual(["(secret)", "(secret)", "(secret)"]);
    expect((await ok(TOKENS.op, "subscriber.list", { username: "alice" })).rows[0].ha1).toBe(db.ha1);
    expect(cp.log()).toContain("subscriber rows are pushed with ha1/ha1b only");
  }, 60_000);
});

describe("--push-passwords", () => {
  it("a control plane started with it pushes the plaintext password (and the version has no .h)", async () => {
    const { parseControlPlaneConfig } = await import("../control-plane/config.js");
    const { startControlPlane } = await import("../control-plane/main.js");
    const cfg = parseControlPlaneConfig(
      ["--db-url", `mysql://root@127.0.0.1:3306/${DB}`, "--grpc", `127.0.0.1:${BASE + 28}`, "--api", `127.0.0.1:${BASE + 29}`, "--poll-ms", "0", "--no-migrate", "--push-insecure-loopback", "--push-passwords"],
      {},
    );
    const cp2 = await startControlPlane(cfg);
    const t = createFakeTables(["subscriber"]);
    const c = await createSyncClient({ url: `127.0.0.1:${BASE + 28}`, nodeId: "pw-node", tables: t.tables, cacheDir: null });
    try {
      await waitUntil("the subscriber kind arrives", () => t.live.get("subscriber") !== undefined, 20_000);
      const live = t.live.get("subscriber")!;
      expect(live.version).toBe(cp2.source.current("subscriber")!.version);
      const rows = [...live.maps.get("subscriber")!.values()];
      expect(rows.find((r) => r.username === "alice")!.password).toMatch(/^pw-[0-9a-f]{20}$/);
    } finally {
      await c.close();
      await cp2.close();
    }
  }, 60_000);
});

describe("server-only TLS with per-node tokens (in-process, real sockets)", () => {
  it("the right token connects and gets tables; a wrong or missing token is refused", async () => {
    writeFileSync(f("token-access.json"), JSON.stringify({ tokens: { "edge-t": "t-" + "a".repeat(30) } }));
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: [{ id: 1, setid: 1, destination: "sip:10.8.8.8:5060", flags: 0, priority: 0, attrs: "", description: "" }] }, "v1");
    const pem = new WatchedPemFiles({ cert: f("cp2.pem"), key: f("cp2.key") }, { pollMs: 0 });
    const access = new PushAccess(f("token-access.json"), { pollMs: 0 });
    const server = await createPushServer({ source, host: "127.0.0.1", port: 0, security: { tls: { pem, requireClientCert: false }, access } });
    const client = async (token: string | null) => {
      const t = createFakeTables(["dispatcher"]);
      const c = await createSyncClient({ url: `127.0.0.1:${server.port}`, nodeId: "edge-t", tables: t.tables, cacheDir: null, tls: { ca: f("fleet-ca.pem") }, token, backoff: { initialMs: 100, maxMs: 300 } });
      return { c, live: t.live };
    };
    try {
      const good = await client("t-" + "a".repeat(30));
      await waitUntil("the token node gets v1", () => good.live.get("dispatcher")?.version === "v1", 10_000);
      expect(good.c.status().security).toMatchObject({ mode: "tls", token: true });
      await good.c.close();
      const bad = await client("t-" + "b".repeat(30));
      const none = await client(null);
      await waitUntil("both refused", () => bad.c.status().lastError !== null && none.c.status().lastError !== null, 10_000);
      expect(bad.c.status().lastError).toBe("PERMISSION_DENIED: missing or wrong token for node 'edge-t'");
      expect(none.c.status().lastError).toBe("UNAUTHENTICATED: missing or wrong token for node 'edge-t'");
      expect(bad.live.get("dispatcher")).toBeUndefined();
      await Promise.all([bad.c.close(), none.c.close()]);
      // a token is never sent in plaintext
      await expect(createSyncClient({ url: "127.0.0.1:1", nodeId: "x", tables: createFakeTables(["dispatcher"]).tables, cacheDir: null, token: "t".repeat(20) })).rejects.toThrow(
        "sync: controlPlane.token needs controlPlane.tls (a token is never sent in plaintext)",
      );
    } finally {
      await server.close({ force: true });
      pem.close();
      access.close();
    }
  }, 30_000);
});
