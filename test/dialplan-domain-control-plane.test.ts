/**
 * The dialplan and domain kinds from the control plane to a running data plane, real processes
 * and a real MariaDB: a control plane (`control-plane/main.ts`, database olelo_test_dialplan,
 * interval check every 300 ms so direct SQL reaches the fleet too) and a data plane
 * (`data-plane/main.ts`) with usrloc, registrar, dialplan and domain, the default script with
 * `dialplanId: 1`. sipp calls toward a sipp gateway show the R-URI user the gateway receives.
 *
 * - a `dialplan` row created through the management API changes the translation of the next call;
 * - a bad regex through the API is refused (422 naming kind, table, row and reason); one written
 *   by SQL is refused alone by the compile (`push` names table, key and reason), the data plane
 *   keeps translating with the good rows;
 * - `kamctl domain add` (Kamailio's own tool, MySQL engine, on this database) makes a domain local
 *   on the running data plane: a REGISTER for it is 403 before and 200 after.
 *
 * Ports: a block of 20 from test/kit/ports.ts (freePortBlock).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonRpc, rpcResult, startControlPlaneProcess, startDataPlaneProcess, stopAllProcesses, waitUntil, type ControlPlaneProcess, type DataPlaneProcess } from "./helpers/processes.js";
import { runSipp } from "./helpers/sipp.js";
import { startGateway, type Gateway } from "./scripts/routing-support.js";
import { freePortBlock } from "./kit/ports.js";

const DB = "olelo_test_dialplan";
const KAMCTL_USER = "olelo_test_kamctl";
const KAMCTL_PW = "kamctl-test";
const BASE = await freePortBlock(20);
const CP_API = BASE + 1;
const CP_GRPC = BASE + 2;
const DP_SIP = BASE + 10;
const DP_CTL = BASE + 11;
const GW = BASE + 12;
const UAC = BASE + 13;

let admin: mysql.Connection | undefined;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;
let gw: Gateway;
const dir = mkdtempSync(join(tmpdir(), "olelo-dp-cp-"));

/** The version the control plane serves for a kind. */
async function served(kind: string): Promise<string | null> {
  const st = await rpcResult(cp.rpcUrl, "status");
  return st.kinds.find((k: { kind: string }) => k.kind === kind)?.version ?? null;
}

/** One sipp call per number toward the gateway; the R-URI users the gateway got. */
async function dial(numbers: string[]): Promise<string[]> {
  const before = gw.invitedUsers().length;
  const inf = join(dir, `calls-${Date.now()}.csv`);
  writeFileSync(inf, ["SEQUENTIAL", ...numbers.map((n) => `${n};caller;`), ""].join("\n"));
  const r = await runSipp({ scenario: "dp_uac_call.xml", port: UAC, remote: `127.0.0.1:${DP_SIP}`, calls: numbers.length, rate: 20, timeoutS: 20, templ: { gw: `127.0.0.1:${GW}` }, extra: ["-inf", inf] });
  expect(r.successful, r.stderr + r.errors).toBe(numbers.length);
  await waitUntil("the gateway trace", () => gw.invitedUsers().length >= before + numbers.length, 5000, [dp]);
  return gw.invitedUsers().slice(before);
}

async function register(dom: string, code: number): Promise<void> {
  const r = await runSipp({ scenario: "dom_register.xml", port: UAC, remote: `127.0.0.1:${DP_SIP}`, calls: 1, timeoutS: 10, templ: { dom, user: "alice", code: String(code) } });
  expect(r.successful, `REGISTER ${dom} → ${code}: ${r.stderr}${r.errors}`).toBe(1);
}

beforeAll(async () => {
  admin = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
  await admin.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await admin.query(`CREATE DATABASE \`${DB}\` CHARACTER SET utf8mb4`);
  await admin.query(`USE \`${DB}\``);
  // kamctl needs a password (it substitutes its default for an empty one): a user for this database only
  await admin.query(`CREATE USER IF NOT EXISTS '${KAMCTL_USER}'@'%' IDENTIFIED BY '${KAMCTL_PW}'`);
  await admin.query(`GRANT ALL ON \`${DB}\`.* TO '${KAMCTL_USER}'@'%'`);
  cp = await startControlPlaneProcess({ db: DB, apiPort: CP_API, grpcPort: CP_GRPC, pollMs: 300 });
  gw = await startGateway(GW);
  dp = await startDataPlaneProcess({
    node: "dp-cp",
    sipPort: DP_SIP,
    controlPort: DP_CTL,
    controlPlane: cp.grpcUrl,
    modules: { usrloc: { db_mode: 0 }, registrar: {}, dialplan: {}, domain: {} },
    settings: { dialplanId: 1 },
  });
  await waitUntil(
    "the data plane to run the control plane's dialplan and domain versions",
    async () => {
      for (const k of ["dialplan", "domain"]) {
        const v = await served(k);
        if (!v || (await dp.version(k)) !== v) return false;
      }
      return true;
    },
    30_000,
    [cp, dp],
  );
}, 150_000);

afterAll(async () => {
  await stopAllProcesses();
  await gw?.stop();
  await admin?.query(`DROP DATABASE IF EXISTS \`${DB}\``);
  await admin?.query(`DROP USER IF EXISTS '${KAMCTL_USER}'@'%'`);
  await admin?.end();
}, 40_000);

describe("dialplan and domain pushed by the control plane (real processes, MariaDB)", () => {
  it("a dialplan row created through the management API changes the translation on the running data plane", async () => {
    expect(await dial(["0301234"])).toEqual(["0301234"]);
    const res = await rpcResult(cp.rpcUrl, "dialplan.create", { dpid: 1, pr: 1, match_op: 1, match_exp: "^0[1-9]", match_len: 0, subst_exp: "^0(.*)$", repl_exp: "+49\\1", attrs: "de" });
    expect(res).toMatchObject({ kind: "dialplan", version: expect.any(String) });
    await waitUntil("the data plane to apply the new dialplan", async () => (await dp.version("dialplan")) === res.version, 10_000, [cp, dp]);
    expect(await dial(["0301234"])).toEqual(["+49301234"]);
    expect(await rpcResult(dp.rpcUrl, "dialplan.translate", [1, "0891"])).toEqual({ Output: "+49891", Attributes: "de" });
  }, 60_000);

  it("a bad regex is refused: by the API naming kind, table, row and reason; written by SQL, alone by the compile", async () => {
    const running = await dp.version("dialplan");
    const bad = await jsonRpc(cp.rpcUrl, "dialplan.create", { dpid: 1, pr: 0, match_op: 1, match_exp: "^(00", match_len: 0, subst_exp: "", repl_exp: "x", attrs: "" });
    expect(bad.error).toMatchObject({ code: 422, data: { kind: "dialplan", table: "dialplan", row: expect.any(Number), reason: expect.stringMatching(/match_exp '\^\(00' is not a valid regular expression/) } });
    expect(await dp.version("dialplan")).toBe(running);
    // direct SQL (as kamctl / a provisioning script would): the bad row is refused, the good ones stay
    await admin!.query("INSERT INTO dialplan (id, dpid, pr, match_op, match_exp, match_len, subst_exp, repl_exp, attrs) VALUES (77, 1, 0, 1, '^(1', 0, '', 'y', '')");
    const pushed = await rpcResult(cp.rpcUrl, "push");
    const refused = [...(pushed.refused ?? []), ...(pushed.errors ?? [])];
    expect(refused).toEqual(expect.arrayContaining([expect.objectContaining({ kind: "dialplan", table: "dialplan", reason: expect.stringMatching(/match_exp '\^\(1' is not a valid regular expression/) })]));
    expect(refused.find((r: { table: string }) => r.table === "dialplan")).toMatchObject({ key: "77" });
    expect(await dial(["0301234"])).toEqual(["+49301234"]);
  }, 60_000);

  it("kamctl domain add makes a domain local on the running data plane: REGISTER 403 before, 200 after", async () => {
    await register("carrier.test", 403);
    const home = mkdtempSync(join(tmpdir(), "olelo-kamctl-"));
    writeFileSync(join(home, ".kamctlrc"), `DBENGINE=MYSQL\nDBHOST=127.0.0.1\nDBPORT=3306\nDBNAME=${DB}\nDBRWUSER=${KAMCTL_USER}\nDBRWPW=${KAMCTL_PW}\nDBROUSER=${KAMCTL_USER}\nDBROPW=${KAMCTL_PW}\nCTLENGINE=RPCFIFO\n`);
    const k = spawnSync("kamctl", ["domain", "add", "carrier.test"], { env: { ...process.env, HOME: home }, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", timeout: 15_000 });
    expect(k.status, `${k.stdout}${k.stderr}`).toBe(0);
    expect(k.stdout + k.stderr).not.toMatch(/ERROR|already in/);
    const [rows] = await admin!.query("SELECT domain, did FROM domain");
    expect(rows).toEqual([{ domain: "carrier.test", did: null }]);
    const t0 = Date.now();
    await waitUntil("the domain to reach the data plane", async () => JSON.stringify(await rpcResult(dp.rpcUrl, "domain.dump")).includes("carrier.test"), 10_000, [cp, dp]);
    console.log(`dialplan-domain-control-plane: kamctl domain add → data plane domain.dump ${Date.now() - t0} ms`);
    expect(await rpcResult(dp.rpcUrl, "domain.dump")).toEqual([{ domain: "carrier.test", did: "carrier.test", attrs: [] }]);
    await register("carrier.test", 200);
  }, 60_000);
});
