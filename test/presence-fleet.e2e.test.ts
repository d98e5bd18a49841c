/**
 * Issue 17, a presence fleet with real processes: two data planes (`npm start`'s
 * data-plane/main.ts) share Kamailio's presence tables in MariaDB (migrated by the control
 * plane's migrations, 0011 included) and Redis pub/sub. A watcher subscribed through node 2 gets
 * the NOTIFY with the PIDF published through node 1; the rows are in `presentity` and
 * `active_watchers` (socket_info = node 2's socket); msilo's `silo` table is shared too.
 * Ports: a block of 40 from test/kit/ports.ts (freePortBlock).
 */
import type { RowDataPacket } from "mysql2";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDatabase } from "../control-plane/db/migrate.js";
import { dropTestDatabase, freshTestDatabase, testDbUrl } from "../control-plane/db/test-support.js";
import type { Database } from "../control-plane/db/connect.js";
import { rpcResult, startDataPlaneProcess, stopAllProcesses, waitUntil, type DataPlaneProcess } from "./helpers/processes.js";
import { runSipp } from "./helpers/sipp.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(40);
const DB = "olelo_test_presence";
const PREFIX = `olelo:test:pres:${process.pid}:`;
let db: Database;
let n1: DataPlaneProcess;
let n2: DataPlaneProcess;

const node = (name: string, off: number) =>
  startDataPlaneProcess({
    node: name,
    sipPort: BASE + off,
    controlPort: BASE + off + 1,
    controlPlane: `127.0.0.1:${BASE + 39}`, // no control plane: standalone
    settings: {},
    modules: {
      usrloc: {},
      registrar: {},
      presence: { db_url: testDbUrl(DB), redis_url: "redis://127.0.0.1:6379/0", redis_prefix: PREFIX },
      msilo: { db_url: testDbUrl(DB) },
    },
  });

beforeAll(async () => {
  db = await freshTestDatabase(DB);
  await migrateDatabase(db.db, db.pool);
  [n1, n2] = await Promise.all([node("pres-1", 0), node("pres-2", 10)]);
}, 90_000);

afterAll(async () => {
  await stopAllProcesses();
  await db?.close();
  await dropTestDatabase(DB);
});

describe("presence across two nodes (MySQL + Redis)", () => {
  it("a PUBLISH through node 1 NOTIFYs a watcher subscribed through node 2", async () => {
    const watch = runSipp({
      scenario: "pres_watch.xml",
      port: BASE + 20,
      remote: `127.0.0.1:${n2.sipPort}`,
      calls: 1,
      timeoutS: 30,
      templ: { pres_user: "bob", watcher: "alice", event: "presence", first_body: "NOTIFY", expect_body: "<note>in a meeting</note>", expect_ctype: "application/pidf\\+xml" },
    });
    await waitUntil("alice's subscription on node 2", async () => (await rpcResult<unknown[]>(n2.rpcUrl, "presence.watcher_list", ["sip:bob@127.0.0.1", "presence"])).length === 1, 10_000, [n1, n2]);
    // the subscription row is written through the module's write queue, just after the 200
    await waitUntil("alice's active_watchers row", async () => (await db.pool.query<RowDataPacket[]>("SELECT id FROM active_watchers"))[0].length === 1, 5000, [n1, n2]);
    const [aw] = await db.pool.query<RowDataPacket[]>("SELECT presentity_uri, watcher_username, socket_info, status FROM active_watchers");
    expect(aw.map((r: RowDataPacket) => ({ ...r }))).toEqual([{ presentity_uri: "sip:bob@127.0.0.1", watcher_username: "alice", socket_info: `udp:127.0.0.1:${n2.sipPort}`, status: 1 }]);
    const pub = await runSipp({ scenario: "pres_publish.xml", port: BASE + 21, remote: `127.0.0.1:${n1.sipPort}`, calls: 1, templ: { pres_user: "bob", note: "in a meeting" } });
    expect([pub.successful, pub.failed], pub.errors + pub.stderr).toEqual([1, 0]);
    const w = await watch;
    expect([w.successful, w.failed], w.errors + w.stderr).toEqual([1, 0]);
    const [rows] = await db.pool.query<RowDataPacket[]>("SELECT username, domain, event, CAST(body AS CHAR) AS body FROM presentity");
    expect(rows.length).toBe(1);
    expect(rows[0]).toMatchObject({ username: "bob", domain: "127.0.0.1", event: "presence" });
    expect(String(rows[0]!.body)).toContain("in a meeting");
    // node 2 reloaded the publication from the table on node 1's notification
    const st = await rpcResult<Record<string, number>>(n2.rpcUrl, "stats.fetchn", ["presence:"]);
    expect(st["presence.fleet_received"]).toBeGreaterThanOrEqual(1);
    expect(st["presence.publications_new"]).toBe(0);
    const list = await rpcResult<Array<{ body: string }>>(n2.rpcUrl, "presence.presentity_list", ["presence"]);
    expect(list.map((p) => p.body.includes("in a meeting"))).toEqual([true]);
    await waitUntil("the subscription row deleted after the un-subscribe", async () => (await db.pool.query<RowDataPacket[]>("SELECT id FROM active_watchers"))[0].length === 0, 5000, [n1, n2]);
  }, 60_000);

  it("a MESSAGE stored through node 1 (202) is in the shared silo table node 2 lists", async () => {
    const m = await runSipp({ scenario: "msg_send.xml", port: BASE + 22, remote: `127.0.0.1:${n1.sipPort}`, calls: 1, templ: { from_user: "alice", to_user: "zoe", text: "see you", code: "202" } });
    expect([m.successful, m.failed], m.errors + m.stderr).toEqual([1, 0]);
    const l = await rpcResult<Array<{ username: string; body: string }>>(n2.rpcUrl, "msilo.dump", ["zoe@127.0.0.1"]);
    expect(l.map((x) => [x.username, x.body.trim()])).toEqual([["zoe", "see you"]]);
  }, 30_000);
});

afterAll(async () => {
  const r = new Redis("redis://127.0.0.1:6379/0");
  const keys = await r.keys(`${PREFIX}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
});
