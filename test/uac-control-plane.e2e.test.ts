/**
 * The uacreg kind through the control plane (real processes, MariaDB): a row written through the
 * management API (`uacreg.create`) reaches a running data plane, which registers to the sipp
 * registrar the row names (401 answered, 200); a bad row is refused naming table, key and reason
 * and the data plane keeps running the last good version; deleting the row stops the registration.
 */
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
import { startSippServer, type SippServer } from "./helpers/sipp.js";
import { freePortBlock } from "./kit/ports.js";
import type mysql from "mysql2/promise";

const DB = "olelo_test_e2e_uacreg";
const BASE = await freePortBlock(10);
const CP_API = BASE;
const CP_GRPC = BASE + 1;
const DP_SIP = BASE + 2;
const DP_CTL = BASE + 3;
const REGISTRAR = BASE + 4;

let admin: mysql.Connection | undefined;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;
let registrar: SippServer;

async function served(kind: string): Promise<{ version: string | null; lastError: unknown }> {
  const st = await rpcResult(cp.rpcUrl, "status");
  return st.kinds.find((k: { kind: string }) => k.kind === kind);
}

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  registrar = await startSippServer({ scenario: "uac_registrar_401.xml", port: REGISTRAR, templ: { uuid: "cp-trunk", expires: "300" } });
  cp = await startControlPlaneProcess({ db: DB, apiPort: CP_API, grpcPort: CP_GRPC, pollMs: 0 });
  dp = await startDataPlaneProcess({ node: "uac-cp", sipPort: DP_SIP, controlPort: DP_CTL, controlPlane: cp.grpcUrl, modules: { uac: { reg_retry_interval: 1 } }, settings: {} });
  await waitUntil("the data plane to run the control plane's uacreg version", async () => {
    const v = (await served("uacreg"))?.version;
    return !!v && (await dp.version("uacreg")) === v;
  }, 30_000, [cp, dp]);
}, 120_000);

afterAll(async () => {
  await stopAllProcesses();
  await registrar?.stop();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 30_000);

describe("uacreg pushed by the control plane", () => {
  let id = 0;
  it("a row written through the API makes the data plane register to the carrier", async () => {
    const res = await rpcResult(cp.rpcUrl, "uacreg.create", {
      l_uuid: "cp-trunk",
      l_username: "pbx",
      l_domain: "pbx.local",
      r_username: "acct1",
      r_domain: `127.0.0.1:${REGISTRAR}`,
      realm: "registrar.test",
      auth_username: "acct1",
      auth_password: "pw1",
      expires: 300,
    });
    expect(res).toMatchObject({ kind: "uacreg", row: { l_uuid: "cp-trunk", expires: 300, flags: 0 } });
    id = Number(res.row.id);
    await waitUntil("the new version on the data plane", async () => (await dp.version("uacreg")) === res.version, 10_000, [cp, dp]);
    await waitUntil("cp-trunk registered", async () => (await rpcResult(dp.rpcUrl, "uac.reg_info", ["l_uuid", "cp-trunk"])).state === "registered", 10_000, [cp, dp]);
    expect(await rpcResult(dp.rpcUrl, "uac.reg_info", ["l_uuid", "cp-trunk"])).toMatchObject({ last_code: 200, granted: 300, r_domain: `127.0.0.1:${REGISTRAR}` });
  });

  it("a bad row is refused with table, key and reason; the data plane keeps the last good version", async () => {
    const running = await dp.version("uacreg");
    const bad = await jsonRpc(cp.rpcUrl, "uacreg.create", { l_uuid: "bad-proxy", r_username: "x", r_domain: "carrier.example", auth_proxy: "http://carrier.example", expires: 60 });
    expect(bad.error).toMatchObject({ code: 422, data: { kind: "uacreg", table: "uacreg", row: expect.any(Number), reason: expect.stringMatching(/auth_proxy/) } });
    const bad2 = await jsonRpc(cp.rpcUrl, "uacreg.create", { l_uuid: "no-aor", r_domain: "carrier.example", expires: 60 });
    expect(bad2.error).toMatchObject({ code: 422, data: { table: "uacreg", reason: expect.stringMatching(/r_username/) } });
    expect(await dp.version("uacreg")).toBe(running);
    expect((await rpcResult<unknown[]>(dp.rpcUrl, "uac.reg_dump")).length).toBe(1);
  });

  it("deleting the row removes the registration from the data plane", async () => {
    const res = await rpcResult(cp.rpcUrl, "uacreg.delete", { id });
    await waitUntil("the delete on the data plane", async () => (await dp.version("uacreg")) === res.version, 10_000, [cp, dp]);
    expect(await rpcResult(dp.rpcUrl, "uac.reg_dump")).toEqual([]);
    const gone = await jsonRpc(dp.rpcUrl, "uac.reg_info", ["l_uuid", "cp-trunk"]);
    expect(gone.error).toMatchObject({ code: 404 });
  });
});
