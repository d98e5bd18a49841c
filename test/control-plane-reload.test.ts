/**
 * Reloads that mean what they say (issue 13), real processes and a real MariaDB: a control plane
 * with change capture OFF and no poll (`--no-cdc --poll-ms 0`: a SQL write stays unseen until
 * something asks) and a data plane in control-plane mode (dispatcher, permissions, prefix_route).
 *
 * - `kamcli dispatcher reload` (jsonrpc over the data plane's unix datagram socket) and
 *   `kamctl address reload` (jsonrpc over the data plane's FIFO) make the control plane re-read
 *   the table and return only once the new rows are applied: they are live the moment the
 *   command returns;
 * - prefix_route.reload, permissions.trustedReload and htable.reload over HTTP JSON-RPC do the same;
 * - a row that does not compile: the reload answers a JSON-RPC error naming the table, row and
 *   reason, and the old table stays; with the control plane stopped: an error saying it is
 *   unreachable.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropE2eDatabase, freshE2eDatabase, jsonRpc, rpcResult, startControlPlaneProcess, startDataPlaneProcess, stopAllProcesses, waitUntil, type ControlPlaneProcess, type DataPlaneProcess } from "./helpers/processes.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const run = promisify(execFile);
const DB = "olelo_test_e2e_reload";
const BASE = await freePortBlock(10);
const hasKamcli = existsSync("/usr/bin/kamcli");
const hasKamctl = existsSync("/usr/sbin/kamctl");

let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;
let dir: string;

async function destinations(): Promise<string[]> {
  const l = await rpcResult(dp.rpcUrl, "dispatcher.list", ["short"]);
  return (l.RECORDS ?? []).flatMap((r: { SET: { TARGETS: Array<{ DEST: { URI: string } }> } }) => r.SET.TARGETS.map((t) => t.DEST.URI)).sort();
}

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  dir = mkdtempSync(join(tmpdir(), "olelo-reload-"));
  cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0, extraArgs: ["--row-policy", "dispatcher=hold"] });
  dp = await startDataPlaneProcess({
    node: "e2e-reload",
    sipPort: BASE + 5,
    controlPort: BASE + 6,
    controlPlane: cp.grpcUrl,
    modules: { dispatcher: { ping_interval: 0 }, permissions: {}, prefix_route: {}, htable: { htable: ["users=>size=8;dbtable=htable"] } },
    control: { dgram: join(dir, "rpc.sock"), fifo: join(dir, "rpc.fifo") },
  });
  await waitUntil(
    "tables applied",
    async () => {
      const st = await rpcResult<Array<{ kind: string; version: string | null }>>(dp.rpcUrl, "core.config_status");
      return ["dispatcher", "address", "trusted", "prefix_route", "htable"].every((k) => st.find((s) => s.kind === k)?.version);
    },
    20_000,
    [cp, dp],
  );
}, 120_000);

afterAll(async () => {
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("reload RPCs on a data plane in control-plane mode re-read the database", () => {
  it.skipIf(!hasKamcli)("kamcli dispatcher reload returns once the new SQL row is live on the data plane", async () => {
    await admin.query("INSERT INTO dispatcher (id, setid, destination, flags, priority, attrs, description) VALUES (1, 1, 'sip:10.7.0.1:5060', 0, 0, '', 'sql')");
    await letTimePass(500, "nobody polls: the row would be live within this if it were pushed");
    expect(await destinations()).toEqual([]); // nobody polls: not live yet
    const ini = join(dir, "kamcli.ini");
    writeFileSync(ini, `[main]\ndomain=localhost\n[jsonrpc]\ntransport=socket\nsrvaddr=${join(dir, "rpc.sock")}\nrcvaddr=${join(dir, "kamcli_rpc.sock")}\noutformat=json\n`);
    const r = await run("kamcli", ["--no-default-configs", "-c", ini, "dispatcher", "reload"], { timeout: 30_000 });
    expect(r.stdout + r.stderr).not.toMatch(/error/i);
    expect(await destinations()).toEqual(["sip:10.7.0.1:5060"]); // at once: no waiting
  });

  it.skipIf(!hasKamctl)("kamctl address reload returns once the new SQL address is live on the data plane", async () => {
    await admin.query("INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (1, '10.20.30.40', 32, 0, 'sql')");
    const dump = async () => JSON.stringify(await rpcResult(dp.rpcUrl, "permissions.addressDump"));
    expect(await dump()).not.toContain("10.20.30.40");
    const home = join(dir, "home");
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, ".kamctlrc"), `CTLENGINE=RPCFIFO\nRPCFIFOPATH=${join(dir, "rpc.fifo")}\n`);
    const r = await run("kamctl", ["address", "reload"], { timeout: 30_000, env: { ...process.env, HOME: home } });
    expect(r.stdout + r.stderr).toContain("Reload OK");
    expect(await dump()).toContain("10.20.30.40");
  });

  it("prefix_route.reload, permissions.trustedReload and htable.reload over JSON-RPC apply the new rows before answering", async () => {
    await admin.query("INSERT INTO prefix_route (prefix, route, comment) VALUES ('4930', 'BERLIN', 'sql')");
    await admin.query("INSERT INTO trusted (src_ip, proto, from_pattern, tag, priority) VALUES ('10.1.2.3', 'any', NULL, 'sql', 0)");
    const before = await rpcResult<Array<{ version: string }>>(dp.rpcUrl, "core.config_status", ["prefix_route"]);
    const pr = await jsonRpc(dp.rpcUrl, "prefix_route.reload");
    expect(pr.error).toBeUndefined();
    expect(JSON.stringify(await rpcResult(dp.rpcUrl, "prefix_route.dump"))).toContain("route[BERLIN]");
    const after = await rpcResult<Array<{ version: string; rows: number }>>(dp.rpcUrl, "core.config_status", ["prefix_route"]);
    expect(after[0]!.version).not.toBe(before[0]!.version);
    expect(after[0]!.rows).toBe(1);
    const tr = await jsonRpc(dp.rpcUrl, "permissions.trustedReload");
    expect(tr.error).toBeUndefined();
    expect(JSON.stringify(await rpcResult(dp.rpcUrl, "permissions.trustedDump"))).toContain("10.1.2.3");
    await admin.query("INSERT INTO htable (key_name, key_type, value_type, key_value, expires) VALUES ('alice', 0, 0, 'gold', 0)");
    const ht = await jsonRpc(dp.rpcUrl, "htable.reload", ["users"]);
    expect(ht.error).toBeUndefined();
    expect(JSON.stringify(await rpcResult(dp.rpcUrl, "htable.get", ["users", "alice"]))).toContain("gold");
    // nothing changed in the database: the reload still succeeds (same version, already live)
    expect((await jsonRpc(dp.rpcUrl, "prefix_route.reload")).error).toBeUndefined();
  });

  it("a row that does not compile: the reload fails naming table, row and reason; the old sets stay", async () => {
    await admin.query("INSERT INTO dispatcher (id, setid, destination, flags, priority, attrs, description) VALUES (9, 1, 'not a sip uri', 0, 0, '', 'bad')");
    const r = await jsonRpc(dp.rpcUrl, "dispatcher.reload");
    expect(r.error?.message).toMatch(/dispatcher row 9/);
    expect(await destinations()).toEqual(["sip:10.7.0.1:5060"]);
    await admin.query("DELETE FROM dispatcher WHERE id = 9");
  });

  it("with the control plane stopped the reload fails saying it is unreachable", async () => {
    await cp.stop("SIGTERM");
    const r = await jsonRpc(dp.rpcUrl, "dispatcher.reload");
    expect(r.error?.message).toMatch(/control plane 127\.0\.0\.1:\d+ unreachable/);
    expect(await destinations()).toEqual(["sip:10.7.0.1:5060"]);
  });
});
