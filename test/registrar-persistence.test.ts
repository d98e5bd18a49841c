/**
 * Persistent location storage: MySQL write-through (db_mode 1) and write-back (db_mode 2) into
 * the control plane's `location` table (Kamailio's columns, created by the control-plane
 * migrations in a real MariaDB), and the Redis store — each followed by a data-plane restart
 * that must keep every binding. Also: rows written by someone else (Kamailio) are loaded, removals
 * and expiries delete rows, and the ul.db_* RPCs count them. Ports: a block of 100 from test/kit/ports.ts (freePortBlock); databases
 * olelo_test_reg_*; Redis keys olelo:test:reg:*.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RowDataPacket } from "mysql2/promise";
import { Redis } from "ioredis";
import { startProxy } from "./helpers/proxy.js";
import { UdpPeer, headerOf, statusOf } from "./helpers/udp-peer.js";
import type { DataPlane } from "../data-plane/node.js";
import { dropTestDatabase, freshTestDatabase, testDbUrl } from "../control-plane/db/test-support.js";
import { migrateDatabase } from "../control-plane/db/migrate.js";
import type { Database } from "../control-plane/db/connect.js";
import { register, usrlocOf, waitFor } from "./scripts/registrar-helpers.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(100);
const REDIS_URL = "redis://127.0.0.1:6379";

async function reg(peer: UdpPeer, proxyPort: number, o: Omit<Parameters<typeof register>[0], "proxyPort" | "viaPort">): Promise<string> {
  peer.send(register({ ...o, proxyPort, viaPort: peer.port }), proxyPort);
  return peer.wait((t) => t.startsWith("SIP/2.0") && t.includes(`Call-ID: ${o.callId}\r\n`) && t.includes(`CSeq: ${o.cseq} REGISTER`));
}

const rpc = (dp: DataPlane, m: string, p: unknown) => dp.rpc.call(m, p, { transport: "internal" });

describe("MySQL write-through (db_mode 1)", () => {
  const DB = "olelo_test_reg_wt";
  let database: Database;
  let ua: UdpPeer;
  let dp: DataPlane | null = null;
  const config = () => ({
    listen: [`udp:127.0.0.1:${P}`],
    modules: { usrloc: { db_mode: 1, db_url: testDbUrl(DB) }, registrar: { min_expires: 1 } },
  });
  const rows = async (where = "1=1") => {
    const [r] = await database.pool.query<RowDataPacket[]>(`SELECT *, UNIX_TIMESTAMP(expires) AS exp_unix FROM location WHERE ${where} ORDER BY username, contact`);
    return r;
  };

  beforeAll(async () => {
    database = await freshTestDatabase(DB);
    await migrateDatabase(database.db, database.pool);
    ua = await UdpPeer.open(P + 1);
  });
  afterAll(async () => {
    ua?.close();
    await dp?.stop();
    await database?.close();
    await dropTestDatabase(DB);
  });

  it("writes every binding to the location table with Kamailio's columns", async () => {
    dp = await startProxy(config());
    const inst = '"<urn:uuid:aaaa-bbbb>"';
    expect(statusOf(await reg(ua, P, { user: "Ann", callId: "ann-1", cseq: 7, contacts: [`<sip:ann@10.0.0.1:5060>;q=0.5;+sip.instance=${inst};reg-id=1`, "<sip:ann@10.0.0.2>"], expires: 600, extra: ["User-Agent: phone/1.0", "Allow: INVITE, ACK, BYE, CANCEL"] }))).toBe(200);
    await rpc(dp, "ul.add", ["location", "perm", "sip:perm@10.0.0.9", "0", "1", ".", "0", "0", "-1", "sip:192.0.2.1:5090"]);
    await rpc(dp, "ul.flush", []);
    const r = await rows();
    expect(r.map((x) => [x.username, x.contact])).toEqual([
      ["ann", "sip:ann@10.0.0.1:5060"],
      ["ann", "sip:ann@10.0.0.2"],
      ["perm", "sip:perm@10.0.0.9"],
    ]);
    const a = r[0]!;
    const b = usrlocOf(dp).table("location").valid("ann").find((x) => x.contact === "sip:ann@10.0.0.1:5060")!;
    expect(a).toMatchObject({
      ruid: b.ruid,
      domain: null,
      received: null,
      path: null,
      q: 0.5,
      callid: "ann-1",
      cseq: 7,
      flags: 0,
      cflags: 0,
      user_agent: "phone/1.0",
      socket: `udp:127.0.0.1:${P}`,
      methods: 1 | 2 | 4 | 8,
      instance: "<urn:uuid:aaaa-bbbb>",
      reg_id: 1,
    });
    expect(Math.abs(Number(a.exp_unix) - (Math.floor(Date.now() / 1000) + 600))).toBeLessThanOrEqual(2);
    expect(r[1]!.methods).toBe(15); // Allow applies to every contact of the REGISTER
    // ul.add methods -1 (all): stored as Kamailio stores ALL_METHODS in the signed INT column
    expect(r[2]).toMatchObject({ received: "sip:192.0.2.1:5090", q: 1, methods: -1, callid: "dfjrewr12386fd6-343@kamailio.rpc" });
    expect(Number(r[2]!.exp_unix)).toBeLessThanOrEqual(0); // permanent
    expect(await rpc(dp, "ul.db_users", ["location"])).toBe(2);
    expect(await rpc(dp, "ul.db_contacts", ["location"])).toBe(3);
  });

  it("deletes rows on removal and on expiry", async () => {
    await reg(ua, P, { user: "ann", callId: "ann-1", cseq: 8, contacts: ["<sip:ann@10.0.0.2>"], expires: 0 });
    await reg(ua, P, { user: "brief", callId: "brief-1", cseq: 1, contacts: ["<sip:brief@10.0.0.3>"], expires: 1 });
    await rpc(dp!, "ul.flush", []);
    expect((await rows("username = 'brief'")).length).toBe(1);
    expect((await rows("contact = 'sip:ann@10.0.0.2'")).length).toBe(0);
    const gone = await waitFor(async () => (await rows("username = 'brief'")).length === 0, 4000, 100);
    expect(gone).toBe(true);
  });

  it("keeps every binding over a restart, and loads rows it did not write", async () => {
    const before = usrlocOf(dp!).table("location").valid("ann").map((b) => [b.ruid, b.contact, b.expires, b.q, b.instance, b.regId]);
    await dp!.stop();
    dp = null;
    // a row another registrar (Kamailio) wrote while we were down
    await database.pool.query(
      "INSERT INTO location (ruid, username, contact, expires, q, callid, cseq, last_modified, user_agent, socket, methods) " +
        "VALUES ('uloc-kam-1', 'kim', 'sip:kim@10.0.0.5', DATE_ADD(NOW(), INTERVAL 300 SECOND), 1.0, 'kam-cid', 3, NOW(), 'kamailio', 'udp:127.0.0.1:5060', -1)",
    );
    await database.pool.query(
      "INSERT INTO location (ruid, username, contact, expires, q, callid, cseq, last_modified) VALUES ('uloc-kam-2', 'old', 'sip:old@10.0.0.6', DATE_SUB(NOW(), INTERVAL 5 SECOND), 1.0, 'x', 1, NOW())",
    );
    dp = await startProxy(config());
    const t = usrlocOf(dp).table("location");
    expect(t.valid("ann").map((b) => [b.ruid, b.contact, b.expires, b.q, b.instance, b.regId])).toEqual(before);
    expect(t.valid("perm")[0]!.expires).toBe(0);
    const kim = t.valid("kim")[0]!;
    expect([kim.contact, kim.callid, kim.cseq, kim.userAgent]).toEqual(["sip:kim@10.0.0.5", "kam-cid", 3, "kamailio"]);
    expect(t.has("old")).toBe(false);
    expect(await rpc(dp, "ul.db_expired_contacts", ["location"])).toBe(1);
    // the restarted node answers for the kept bindings
    const q = await reg(ua, P, { user: "ann", callId: "ann-q", cseq: 1, contacts: [] });
    expect(headerOf(q, "Contact")[0]).toMatch(/^<sip:ann@10\.0\.0\.1:5060>;q=0\.5;expires=\d+;\+sip\.instance="<urn:uuid:aaaa-bbbb>";reg-id=1$/);
  });
});

describe("MySQL write-back (db_mode 2)", () => {
  const DB = "olelo_test_reg_wb";
  let database: Database;
  let ua: UdpPeer;
  let dp: DataPlane | null = null;
  const config = () => ({
    listen: [`udp:127.0.0.1:${P + 10}`],
    modules: { usrloc: { db_mode: 2, db_url: testDbUrl(DB), timer_interval: 1 }, registrar: {} },
  });
  const count = async (where: string) => {
    const [r] = await database.pool.query<RowDataPacket[]>(`SELECT cseq FROM location WHERE ${where}`);
    return r;
  };
  beforeAll(async () => {
    database = await freshTestDatabase(DB);
    await migrateDatabase(database.db, database.pool);
    ua = await UdpPeer.open(P + 11);
  });
  afterAll(async () => {
    ua?.close();
    await dp?.stop();
    await database?.close();
    await dropTestDatabase(DB);
  });

  it("writes on its timer, flushes on shutdown, and keeps the bindings over a restart", async () => {
    dp = await startProxy(config());
    await reg(ua, P + 10, { user: "wb", callId: "wb-1", cseq: 1, contacts: ["<sip:wb@10.0.0.1>"], expires: 600 });
    expect(await waitFor(async () => (await count("username = 'wb'")).length === 1, 3000, 100)).toBe(true);
    // a refresh just before stopping is written by the shutdown flush
    await reg(ua, P + 10, { user: "wb", callId: "wb-1", cseq: 2, contacts: ["<sip:wb@10.0.0.1>"], expires: 900 });
    await dp.stop();
    dp = null;
    expect((await count("username = 'wb'")).map((r) => r.cseq)).toEqual([2]);
    dp = await startProxy(config());
    const b = usrlocOf(dp).table("location").valid("wb")[0]!;
    expect([b.contact, b.cseq]).toEqual(["sip:wb@10.0.0.1", 2]);
    expect(b.remaining(Math.floor(Date.now() / 1000))).toBeGreaterThan(890);
  });
});

describe("Redis store", () => {
  const prefix = `olelo:test:reg:persist:${process.pid}:`;
  let redis: Redis;
  let ua: UdpPeer;
  let dp: DataPlane | null = null;
  const config = () => ({
    listen: [`udp:127.0.0.1:${P + 20}`],
    modules: { usrloc: { db_mode: 1, db_url: REDIS_URL, redis_prefix: prefix }, registrar: { min_expires: 1 } },
  });
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    ua = await UdpPeer.open(P + 21);
  });
  afterAll(async () => {
    ua?.close();
    await dp?.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it("stores rows as JSON with Kamailio's column names under the AoR key, with a TTL", async () => {
    dp = await startProxy(config());
    await reg(ua, P + 20, { user: "rita", callId: "rita-1", cseq: 1, contacts: ["<sip:rita@10.0.0.1>;q=0.7"], expires: 600 });
    await rpc(dp, "ul.flush", []);
    const h = await redis.hgetall(`${prefix}location:aor:rita`);
    const [ruid, json] = Object.entries(h)[0]!;
    const row = JSON.parse(json) as Record<string, unknown>;
    expect(row).toMatchObject({ ruid, username: "rita", contact: "sip:rita@10.0.0.1", q: 0.7, callid: "rita-1", cseq: 1, socket: `udp:127.0.0.1:${P + 20}` });
    const ttl = await redis.pttl(`${prefix}location:aor:rita`);
    expect(ttl).toBeGreaterThan(600_000);
    expect(ttl).toBeLessThan(662_000);
  });

  it("keeps bindings over a restart and deletes expired ones from Redis", async () => {
    await reg(ua, P + 20, { user: "tmp", callId: "tmp-1", cseq: 1, contacts: ["<sip:tmp@10.0.0.2>"], expires: 1 });
    const before = usrlocOf(dp!).table("location").valid("rita").map((b) => [b.ruid, b.contact, b.expires, b.q]);
    await dp!.stop();
    dp = null;
    dp = await startProxy(config());
    expect(usrlocOf(dp).table("location").valid("rita").map((b) => [b.ruid, b.contact, b.expires, b.q])).toEqual(before);
    // the 1-second binding expired while the node was down or right after: it is gone everywhere
    await letTimePass(1500, "the 1-second binding expires");
    expect(usrlocOf(dp).table("location").has("tmp")).toBe(false);
    expect(await waitFor(async () => (await redis.hlen(`${prefix}location:aor:tmp`)) === 0, 3000, 100)).toBe(true);
  });
});
