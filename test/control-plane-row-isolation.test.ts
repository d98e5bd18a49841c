/**
 * Per-row isolation on the control plane (issue 13), with a real control-plane process, a real
 * data-plane process and MariaDB, written to the way an operator does — Kamailio's own kamctl and
 * plain SQL:
 * - a subscriber row with an empty username is written in SQL; then `kamctl add` adds carol and
 *   `kamctl rm` removes bob: carol REGISTERs with digest (200) and bob gets 401/403 within the
 *   control plane's change check (run here every 100 ms) plus 1 s; the bad row is refused alone,
 *   named in `status` (table, key, reason), in one log line, in the audit trail and by `olectl
 *   status` (exit 1);
 * - a bad dispatcher row and a good one added after it: the good destination is live on the data
 *   plane; restarted with `--row-policy dispatcher=hold`, the kind is held at its last good version
 *   (status says so), a good row added meanwhile is not live, a deletion and a disable still go live.
 *
 * Ports: a block of 20 from test/kit/ports.ts (freePortBlock). Database olelo_test_e2e_rowiso.
 * kamctl reads its settings from $HOME/.kamctlrc (a temp dir here). kamctl always passes
 * "-p$DBRWPW" and an empty DBRWPW means its default password, so it logs in as a MariaDB user made
 * for this test (olelo_rowiso_rw, rights on the test database only; dropped at the end), as an
 * operator's kamailio rw user.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type mysql from "mysql2/promise";
import type { RowDataPacket } from "mysql2/promise";
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
import { UdpPeer, headerOf, statusOf } from "./helpers/udp-peer.js";
import { answerChallenge, parseChallenge } from "./scripts/firewall-digest.js";
import { dispatcherSets, olectlProcess } from "./scripts/cli-support.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(20);
const CP_API = P;
const CP_GRPC = P + 1;
const DP_SIP = P + 2;
const DP_CONTROL = P + 3;
const DB = "olelo_test_e2e_rowiso";
const DOMAIN = "127.0.0.1";
const POLL_MS = 100;
const KAM_USER = "olelo_rowiso_rw";
const KAM_PW = "rowiso-rw-pw";

const haveKamctl = spawnSync("sh", ["-c", "command -v kamctl"]).status === 0;

let seq = 0;
/** REGISTER as `user`; answers the 401 challenge with `password` (MD5 digest). Resolves with the final status. */
async function register(ua: UdpPeer, user: string, password: string): Promise<number> {
  const callId = `rowiso-${user}-${++seq}-${Date.now()}`;
  const send = async (cseq: number, extra: string[]): Promise<string> => {
    const text = [
      `REGISTER sip:${DOMAIN}:${DP_SIP} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ua.host}:${ua.port};branch=z9hG4bK-ri${++seq};rport`,
      `From: <sip:${user}@${DOMAIN}>;tag=ri${seq}`,
      `To: <sip:${user}@${DOMAIN}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:${user}@${ua.host}:${ua.port}>`,
      "Max-Forwards: 70",
      "Expires: 60",
      ...extra,
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    ua.send(text, DP_SIP);
    return ua.wait((t) => statusOf(t) >= 200 && t.includes(`Call-ID: ${callId}\r\n`) && t.includes(`CSeq: ${cseq} REGISTER\r\n`), 3000);
  };
  const first = await send(1, []);
  if (statusOf(first) !== 401) return statusOf(first);
  const md5 = headerOf(first, "WWW-Authenticate").map(parseChallenge).find((c) => c.algorithm.toUpperCase() === "MD5");
  if (!md5) throw new Error(`no MD5 challenge in ${first}`);
  const auth = answerChallenge(md5, { user, password, method: "REGISTER", uri: `sip:${DOMAIN}:${DP_SIP}` });
  return statusOf(await send(2, [`Authorization: ${auth}`]));
}

describe("a bad row is refused alone: the rest of its table goes live (control-plane + data-plane processes, kamctl, MariaDB)", () => {
  let admin: mysql.Connection;
  let cp: ControlPlaneProcess;
  let dp: DataPlaneProcess;
  let ua: UdpPeer;
  const home = mkdtempSync(join(tmpdir(), "olelo-rowiso-kamctl-"));
  const kamctl = (...args: string[]) => spawnSync("kamctl", args, { env: { ...process.env, HOME: home }, encoding: "utf8", timeout: 20_000 });
  const olectl = (args: string[]) => olectlProcess(args, { OLELO_CP_URL: cp.rpcUrl });
  const status = () => rpcResult(cp.rpcUrl, "status");
  const kindStatus = async (kind: string) => (await status()).kinds.find((k: { kind: string }) => k.kind === kind);

  beforeAll(async () => {
    admin = await freshE2eDatabase(DB);
    await admin.query(`DROP USER IF EXISTS '${KAM_USER}'@'127.0.0.1'`);
    await admin.query(`CREATE USER '${KAM_USER}'@'127.0.0.1' IDENTIFIED BY '${KAM_PW}'`);
    await admin.query(`GRANT ALL ON \`${DB}\`.* TO '${KAM_USER}'@'127.0.0.1'`);
    writeFileSync(
      join(home, ".kamctlrc"),
      [`SIP_DOMAIN=${DOMAIN}`, "DBENGINE=MYSQL", "DBHOST=127.0.0.1", "DBPORT=3306", `DBNAME=${DB}`, `DBRWUSER=${KAM_USER}`, `DBRWPW=${KAM_PW}`, `DBROUSER=${KAM_USER}`, `DBROPW=${KAM_PW}`, "DBACCESSHOST=127.0.0.1", "STORE_PLAINTEXT_PW=0", "CTLENGINE=RPCFIFO", ""].join("\n"),
    );
    cp = await startControlPlaneProcess({ db: DB, apiPort: CP_API, grpcPort: CP_GRPC, pollMs: POLL_MS });
    await admin.query("INSERT INTO subscriber (username, domain, password) VALUES ('alice', ?, 'alice-pw'), ('bob', ?, 'bob-pw')", [DOMAIN, DOMAIN]);
    await admin.query("INSERT INTO dispatcher (setid, destination, description) VALUES (1, 'sip:127.0.0.1:5091', 'gw a')");
    dp = await startDataPlaneProcess({
      node: "rowiso-dp",
      sipPort: DP_SIP,
      controlPort: DP_CONTROL,
      controlPlane: cp.grpcUrl,
      modules: { auth: { secret: "olelo-rowiso-secret-0123456789" }, usrloc: {}, registrar: {}, dispatcher: { ping_interval: 0 } },
      settings: {},
    });
    ua = await UdpPeer.open(0);
    await waitUntil("alice and bob registered through the data plane", async () => (await register(ua, "alice", "alice-pw")) === 200, 30_000, [cp, dp]);
    expect(await register(ua, "bob", "bob-pw")).toBe(200);
  }, 120_000);

  afterAll(async () => {
    ua?.close();
    await stopAllProcesses();
    await admin?.query(`DROP USER IF EXISTS '${KAM_USER}'@'127.0.0.1'`);
    await dropE2eDatabase(admin, DB);
    await admin?.end();
  });

  it.skipIf(!haveKamctl)("empty-username subscriber in SQL, then kamctl add carol and kamctl rm bob: both go live, the bad row is refused alone and loud", async () => {
    const [bad] = await admin.query<mysql.ResultSetHeader>("INSERT INTO subscriber (username, domain, password) VALUES ('', ?, 'x')", [DOMAIN]);
    const badKey = String(bad.insertId);

    const add = kamctl("add", `carol@${DOMAIN}`, "carol-pw");
    expect(add.status, add.stderr + add.stdout).toBe(0);
    const [carolRow] = await admin.query<RowDataPacket[]>("SELECT password, ha1 FROM subscriber WHERE username = 'carol'");
    expect(carolRow[0]).toMatchObject({ password: "", ha1: expect.stringMatching(/^[0-9a-f]{32}$/) }); // kamctl stores only the HA1
    const t0 = Date.now();
    // kamctl rm also tries `ul rm` over the FIFO of a Kamailio that is not running: its exit status
    // may be non-zero, the row must be gone all the same.
    kamctl("rm", `bob@${DOMAIN}`);
    const [bobRow] = await admin.query<RowDataPacket[]>("SELECT id FROM subscriber WHERE username = 'bob'");
    expect(bobRow).toEqual([]);

    await waitUntil("carol registers", async () => (await register(ua, "carol", "carol-pw")) === 200, POLL_MS + 1000, [cp, dp]);
    await waitUntil("bob is refused", async () => [401, 403].includes(await register(ua, "bob", "bob-pw")), POLL_MS + 1000, [cp, dp]);
    const live = Date.now() - t0;
    expect(live).toBeLessThan(POLL_MS + 2000);
    expect(await register(ua, "alice", "alice-pw")).toBe(200);

    // loud: status (table, key, reason), counter, one log line, audit trail, olectl status exit 1
    const sub = await kindStatus("subscriber");
    expect(sub).toMatchObject({ policy: "skip", held: false, lastError: null });
    expect(sub.refused).toEqual([{ kind: "subscriber", table: "subscriber", key: badKey, row: bad.insertId, reason: "username is empty", since: expect.any(String) }]);
    expect((await status()).refusalsTotal).toBeGreaterThanOrEqual(1);
    const lines = cp.logLines().filter((l) => l.msg === "row refused" && l.kind === "subscriber");
    expect(lines).toEqual([expect.objectContaining({ table: "subscriber", key: badKey, reason: "username is empty", policy: "skip" })]);
    const audit = await rpcResult(cp.rpcUrl, "audit.list", { kind: "subscriber", actor: "control-plane" });
    expect(audit.rows).toEqual([expect.objectContaining({ action: "row.refused", table_name: "subscriber", row_id: badKey, after: { reason: "username is empty", policy: "skip" } })]);
    const st = await olectl(["status"]);
    expect(st.code).toBe(1);
    expect(st.out).toMatch(new RegExp(`refused rows \\(1; \\d+ refusals since start\\):`));
    expect(st.out).toMatch(new RegExp(`subscriber +subscriber +${badKey} +\\S+ +username is empty`));
    expect(st.err).toBe("olectl: 1 row(s) refused (see above)\n");

    // fixing the row clears it; olectl status exits 0 again
    await admin.query("DELETE FROM subscriber WHERE id = ?", [bad.insertId]);
    await waitUntil("the refusal to clear", async () => (await kindStatus("subscriber")).refused.length === 0, POLL_MS + 3000, [cp]);
    expect((await olectl(["status"])).code).toBe(0);
  }, 60_000);

  it("a bad dispatcher row does not hold back a good one added after it; with --row-policy dispatcher=hold the kind is held and status says so", async () => {
    const sets = async () => dispatcherSets(await rpcResult(dp.rpcUrl, "dispatcher.list"));
    await waitUntil("gw a live", async () => (await sets())[1]?.includes("sip:127.0.0.1:5091") === true, 10_000, [cp, dp]);
    const [bad] = await admin.query<mysql.ResultSetHeader>("INSERT INTO dispatcher (setid, destination, description) VALUES (1, 'sip:127.0.0.1:99999', 'bad port')");
    await admin.query("INSERT INTO dispatcher (setid, destination, description) VALUES (1, 'sip:127.0.0.1:5092', 'gw b')");
    await waitUntil("gw b live beside gw a", async () => JSON.stringify((await sets())[1]) === JSON.stringify(["sip:127.0.0.1:5091", "sip:127.0.0.1:5092"]), POLL_MS + 2000, [cp, dp]);
    expect((await kindStatus("dispatcher")).refused).toEqual([
      expect.objectContaining({ table: "dispatcher", key: String(bad.insertId), reason: "destination 'sip:127.0.0.1:99999': port 99999 out of range" }),
    ]);

    // the same control plane with the hold policy for dispatcher (the last good version is restored from olelo_snapshots)
    await cp.stop("SIGTERM");
    cp = await startControlPlaneProcess({ db: DB, apiPort: CP_API, grpcPort: CP_GRPC, pollMs: POLL_MS, extraArgs: ["--row-policy", "dispatcher=hold"] });
    const held = await kindStatus("dispatcher");
    expect(held).toMatchObject({ policy: "hold", held: true, rows: 2, lastError: { table: "dispatcher", row: bad.insertId, reason: expect.stringContaining("port 99999") } });
    expect((await kindStatus("subscriber")).policy).toBe("skip");
    const v = held.version;
    await admin.query("INSERT INTO dispatcher (setid, destination, description) VALUES (1, 'sip:127.0.0.1:5093', 'gw c')");
    await letTimePass(POLL_MS * 5 + 500, "five polls: a new version would be compiled within this");
    expect((await kindStatus("dispatcher")).version).toBe(v);
    await waitUntil("data plane on the held version", async () => (await dp.version("dispatcher")) === v, 10_000, [cp, dp]);
    expect((await sets())[1]).toEqual(["sip:127.0.0.1:5091", "sip:127.0.0.1:5092"]);
    const st = await olectl(["status"]);
    expect(st.code).toBe(1);
    expect(st.out).toMatch(/dispatcher +\S+ +2 +hold +1 +\S+ +HELD: dispatcher row \d+: destination/);
    expect(st.err).toMatch(/^olectl: \d+ row\(s\) refused; held: dispatcher \(see above\)\n$/);

    // deletions go live on a held kind
    await admin.query("DELETE FROM dispatcher WHERE destination = 'sip:127.0.0.1:5091'");
    await waitUntil("gw a removed while dispatcher is held", async () => JSON.stringify((await sets())[1]) === JSON.stringify(["sip:127.0.0.1:5092"]), POLL_MS + 3000, [cp, dp]);
    expect((await kindStatus("dispatcher")).held).toBe(true);
    // and so do disables (flags bit 2: disabled by the admin)
    const flagsOf = async (uri: string) => {
      const list = await rpcResult(dp.rpcUrl, "dispatcher.list");
      const t = (list.RECORDS ?? []).flatMap((r: any) => r.SET.TARGETS).find((x: any) => x.DEST.URI === uri);
      return t?.DEST.FLAGS as string | undefined;
    };
    expect(await flagsOf("sip:127.0.0.1:5092")).toMatch(/^A/);
    await admin.query("UPDATE dispatcher SET flags = 4 WHERE destination = 'sip:127.0.0.1:5092'");
    await waitUntil("gw b disabled while dispatcher is held", async () => /^D/.test((await flagsOf("sip:127.0.0.1:5092")) ?? ""), POLL_MS + 3000, [cp, dp]);
    expect((await sets())[1]).toEqual(["sip:127.0.0.1:5092"]); // gw c (added while held) still not live
    expect((await kindStatus("dispatcher")).held).toBe(true);
  }, 90_000);
});
