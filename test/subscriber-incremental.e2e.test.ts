/**
 * Issue 13, the incremental path for subscriber, with real processes, MariaDB, Kamailio's kamctl
 * and sipsak: a control plane with change capture only (`--cdc-ms 50 --poll-ms 0`) and a data
 * plane with auth + registrar (the default script challenges REGISTER). 5,000 subscribers, so the
 * kind travels as deltas; `kamctl add` (INSERT), `kamctl passwd` (UPDATE) and `kamctl rm`
 * (DELETE) are applied on the data plane as deltas compiled from the changed rows only
 * (`core.sync_status` deltas.incremental), and sipsak's digest REGISTER of the user changes
 * accordingly (200 with the new password; 401 once removed). A subscriber row with an empty
 * username written in SQL is refused alone (status: table, key, reason); a kamctl add and rm after
 * it go live, still as incremental deltas. Pushed rows carry ha1/ha1b only (least secret material: `.h` versions).
 *
 * kamctl reads its settings from $HOME/.kamctlrc (a temp dir here) and logs in as a MariaDB user
 * made for this test (rights on the test database only; dropped at the end). The data plane runs
 * two workers (OLELO_WORKERS=2): each applies the deltas to its own tables; sipsak's REGISTERs come
 * from a new source port each time and so reach either.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

const DB = "olelo_test_e2e_sub_incr";
const P = await freePortBlock(12);
const DOMAIN = "127.0.0.1";
const ROWS = 5000;
const KAM_USER = "olelo_subincr_rw";
const KAM_PW = "subincr-rw-pw";
const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const tools = have("kamctl") && have("sipsak");

let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;
const home = mkdtempSync(join(tmpdir(), "olelo-subincr-kamctl-"));
const kamctl = (...args: string[]) => spawnSync("kamctl", args, { env: { ...process.env, HOME: home }, encoding: "utf8", timeout: 20_000 });

const status = async () => (await rpcResult<Array<{ version: string | null; rows: number }>>(dp.rpcUrl, "core.config_status", ["subscriber"]))[0]!;
const syncStatus = () => rpcResult<{ deltas: { incremental: number }; lastReceived: Record<string, { mode: string }> }>(dp.rpcUrl, "core.sync_status");
const incremental = async () => Number((await syncStatus()).deltas.incremental);

/** sipsak's digest REGISTER of `user` (usrloc mode, one binding); resolves with the final status code or -1. */
function register(user: string, password: string): Promise<number> {
  return new Promise((resolve) => {
    // the port goes in -r: sipsak 0.9.8 cuts a 5-digit port in -s to 4 digits in the request's URIs
    // (the data plane has the domain as an alias, so the port-less R-URI is its own)
    const args = ["-U", "-i", "-C", `sip:${user}@${DOMAIN}:${P + 9}`, "-s", `sip:${user}@${DOMAIN}`, "-r", String(dp.sipPort), "-a", password, "-u", user, "-x", "60", "-vvv"];
    const p = spawn("sipsak", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => p.kill("SIGKILL"), 5000);
    p.on("close", () => {
      clearTimeout(t);
      if (process.env.SIPSAK_DEBUG) console.log(out);
      const codes = [...out.matchAll(/^SIP\/2\.0 (\d{3})/gm)].map((m) => Number(m[1]));
      resolve(codes.filter((c) => c >= 200).at(-1) ?? -1);
    });
  });
}

/** Runs `write` and waits until the data plane runs a new subscriber version with `rows` rows. */
async function applied(write: () => unknown, rows: number): Promise<void> {
  const before = (await status()).version;
  await write();
  await waitUntil(`subscriber version with ${rows} rows`, async () => {
    const s = await status();
    return s.version !== before && s.rows === rows;
  }, 10_000, [cp, dp]);
}

beforeAll(async () => {
  if (!tools) return;
  admin = await freshE2eDatabase(DB);
  await admin.query(`DROP USER IF EXISTS '${KAM_USER}'@'127.0.0.1'`);
  await admin.query(`CREATE USER '${KAM_USER}'@'127.0.0.1' IDENTIFIED BY '${KAM_PW}'`);
  await admin.query(`GRANT ALL ON \`${DB}\`.* TO '${KAM_USER}'@'127.0.0.1'`);
  writeFileSync(
    join(home, ".kamctlrc"),
    [`SIP_DOMAIN=${DOMAIN}`, "DBENGINE=MYSQL", "DBHOST=127.0.0.1", "DBPORT=3306", `DBNAME=${DB}`, `DBRWUSER=${KAM_USER}`, `DBRWPW=${KAM_PW}`, `DBROUSER=${KAM_USER}`, `DBROPW=${KAM_PW}`, "DBACCESSHOST=127.0.0.1", "STORE_PLAINTEXT_PW=1", "CTLENGINE=RPCFIFO", ""].join("\n"),
  );
  // migrate first (a start without change capture), then load the subscribers as kamctl add writes them
  cp = await startControlPlaneProcess({ db: DB, apiPort: P + 1, grpcPort: P + 2, pollMs: 0 });
  await cp.stop("SIGTERM");
  await admin.query(
    `INSERT INTO subscriber (username, domain, password, ha1, ha1b) SELECT CONCAT('u', seq), '${DOMAIN}', CONCAT('pw', seq), MD5(CONCAT('u', seq, ':${DOMAIN}:pw', seq)), MD5(CONCAT('u', seq, '@${DOMAIN}:${DOMAIN}:pw', seq)) FROM seq_0_to_${ROWS - 1}`,
  );
  cp = await startControlPlaneProcess({ db: DB, apiPort: P + 1, grpcPort: P + 2, pollMs: 0, cdcMs: 50 });
  dp = await startDataPlaneProcess({
    node: "e2e-sub-incr",
    sipPort: P + 5,
    controlPort: P + 6,
    controlPlane: cp.grpcUrl,
    modules: { auth: { secret: "olelo-subincr-secret-0123456789" }, usrloc: {}, registrar: {} },
    settings: {},
    env: { OLELO_WORKERS: "2" },
    extra: { aliases: [DOMAIN] },
  });
  await waitUntil("subscribers applied", async () => (await status()).rows === ROWS, 30_000, [cp, dp]);
}, 120_000);

afterAll(async () => {
  if (!tools) return;
  await stopAllProcesses();
  await admin?.query(`DROP USER IF EXISTS '${KAM_USER}'@'127.0.0.1'`);
  await dropE2eDatabase(admin, DB);
  await admin?.end();
});

describe.skipIf(!tools)("subscriber changes as incremental deltas (real processes, kamctl, sipsak)", () => {
  it("kamctl add, passwd and rm are compiled from the changed rows only and change who may REGISTER", async () => {
    expect((await status()).version).toMatch(/\.h$/); // ha1/ha1b only on the wire
    expect(await register("u17", "pw17")).toBe(200);
    expect(await register("carol", "carol-pw")).not.toBe(200);
    const n0 = await incremental();

    await applied(() => expect(kamctl("add", `carol@${DOMAIN}`, "carol-pw").status).toBe(0), ROWS + 1);
    expect(await incremental()).toBe(n0 + 1);
    expect((await syncStatus()).lastReceived.subscriber?.mode).toBe("delta");
    expect((await status()).version).toMatch(/\.h$/);
    expect(await register("carol", "carol-pw")).toBe(200);
    expect(await register("carol", "wrong")).toBe(401);

    await applied(() => expect(kamctl("passwd", `carol@${DOMAIN}`, "carol-pw2").status).toBe(0), ROWS + 1);
    expect(await register("carol", "carol-pw2")).toBe(200);
    expect(await register("carol", "carol-pw")).toBe(401);

    // kamctl rm also tries `ul rm` over the FIFO of a Kamailio that is not running: its exit status
    // may be non-zero, the row is gone all the same
    await applied(() => kamctl("rm", `u17@${DOMAIN}`), ROWS);
    expect(await register("u17", "pw17")).toBe(401);
    expect(await register("u18", "pw18")).toBe(200);
    expect(await incremental()).toBe(n0 + 3);
  }, 60_000);

  it("an empty-username row written in SQL is refused alone; kamctl add and rm after it go live as deltas", async () => {
    const [bad] = await admin.query<mysql.ResultSetHeader>("INSERT INTO subscriber (username, domain, password) VALUES ('', ?, 'x')", [DOMAIN]);
    const n0 = await incremental();
    await applied(() => expect(kamctl("add", `dave@${DOMAIN}`, "dave-pw").status).toBe(0), ROWS + 1);
    expect(await register("dave", "dave-pw")).toBe(200);
    // the refused row does not send the kind back to whole compiles: kamctl rm beside it is a delta too
    await applied(() => kamctl("rm", `u18@${DOMAIN}`), ROWS);
    expect(await register("u18", "pw18")).toBe(401);
    expect(await incremental()).toBeGreaterThanOrEqual(n0 + 2);
    const sub = (await rpcResult<{ kinds: Array<{ kind: string; refused: unknown[] }> }>(cp.rpcUrl, "status")).kinds.find((k) => k.kind === "subscriber")!;
    expect(sub.refused).toEqual([expect.objectContaining({ table: "subscriber", key: String(bad.insertId), reason: "username is empty" })]);
  }, 30_000);
});
