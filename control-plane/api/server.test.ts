import { createHash } from "node:crypto";
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { setLogSink } from "../../lib/log/logger.js";
import { createDbSnapshotSource, type DbSnapshotSource } from "../compile/source.js";
import type { Database } from "../db/connect.js";
import { migrateDatabase } from "../db/migrate.js";
import { dropTestDatabase, freshTestDatabase } from "../db/test-support.js";
import { createManagementServer, type ManagementServer, type NodeStatus } from "./server.js";
import { freePort } from "../../test/kit/ports.js";

const DB = "olelo_test_cp2";
const PORT = await freePort();
const TOKEN_PORT = await freePort();

let d: Database;
let source: DbSnapshotSource;
let api: ManagementServer;
let nodes: NodeStatus[] = [];
let nextId = 0;

interface RpcReply {
  result?: any;
  error?: { code: number; message: string; data?: any };
}

async function rpc(method: string, params?: unknown, opts: { url?: string; token?: string } = {}): Promise<RpcReply> {
  const res = await fetch(opts.url ?? api.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    body: JSON.stringify({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }), id: ++nextId }),
  });
  return (await res.json()) as RpcReply;
}

/** Calls and expects success. */
async function ok(method: string, params?: unknown): Promise<any> {
  const r = await rpc(method, params);
  expect(r.error, `${method} ${JSON.stringify(params)} → ${JSON.stringify(r.error)}`).toBeUndefined();
  return r.result;
}

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

setLogSink(() => undefined);

beforeAll(async () => {
  d = await freshTestDatabase(DB);
  await migrateDatabase(d.db, d.pool);
  source = await createDbSnapshotSource({ db: d.db, pool: d.pool, pollIntervalMs: 0 });
  api = await createManagementServer({ source, db: d.db, pool: d.pool, port: PORT, nodes: () => nodes });
});

afterAll(async () => {
  await api?.close();
  await source?.close();
  await d?.close();
  await dropTestDatabase(DB);
  setLogSink(null);
});

beforeEach(async () => {
  for (const t of ["dispatcher", "lcr_rule_target", "lcr_rule", "lcr_gw", "dr_rules", "dr_gateways", "subscriber", "prefix_route", "olelo_audit", "acc"]) {
    await d.pool.query(`DELETE FROM \`${t}\``);
  }
  await source.refresh("test reset");
});

describe("management API: CRUD over HTTP", () => {
  it("dispatcher: create, get, list with filters, update, delete", async () => {
    const a = await ok("dispatcher.create", { setid: 1, destination: "sip:10.0.0.1:5060", priority: 10, attrs: "weight=60" });
    expect(a.row).toMatchObject({ setid: 1, destination: "sip:10.0.0.1:5060", flags: 0, priority: 10, attrs: "weight=60", description: "" });
    expect(a.kind).toBe("dispatcher");
    expect(a.version).toBe(source.current("dispatcher")!.version);
    // Kamailio tools send numbers as strings; positional params follow the column order
    const b = await ok("dispatcher.create", { setid: "2", destination: "sip:10.0.0.2", flags: "8" });
    expect(b.row).toMatchObject({ setid: 2, flags: 8 });
    expect(await ok("dispatcher.get", { id: a.row.id })).toEqual(a.row);
    expect(await ok("dispatcher.get", [b.row.id])).toEqual(b.row);

    const all = await ok("dispatcher.list", {});
    expect(all.total).toBe(2);
    expect((await ok("dispatcher.list", { setid: 2 })).rows).toEqual([b.row]);
    expect((await ok("dispatcher.list", { like: { destination: "%10.0.0.1%" } })).rows).toEqual([a.row]);
    expect((await ok("dispatcher.list", { limit: 1, offset: 1, order: "-id" })).rows).toEqual([a.row]);

    const u = await ok("dispatcher.update", { id: a.row.id, priority: 20, description: "primary" });
    expect(u.row).toMatchObject({ id: a.row.id, priority: 20, description: "primary" });
    expect(u.version).not.toBe(b.version);
    expect(source.current("dispatcher")!.set.dispatcher!.find((r) => r.id === a.row.id)!.priority).toBe(20);

    const del = await ok("dispatcher.delete", { id: b.row.id });
    expect(del.deleted).toEqual(b.row);
    expect((await ok("dispatcher.list")).total).toBe(1);
    expect(source.current("dispatcher")!.rows).toBe(1);
  });

  it("lcr: gateways, rules and targets; a referenced gateway cannot be deleted (422)", async () => {
    const gw = await ok("lcr_gw.create", { lcr_id: 1, gw_name: "gw1", ip_addr: "10.0.0.7", port: 5060, transport: 1 });
    expect(gw.row).toMatchObject({ hostname: null, uri_scheme: null, defunct: null, flags: 0 });
    const rule = await ok("lcr_rule.create", { lcr_id: 1, prefix: "49", from_uri: "^sip:.*" });
    const tgt = await ok("lcr_rule_target.create", { lcr_id: 1, rule_id: rule.row.id, gw_id: gw.row.id, priority: 1 });
    expect(tgt.row).toMatchObject({ weight: 1 });
    expect(source.current("lcr")!.rows).toBe(3);

    const r = await rpc("lcr_gw.delete", { id: gw.row.id });
    expect(r.error).toMatchObject({ code: 422, data: { kind: "lcr", table: "lcr_rule_target", row: tgt.row.id, reason: expect.stringContaining("gw_id") } });
    expect((await ok("lcr_gw.list")).total).toBe(1);

    // a target pointing at a missing gateway is refused, naming the row
    const bad = await rpc("lcr_rule_target.create", { lcr_id: 1, rule_id: rule.row.id, gw_id: 999, priority: 1 });
    expect(bad.error).toMatchObject({ code: 422, data: { table: "lcr_rule_target", reason: "gw_id 999 is not in lcr_gw" } });
    // duplicate unique key (rule_id, gw_id) → 409
    const dup = await rpc("lcr_rule_target.create", { lcr_id: 1, rule_id: rule.row.id, gw_id: gw.row.id, priority: 2 });
    expect(dup.error).toMatchObject({ code: 409, data: { table: "lcr_rule_target", key: "rule_id_gw_id_idx", columns: ["rule_id", "gw_id"] } });
  });

  it("drouting: keys gwid/ruleid, gwlist references checked", async () => {
    const gw = await ok("dr_gateways.create", { type: 1, address: "10.0.0.9:5060", pri_prefix: "00" });
    expect(gw.row.gwid).toEqual(expect.any(Number));
    const rule = await ok("dr_rules.create", { groupid: "1", prefix: "49", timerec: "", routeid: "", gwlist: String(gw.row.gwid) });
    expect(await ok("dr_rules.get", { ruleid: rule.row.ruleid })).toMatchObject({ gwlist: String(gw.row.gwid), priority: 0 });
    const bad = await rpc("dr_rules.update", { ruleid: rule.row.ruleid, gwlist: `${gw.row.gwid},77` });
    expect(bad.error).toMatchObject({ code: 422, data: { table: "dr_rules", row: rule.row.ruleid, reason: expect.stringContaining("77") } });
    expect((await ok("dr_rules.get", { ruleid: rule.row.ruleid })).gwlist).toBe(String(gw.row.gwid));
    expect((await rpc("dr_rules.get", { id: rule.row.ruleid })).error).toMatchObject({ code: -32602, data: { param: "id" } });
  });

  it("prefix_route: keyed by prefix; a second row for the same prefix is a conflict", async () => {
    await ok("prefix_route.create", { prefix: "49", route: "GERMANY" });
    expect((await rpc("prefix_route.create", { prefix: "49", route: "OTHER" })).error).toMatchObject({ code: 409, data: { table: "prefix_route", key: "prefix" } });
    expect(await ok("prefix_route.update", { prefix: "49", comment: "DE" })).toMatchObject({ row: { prefix: "49", route: "GERMANY", comment: "DE" } });
    expect((await rpc("prefix_route.create", { prefix: "4x", route: "X" })).error).toMatchObject({ code: 422, data: { row: "4x" } });
    await ok("prefix_route.delete", { prefix: "49" });
    expect((await rpc("prefix_route.get", { prefix: "49" })).error).toMatchObject({ code: 404 });
  });

  it("subscriber: stores password, ha1 = MD5(user:realm:pw), ha1b = MD5(user@domain:realm:pw); passwd recomputes", async () => {
    const c = await ok("subscriber.create", { username: "alice", domain: "example.com", password: "s3cret" });
    expect(c.row).toMatchObject({
      username: "alice",
      domain: "example.com",
      password: "s3cret",
      ha1: md5("alice:example.com:s3cret"),
      ha1b: md5("alice@example.com:example.com:s3cret"),
    });
    expect((await rpc("subscriber.create", { username: "alice", domain: "example.com", password: "x" })).error).toMatchObject({
      code: 409,
      data: { key: "account_idx", columns: ["username", "domain"] },
    });
    const p = await ok("subscriber.passwd", { username: "alice", domain: "example.com", password: "n3w" });
    expect(p.row).toMatchObject({ password: "n3w", ha1: md5("alice:example.com:n3w"), ha1b: md5("alice@example.com:example.com:n3w") });
    const u = await ok("subscriber.update", { id: c.row.id, domain: "example.org" });
    expect(u.row).toMatchObject({ domain: "example.org", ha1: md5("alice:example.org:n3w") });
    expect((await rpc("subscriber.passwd", { username: "nobody", domain: "example.com", password: "x" })).error).toMatchObject({ code: 404 });
    expect((await rpc("subscriber.create", { username: "bob", domain: "example.com" })).error).toMatchObject({ code: -32602, data: { param: "password" } });
    expect(source.current("subscriber")!.set.subscriber![0]).toMatchObject({ username: "alice", ha1: md5("alice:example.org:n3w") });
  });

  it("read-only tables: acc (data-plane owned, 403 on writes) and version", async () => {
    // accounting tables are written by the data planes only: listed, never edited
    expect((await rpc("acc.create", { method: "INVITE", callid: "c1", sip_code: "200", sip_reason: "OK", time: "2024-05-01T10:00:00Z" })).error).toMatchObject({
      code: 403,
      message: expect.stringContaining("acc is read-only"),
    });
    expect((await rpc("acc_cdrs.delete", { id: 1 })).error).toMatchObject({ code: 403, data: { table: "acc_cdrs" } });
    expect((await ok("acc_cdrs.list", {})).rows).toEqual([]);
    expect((await ok("version.list", { table_name: "subscriber" })).rows).toEqual([{ id: expect.any(Number), table_name: "subscriber", table_version: 7 }]);
    expect((await rpc("version.create", { table_name: "x" })).error).toMatchObject({ code: -32601 });
  });
});

describe("management API: errors", () => {
  it("invalid params name the parameter (-32602)", async () => {
    expect((await rpc("dispatcher.create", { setid: "abc", destination: "sip:a" })).error).toMatchObject({ code: -32602, data: { param: "setid" } });
    expect((await rpc("dispatcher.create", { setid: 1, destination: "sip:" + "a".repeat(200) })).error).toMatchObject({
      code: -32602,
      message: expect.stringContaining("192"),
      data: { param: "destination" },
    });
    expect((await rpc("dispatcher.create", { setid: 1, destination: "sip:a", bogus: 1 })).error).toMatchObject({ code: -32602, data: { param: "bogus" } });
    expect((await rpc("lcr_gw.create", { lcr_id: 70000 })).error).toMatchObject({ code: -32602, data: { param: "lcr_id" } });
    expect((await rpc("dr_gateways.create", { address: null })).error).toMatchObject({ code: -32602, data: { param: "address" } });
    expect((await rpc("dispatcher.update", { id: 1 })).error).toMatchObject({ code: -32602 });
    expect((await rpc("dispatcher.list", { order: "nope" })).error).toMatchObject({ code: -32602, data: { param: "order" } });
    expect((await rpc("dispatcher.get", {})).error).toMatchObject({ code: -32602, data: { param: "id" } });
  });

  it("404 for missing rows, -32601 for unknown methods, -32700 for bad JSON, batches", async () => {
    expect((await rpc("dispatcher.get", { id: 12345 })).error).toMatchObject({ code: 404, data: { table: "dispatcher", id: 12345 } });
    expect((await rpc("dispatcher.update", { id: 12345, priority: 1 })).error).toMatchObject({ code: 404 });
    expect((await rpc("dispatcher.delete", { id: 12345 })).error).toMatchObject({ code: 404 });
    expect((await rpc("nope.nothing")).error).toMatchObject({ code: -32601 });
    const res = await fetch(api.url, { method: "POST", body: "{not json" });
    expect(((await res.json()) as RpcReply).error).toMatchObject({ code: -32700 });
    const batch = await fetch(api.url, {
      method: "POST",
      body: JSON.stringify([
        { jsonrpc: "2.0", method: "dispatcher.list", id: 1 },
        { jsonrpc: "2.0", method: "dispatcher.get", params: { id: 999 }, id: 2 },
      ]),
    });
    const replies = (await batch.json()) as Array<RpcReply & { id: number }>;
    expect(replies.map((r) => [r.id, r.error?.code ?? "ok"])).toEqual([
      [1, "ok"],
      [2, 404],
    ]);
    expect((await fetch(api.url.replace("/RPC", "/other"), { method: "POST", body: "{}" })).status).toBe(404);
    expect((await fetch(api.url, { method: "GET" })).status).toBe(405);
  });

  it("a bad row is rejected with 422 naming the row, not committed, and the served version is kept", async () => {
    const good = await ok("dispatcher.create", { setid: 1, destination: "sip:10.0.0.1" });
    const v = source.current("dispatcher")!.version;
    const r = await rpc("dispatcher.create", { setid: 1, destination: "sip:10.0.0.1" });
    expect(r.error).toMatchObject({
      code: 422,
      message: expect.stringContaining("dispatcher row"),
      data: { kind: "dispatcher", table: "dispatcher", row: expect.any(Number), reason: expect.stringContaining("already in set 1") },
    });
    const r2 = await rpc("dispatcher.update", { id: good.row.id, flags: 64 * 1024 });
    expect(r2.error).toMatchObject({ code: 422, data: { row: good.row.id, reason: expect.stringContaining("flags") } });
    expect((await ok("dispatcher.list")).rows).toEqual([good.row]);
    expect(source.current("dispatcher")!.version).toBe(v);
    const [audit] = await d.pool.query<RowDataPacket[]>("SELECT COUNT(*) n FROM olelo_audit");
    expect(Number(audit[0]!.n)).toBe(1);
  });

  it("concurrent writes to one kind are serialised: two identical destinations cannot both commit", async () => {
    const replies = await Promise.all([
      rpc("dispatcher.create", { setid: 7, destination: "sip:10.7.0.1" }),
      rpc("dispatcher.create", { setid: 7, destination: "sip:10.7.0.1" }),
      rpc("dispatcher.create", { setid: 7, destination: "sip:10.7.0.1" }),
    ]);
    expect(replies.filter((r) => r.result).length).toBe(1);
    expect(replies.filter((r) => r.error?.code === 422).length).toBe(2);
    expect((await ok("dispatcher.list", { setid: 7 })).total).toBe(1);
  });

  it("rows made bad by direct SQL are left out (skip policy); other rows stay editable and the bad rows can be fixed", async () => {
    const a = await ok("dispatcher.create", { setid: 1, destination: "sip:10.0.0.1" });
    await d.pool.query("INSERT INTO dispatcher (id, setid, destination) VALUES (900, 1, 'sip:'), (901, 1, 'sip:')");
    const u = await ok("dispatcher.update", { id: a.row.id, priority: 3 });
    expect(u.warning).toContain("without 2 bad row(s) written outside the API: dispatcher row 900, dispatcher row 901");
    expect(u.version).toBe(source.current("dispatcher")!.version);
    expect(source.current("dispatcher")!.set.dispatcher!.map((r) => [r.id, r.priority])).toEqual([[a.row.id, 3]]);
    // fixing bad rows one by one: the first fix still leaves row 901 out, so it is accepted with a warning
    expect((await ok("dispatcher.update", { id: 900, destination: "sip:10.0.0.90" })).warning).toContain("901");
    // writing a still-bad value into the row being written is refused
    expect((await rpc("dispatcher.update", { id: 901, description: "still bad" })).error).toMatchObject({ code: 422, data: { row: 901 } });
    const fixed = await ok("dispatcher.delete", { id: 901 });
    expect(fixed.warning).toBeUndefined();
    expect(fixed.version).toBe(source.current("dispatcher")!.version);
    expect(source.current("dispatcher")!.set.dispatcher!.map((r) => r.id)).toEqual([a.row.id, 900]);
  });
});

describe("management API: audit, diff, push, nodes, status", () => {
  it("every change is in olelo_audit with actor, before/after and version; secrets are redacted", async () => {
    const c = await ok("dispatcher.create", { setid: 1, destination: "sip:10.0.0.1" });
    await ok("dispatcher.update", { id: c.row.id, priority: 4 });
    await ok("dispatcher.delete", { id: c.row.id });
    await ok("subscriber.create", { username: "u1", domain: "d", password: "pw123456" });
    const log = (await ok("audit.list", { table_name: "dispatcher" })).rows;
    expect(log.map((r: any) => r.action)).toEqual(["delete", "update", "create"]);
    expect(log[2]).toMatchObject({ actor: "local", kind: "dispatcher", row_id: String(c.row.id), before: null, after: c.row, version: c.version });
    expect(log[1]).toMatchObject({ before: c.row, after: { ...c.row, priority: 4 } });
    expect(log[0]).toMatchObject({ before: { ...c.row, priority: 4 }, after: null });
    expect(log[0].ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const sub = (await ok("audit.list", { table_name: "subscriber" })).rows[0];
    expect(sub.after).toMatchObject({ username: "u1", password: "(secret)", ha1: "(secret)", ha1b: "(secret)" });
    const [raw] = await d.pool.query<RowDataPacket[]>("SELECT `after` FROM olelo_audit WHERE table_name = 'subscriber'");
    expect(String(raw[0]!.after)).not.toContain("pw123456");
  });

  it("diff shows direct SQL changes not yet pushed; push compiles them and diff is empty again", async () => {
    const c = await ok("dispatcher.create", { setid: 1, destination: "sip:10.0.0.1" });
    expect(await ok("diff")).toEqual([]);
    await d.pool.query("INSERT INTO dispatcher (id, setid, destination) VALUES (50, 2, 'sip:10.0.0.50')");
    await d.pool.query("UPDATE dispatcher SET attrs = 'duid=a' WHERE id = ?", [c.row.id]);
    const diff = await ok("diff");
    expect(diff).toEqual([
      {
        kind: "dispatcher",
        from: c.version,
        to: expect.stringMatching(/^[0-9a-f]{16}$/),
        added: [{ table: "dispatcher", id: 50, row: expect.objectContaining({ destination: "sip:10.0.0.50" }) }],
        removed: [],
        changed: [{ table: "dispatcher", id: c.row.id, columns: ["attrs"], before: expect.objectContaining({ attrs: "" }), after: expect.objectContaining({ attrs: "duid=a" }) }],
      },
    ]);
    const p = await ok("push");
    expect(p.changed).toEqual(["dispatcher"]);
    expect(p.kinds.find((k: any) => k.kind === "dispatcher")).toMatchObject({ version: diff[0].to, rows: 2, changed: true, error: null });
    expect(await ok("diff")).toEqual([]);
    expect((await ok("audit.list", { table_name: "*" })).rows[0]).toMatchObject({ action: "push", after: { changed: ["dispatcher"] } });
  });

  it("nodes comes from the push server's callback; status reports kinds and database", async () => {
    expect(await ok("nodes")).toEqual([]);
    nodes = [
      {
        nodeId: "dp-1",
        buildVersion: "0.1.0",
        peer: "127.0.0.1:40000",
        kinds: ["dispatcher"],
        labels: {},
        health: null,
        controlUrl: null,
        connected: true,
        connectedSince: "2024-01-01T00:00:00.000Z",
        disconnectedAt: null,
        lastAckAt: null,
        staleNonces: 0,
        tables: [],
      },
    ];
    expect(await ok("nodes")).toEqual(nodes);
    const st = await ok("status");
    expect(st.db).toMatchObject({ ok: true, database: DB });
    expect(st.nodes).toBe(1);
    expect(st.kinds.find((k: any) => k.kind === "dispatcher")).toMatchObject({ version: source.current("dispatcher")!.version, lastError: null });
    nodes = [];
    const methods: string[] = await ok("system.listMethods");
    for (const m of ["dispatcher.create", "lcr_gw.update", "dr_rules.delete", "subscriber.passwd", "location.list", "push", "nodes", "diff", "status", "audit.list"]) {
      expect(methods).toContain(m);
    }
    expect(await ok("system.methodHelp", ["dispatcher.create"])).toContain("destination");
  });
});

describe("management API: token auth", () => {
  it("requires a token on a non-loopback address", async () => {
    await expect(createManagementServer({ source, db: d.db, pool: d.pool, host: "0.0.0.0", port: TOKEN_PORT })).rejects.toThrow(/token/);
  });

  it("checks Authorization: Bearer and writes the token's name as the audit actor", async () => {
    const secured = await createManagementServer({
      source,
      db: d.db,
      pool: d.pool,
      port: TOKEN_PORT,
      token: [
        { name: "ops", token: "ops-token-123" },
        { name: "billing", token: "billing-token-456" },
      ],
    });
    try {
      const none = await fetch(secured.url, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", method: "status", id: 1 }) });
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toContain("Bearer");
      expect(((await none.json()) as RpcReply).error).toMatchObject({ code: 401 });
      expect((await rpc("status", undefined, { url: secured.url, token: "ops-token-12" })).error).toMatchObject({ code: 401 });
      expect((await rpc("status", undefined, { url: secured.url, token: "ops-token-123" })).result).toBeDefined();
      const c = await rpc("dispatcher.create", { setid: 3, destination: "sip:10.3.0.1" }, { url: secured.url, token: "billing-token-456" });
      expect(c.error).toBeUndefined();
      const log = (await ok("audit.list", { row_id: String(c.result.row.id) })).rows;
      expect(log[0]).toMatchObject({ actor: "billing", action: "create" });
    } finally {
      await secured.close();
    }
  });
});
