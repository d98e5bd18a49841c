/**
 * SIP tracing to a real HEP receiver (issue 20): `npm start` with siptrace → Kamailio's `sipcapture`
 * module (Debian package) → MariaDB. Rows for the received and the sent OPTIONS carry method, Call-ID,
 * source and destination address and port. The sip_capture table is written per the sipcapture docs
 * (Debian ships no create script for it). Ports: a block of 3 from test/kit/ports.ts.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, rpcResult, spawnCommand, waitUntil, type TestProcess } from "./helpers/processes.js";
import { UdpPeer, request, statusOf } from "./helpers/udp-peer.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(3);
const HEP = P + 1;
const CTL = P + 2;
const DB = `olelo_siptrace_t${process.pid}`;

const COLS = [
  "method VARCHAR(50)", "reply_reason VARCHAR(100)", "ruri VARCHAR(200)", "ruri_user VARCHAR(100)", "ruri_domain VARCHAR(100)",
  "from_user VARCHAR(100)", "from_domain VARCHAR(100)", "from_tag VARCHAR(64)", "to_user VARCHAR(100)", "to_domain VARCHAR(100)",
  "to_tag VARCHAR(64)", "pid_user VARCHAR(100)", "contact_user VARCHAR(120)", "auth_user VARCHAR(120)", "callid VARCHAR(120)",
  "callid_aleg VARCHAR(120)", "via_1 VARCHAR(256)", "via_1_branch VARCHAR(80)", "cseq VARCHAR(25)", "diversion VARCHAR(256)",
  "reason VARCHAR(200)", "content_type VARCHAR(256)", "auth VARCHAR(256)", "user_agent VARCHAR(256)", "source_ip VARCHAR(60)",
  "destination_ip VARCHAR(60)", "contact_ip VARCHAR(60)", "originator_ip VARCHAR(60)", "correlation_id VARCHAR(256)",
  "custom_field1 VARCHAR(256)", "custom_field2 VARCHAR(256)", "custom_field3 VARCHAR(256)", "rtp_stat VARCHAR(256)", "node VARCHAR(125)",
].map((c) => `${c} NOT NULL DEFAULT ''`);
const INTS = ["source_port", "destination_port", "contact_port", "originator_port", "expires", "proto", "type"].map((c) => `${c} INT NOT NULL DEFAULT 0`);
const TABLE = `CREATE TABLE sip_capture (id BIGINT AUTO_INCREMENT PRIMARY KEY, date DATETIME NOT NULL DEFAULT '1900-01-01 00:00:01',
  micro_ts BIGINT NOT NULL DEFAULT 0, family INT DEFAULT NULL, msg VARBINARY(3000) NOT NULL DEFAULT '', ${[...COLS, ...INTS].join(", ")})`;

interface Row {
  method: string;
  callid: string;
  source_ip: string;
  source_port: number;
  destination_ip: string;
  destination_port: number;
  correlation_id: string;
  node: string;
}

describe("siptrace → Kamailio sipcapture → MariaDB", () => {
  let db: mysql.Connection;
  let kam: TestProcess;
  let proc: TestProcess;
  let uas: UdpPeer;
  const rows = async (callId: string): Promise<Row[]> =>
    (await db.query("SELECT method, callid, source_ip, source_port, destination_ip, destination_port, correlation_id, node FROM sip_capture WHERE callid = ?", [callId]))[0] as Row[];
  beforeAll(async () => {
    db = await mysql.createConnection({ host: "127.0.0.1", user: "root" });
    await db.query(`DROP DATABASE IF EXISTS ${DB}`);
    await db.query(`CREATE DATABASE ${DB}`);
    await db.query(`USE ${DB}`);
    await db.query(TABLE);
    const dir = mkdtempSync(join(tmpdir(), "olelo-sipcapture-"));
    writeFileSync(
      join(dir, "kamailio.cfg"),
      [
        "#!KAMAILIO",
        "debug=2",
        "log_stderror=yes",
        "children=1",
        `listen=udp:127.0.0.1:${HEP}`,
        'mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"',
        'loadmodule "db_mysql.so"',
        'loadmodule "sipcapture.so"',
        `modparam("sipcapture", "db_url", "mysql://root@127.0.0.1/${DB}")`,
        'modparam("sipcapture", "hep_capture_on", 1)',
        'modparam("sipcapture", "capture_on", 1)',
        "request_route { sip_capture(); drop; }",
        "onreply_route { sip_capture(); drop; }",
        "",
      ].join("\n"),
    );
    kam = spawnCommand("kamailio sipcapture", "kamailio", ["-DD", "-E", "-f", join(dir, "kamailio.cfg"), "-m", "32", "-M", "8", "-Y", dir]);
    await waitUntil("kamailio", () => kam.log().includes("SO_RCVBUF is finally"), 15_000, [kam]);
    uas = await UdpPeer.open(0);
    uas.onMessage = (text, r) => {
      if (text.startsWith("SIP/2.0")) return;
      const keep = text.split("\r\n\r\n")[0]!.split("\r\n").filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
      uas.sock.send(Buffer.from(["SIP/2.0 200 OK", ...keep, "Content-Length: 0", "", ""].join("\r\n"), "latin1"), r.port, r.address);
    };
    writeFileSync(
      join(dir, "olelo.json"),
      JSON.stringify({
        node: "siptrace-cap",
        listen: [`udp:127.0.0.1:${P}`],
        script: { file: join(ROOT, "data-plane/scripts/default.ts"), settings: { nextHop: `sip:127.0.0.1:${uas.port}` } },
        control: { listen: `127.0.0.1:${CTL}` },
        modules: { siptrace: { duplicate_uri: `sip:127.0.0.1:${HEP}`, trace_on: 1, hep_capture_id: 2001 } },
        dataDir: join(dir, "data"),
      }),
    );
    proc = spawnCommand("npm start (siptrace)", "npm", ["start", "--", "--config", join(dir, "olelo.json")]);
    await waitUntil("npm start", () => proc.log().includes("olelo data plane running"), 30_000, [proc]);
  }, 60_000);
  afterAll(async () => {
    uas?.close();
    await proc?.stop();
    await kam?.stop();
    await db?.query(`DROP DATABASE IF EXISTS ${DB}`);
    await db?.end();
  });

  const call = async (callId: string): Promise<number> => {
    const c = await UdpPeer.open(0);
    c.send(request("OPTIONS", `sip:bob@127.0.0.1:${P}`, { port: c.port, callId }), P);
    const st = statusOf(await c.wait((t) => t.includes(callId)));
    c.close();
    return st;
  };

  it("rows for the received and the sent OPTIONS (and both replies) with method, Call-ID, addresses and ports", async () => {
    const callId = `cap-${process.pid}@test`;
    expect(await call(callId)).toBe(200);
    await waitUntil("4 sip_capture rows", async () => (await rows(callId)).length >= 4, 10_000, [proc, kam]);
    const r = await rows(callId);
    const opt = r.filter((x) => x.method === "OPTIONS");
    expect(opt.some((x) => x.destination_port === P && x.source_ip === "127.0.0.1"), JSON.stringify(r)).toBe(true);
    expect(opt.some((x) => x.source_port === P && x.destination_port === uas.port && x.destination_ip === "127.0.0.1"), JSON.stringify(r)).toBe(true);
    expect(r.filter((x) => x.method === "" || x.method === "200").length + opt.length).toBeGreaterThanOrEqual(4);
    for (const x of r) {
      expect(x.correlation_id).toBe(callId);
      expect(x.node).toContain("2001");
    }
  });

  it("siptrace.status off → no more rows", async () => {
    expect(await rpcResult(`http://127.0.0.1:${CTL}/RPC`, "siptrace.status", { mode: "off" })).toEqual({ status: "off" });
    const callId = `cap-off-${process.pid}@test`;
    expect(await call(callId)).toBe(200);
    await letTimePass(1000, "a row of the untraced call would be written within this");
    expect(await rows(callId)).toHaveLength(0);
  });
});
