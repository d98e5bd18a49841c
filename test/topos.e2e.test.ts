/**
 * Issue 15, topology hiding with stored state (topos), over real `npm start` processes:
 * - one node, memory storage, mask_callid: sipp caller and callee, re-INVITE from each side,
 *   UPDATE, BYE from each side; the callee's message log shows none of the caller's ports, Via
 *   branches, Contact or Call-ID, only Olelo's single Via and its btpsh- Contact;
 * - two nodes sharing Redis, then MySQL (topos_d/topos_t of migration 0007): the caller's BYE and
 *   re-INVITE reach the other node, which restores the dialog from the store; a node SIGKILLed
 *   mid-call and restarted relays the BYE from the store.
 *
 * Ports: a block of 40 from test/kit/ports.ts (freePortBlock).
 */
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcResult, startDataPlaneProcess, stopAllProcesses, waitUntil, type DataPlaneOptions, type DataPlaneProcess } from "./helpers/processes.js";
import { runSipp, startSippServer } from "./helpers/sipp.js";
import { RawCaller } from "./helpers/raw-ua.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(40);
const PREFIX = `olelo:test:topos:${process.pid}:`;
const work = mkdtempSync(join(tmpdir(), "olelo-e2e-topos-"));
let redis: Redis;
let n1: DataPlaneProcess | null = null;
let n2: DataPlaneProcess | null = null;

const BYE_BY_CALLER = {
  uac: `<send retrans="500" start_txn="bye"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: sipp <sip:sipp@caller.invalid>;tag=[pid]SIPpTag00[call_number]
      To: [service] <sip:[service]@callee.invalid>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 4 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]></send>
  <recv response="200" response_txn="bye"/>`,
  uas: `<recv request="BYE"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]></send>`,
};
const BYE_BY_CALLEE = {
  uac: BYE_BY_CALLER.uas.replace("</send>", "</send>"),
  uas: `<send retrans="500" start_txn="bye"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:callee@callee.invalid>;tag=[pid]SIPpTag01[call_number]
      To:[$caller]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]></send>
  <recv response="200" response_txn="bye"/>`,
};

/** Messages of a sipp message log (-trace_msg), split into received and sent. */
function messages(file: string): { received: string[]; sent: string[] } {
  const text = readFileSync(file, "latin1");
  const out = { received: [] as string[], sent: [] as string[] };
  for (const block of text.split(/-{20,}[^\n]*\n/)) {
    const m = /^(UDP|TCP) message (received|sent) [[(]\d+[\])]? ?bytes\)? ?:[ \t]*\n\n?([\s\S]*)$/.exec(block.trim() + "\n");
    if (m) (m[2] === "received" ? out.received : out.sent).push(m[3]!);
  }
  return out;
}
const headerLines = (msg: string, name: string) => msg.split(/\r?\n/).filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));

beforeAll(async () => {
  redis = new Redis("redis://127.0.0.1:6379/0");
  const old = await redis.keys(`${PREFIX}*`);
  if (old.length) await redis.del(...old);
}, 30_000);

afterAll(async () => {
  await stopAllProcesses();
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe("topology hiding on one node, mask_callid (topos: memory storage; topoh: no storage)", () => {
  it.each([
    ["topos", "the caller", BYE_BY_CALLER, 0],
    ["topos", "the callee", BYE_BY_CALLEE, 1],
    ["topoh", "the caller", BYE_BY_CALLER, 2],
    ["topoh", "the callee", BYE_BY_CALLEE, 3],
  ] as const)("%s: re-INVITE from each side, UPDATE, BYE by %s; the callee never sees the caller's addresses or Call-ID", async (mode, _who, end, i) => {
    const uasPort = BASE + 20 + i;
    const uacPort = BASE + 24 + i;
    const node: DataPlaneOptions = {
      node: `tps-one-${i}`,
      sipPort: BASE + 2 * i,
      controlPort: BASE + 2 * i + 1,
      controlPlane: `127.0.0.1:${BASE + 39}`,
      settings: { nextHop: `sip:127.0.0.1:${uasPort}` },
      modules: mode === "topos" ? { topos: { mask_callid: 1 } } : { topoh: { mask_callid: 1, mask_key: "e2e-key" } },
    };
    const p = await startDataPlaneProcess(node);
    const uasLog = join(work, `uas-${i}.log`);
    const uacLog = join(work, `uac-${i}.log`);
    const uas = await startSippServer({ scenario: "tps_uas.xml", port: uasPort, templ: { tps_end: end.uas }, extra: ["-trace_msg", "-message_file", uasLog] });
    const r = await runSipp({ scenario: "tps_uac.xml", port: uacPort, remote: `127.0.0.1:${node.sipPort}`, calls: 1, service: "bob", templ: { tps_end: end.uac }, extra: ["-trace_msg", "-message_file", uacLog], timeoutS: 20 });
    const s = await uas.stop();
    expect([r.successful, r.failed], r.errors || r.stderr).toEqual([1, 0]);
    expect(s.successful, s.errors || s.stderr).toBe(1);
    const caller = messages(uacLog);
    const callee = messages(uasLog);
    const callerCallId = headerLines(caller.sent[0]!, "Call-ID")[0]!.slice(8).trim();
    const callerBranches = caller.sent.flatMap((m) => headerLines(m, "Via")).map((v) => /branch=([^;\s]+)/.exec(v)![1]!);
    expect(callee.received.length).toBeGreaterThanOrEqual(6); // INVITE, ACK, re-INVITE, ACK, UPDATE, 200, ...
    const all = callee.received.join("\n");
    expect(all).not.toContain(`:${uacPort}`);
    expect(all).not.toContain(callerCallId);
    for (const b of callerBranches) expect(all).not.toContain(b);
    for (const m of callee.received) {
      // topos drops Record-Route; topoh keeps Olelo's own entry (and masks any other)
      for (const rr of headerLines(m, "Record-Route")) expect(mode === "topoh" && rr.includes(`127.0.0.1:${node.sipPort}`), rr).toBe(true);
      const vias = headerLines(m, "Via");
      if (!m.startsWith("SIP/2.0")) {
        expect(vias.length, m).toBe(1);
        expect(vias[0]).toContain(`127.0.0.1:${node.sipPort}`);
        if (mode === "topoh") expect(vias[0]).toContain("branch=z9hG4bKsr-");
      }
      for (const c of headerLines(m, "Contact")) expect(c, m).toMatch(mode === "topos" ? /sip:btpsh-[0-9a-z]+@127\.0\.0\.1:\d+/ : /<sip:127\.0\.0\.8;line=sr-[A-Za-z0-9_-]+>/);
      expect(headerLines(m, "Call-ID")[0]).toMatch(mode === "topos" ? /^Call-ID: tpsh-/ : /^Call-ID: !!:/);
    }
    // and the caller sees Olelo, not the callee: atpsh- Contact, no callee port
    const towardCaller = caller.received.join("\n");
    expect(towardCaller).not.toContain(`:${uasPort}`);
    expect(towardCaller).toMatch(mode === "topos" ? /Contact: <sip:atpsh-/ : /Contact: <sip:127\.0\.0\.8;line=sr-/);
    const st = await rpcResult<Record<string, number>>(`http://127.0.0.1:${node.controlPort}/RPC`, "stats.fetchn", [`${mode}:`]);
    if (mode === "topos") {
      expect(st["topos.dialogs"]).toBe(1);
      expect(st["topos.restored_requests"]).toBeGreaterThanOrEqual(5);
    } else expect(st["topoh.decoded"]).toBeGreaterThanOrEqual(8);
    await p.stop();
  }, 60_000);
});

const DB = "olelo_test_topos";
const DB_URL = `mysql://root@127.0.0.1:3306/${DB}`;

/** A fresh database with the topos tables of migration 0007 (the version rows need Kamailio's version table: skipped). */
async function freshToposDb(): Promise<mysql.Connection> {
  const root = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root", multipleStatements: true });
  await root.query(`DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB}`);
  await root.end();
  const c = await mysql.createConnection({ uri: DB_URL });
  const sql = readFileSync(join(import.meta.dirname, "../control-plane/drizzle/0007_kamailio_topos.sql"), "utf8");
  for (const stmt of sql.split("--> statement-breakpoint")) if (stmt.includes("CREATE TABLE")) await c.query(stmt);
  return c;
}

describe.each(["redis", "db"] as const)("topos across two nodes sharing the storage (%s)", (storage) => {
  const uasPort = BASE + (storage === "redis" ? 30 : 31);
  const base = storage === "redis" ? 10 : 14;
  let db: mysql.Connection | null = null;
  const storedDialogs = async (): Promise<number> => {
    if (storage === "redis") return (await redis.keys(`${PREFIX}d:*`)).length;
    const [rows] = await db!.query<mysql.RowDataPacket[]>("SELECT COUNT(*) n FROM topos_d");
    return Number(rows[0]!.n);
  };
  beforeAll(async () => {
    if (storage === "db") db = await freshToposDb();
  });
  afterAll(async () => {
    if (!db) return;
    await db.query(`DROP DATABASE IF EXISTS ${DB}`);
    await db.end();
  });
  const mk = (name: string, off: number, other: number): DataPlaneOptions => ({
    node: name,
    sipPort: BASE + off,
    controlPort: BASE + off + 1,
    controlPlane: `127.0.0.1:${BASE + 39}`,
    dir: join(work, name),
    settings: { nextHop: `sip:127.0.0.1:${uasPort}` },
    modules: {
      topos: storage === "redis" ? { storage, redis_url: "redis://127.0.0.1:6379/0", redis_prefix: PREFIX, mask_callid: 1 } : { storage, db_url: DB_URL, mask_callid: 1 },
    },
    // the fleet shares its address in real life; here each node takes the other's as its own
    extra: { aliases: [`127.0.0.1:${BASE + other}`] },
  });
  const o1 = mk(`tps-${storage}-n1`, base, base + 2);
  const o2 = mk(`tps-${storage}-n2`, base + 2, base);

  it("BYE and re-INVITE through the other node; a restarted node relays the BYE from the store; the callee sees no caller address", async () => {
    mkdirSync(o1.dir!, { recursive: true });
    mkdirSync(o2.dir!, { recursive: true });
    n1 = await startDataPlaneProcess(o1);
    n2 = await startDataPlaneProcess(o2);
    const callee = new RawCaller(uasPort);
    await callee.open();
    const a = new RawCaller(BASE + (storage === "redis" ? 32 : 34));
    await a.open();
    try {
      // call 1: set up on n1, re-INVITE and BYE through n2
      expect((await a.invite(o1.sipPort)).status).toBe(200);
      expect(a.remoteTarget).toMatch(/^sip:atpsh-/);
      await waitUntil("the dialog stored", async () => (await storedDialogs()) === 1, 5000);
      expect((await a.inDialog("INVITE", o2.sipPort)).status).toBe(200);
      expect((await a.inDialog("BYE", o2.sipPort)).status).toBe(200);
      const st2 = await rpcResult<Record<string, number>>(n2.rpcUrl, "stats.fetchn", ["topos:"]);
      expect(st2["topos.loaded"]).toBe(1);
      expect(st2["topos.dialogs"]).toBe(0);

      // call 2: set up on n1, n1 SIGKILLed and started again, the BYE reaches the new n1
      const b = new RawCaller(a.port + 1);
      await b.open();
      try {
        expect((await b.invite(o1.sipPort)).status).toBe(200);
        expect((await b.inDialog("INVITE", o1.sipPort)).status).toBe(200);
        await n1.stop("SIGKILL");
        n1 = await startDataPlaneProcess(o1);
        const bye = await b.inDialog("BYE", o1.sipPort);
        const st1 = await rpcResult<Record<string, number>>(n1.rpcUrl, "stats.fetchn", ["topos:"]);
        expect(bye.status, JSON.stringify(st1)).toBe(200);
        expect(st1["topos.loaded"]).toBe(1);
      } finally {
        b.close();
      }
    } finally {
      a.close();
      callee.close();
    }
    // the callee saw 2 INVITEs, 2 re-INVITEs, ACKs and 2 BYEs, none with a caller address
    const got = callee.received.filter((m) => m.isRequest);
    expect(got.map((m) => m.method).filter((x) => x !== "ACK")).toEqual(["INVITE", "INVITE", "BYE", "INVITE", "INVITE", "BYE"]);
    const all = callee.received.map((m) => m.raw).join("\n");
    for (const port of [a.port, a.port + 1]) expect(all).not.toContain(`:${port}`);
    expect(all).not.toContain(a.callId);
    for (const m of got) {
      expect(m.headerAll("record-route")).toEqual([]);
      expect(m.headerValues("via")).toHaveLength(1);
      expect(m.callId).toMatch(/^tpsh-/);
    }
  }, 60_000);
});
