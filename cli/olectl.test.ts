import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createManagementServer, type ManagementServer } from "../control-plane/api/server.js";
import { createDbSnapshotSource, type DbSnapshotSource } from "../control-plane/compile/source.js";
import type { Database } from "../control-plane/db/connect.js";
import { migrateDatabase } from "../control-plane/db/migrate.js";
import { dropTestDatabase, freshTestDatabase } from "../control-plane/db/test-support.js";
import { createPushServer, type PushServer } from "../control-plane/push/server.js";
import type { RpcParam } from "../lib/rpc/registry.js";
import { startTestNode, type TestNode } from "../data-plane/core/rpc/test-support.js";
import { createSyncClient, type SyncClient } from "../data-plane/sync/client.js";
import { createFakeTables } from "../data-plane/sync/testing/fake-sinks.js";
import { COMMANDS, GLOBAL_OPTIONS, GROUPS } from "./commands.js";
import { bashCompletion } from "./completion.js";
import { main } from "./olectl.js";
import { waitUntil, waitUpTo } from "../test/kit/wait.js";

/** The control plane side runs the real management server on this MariaDB database. */
const DB = "olelo_test_cli0";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..");
const TSX = join(ROOT, "node_modules/.bin/tsx");

type Call = { plane: "dp"; method: string; args: Record<string, unknown> };
const calls: Call[] = [];

/** Data-plane module methods with Kamailio's positional parameters, recording their calls. */
const DP_FAKES: Array<[string, RpcParam[], unknown]> = [
  ["dispatcher.reload", [], null],
  ["dispatcher.set_state", [{ name: "state", type: "string" }, { name: "group", type: "int" }, { name: "address", type: "string" }], null],
  [
    "dispatcher.add",
    [
      { name: "group", type: "int" },
      { name: "address", type: "string" },
      { name: "flags", type: "int", optional: true },
      { name: "priority", type: "int", optional: true },
      { name: "attrs", type: "string", optional: true },
    ],
    null,
  ],
  ["dispatcher.remove", [{ name: "group", type: "int" }, { name: "address", type: "string" }], null],
  [
    "ul.dump",
    [{ name: "brief", type: "string", optional: true }],
    {
      Domains: [
        {
          Domain: {
            Domain: "location",
            Size: 1024,
            AoRs: [{ Info: { AoR: "alice", HashID: 1, Contacts: [{ Contact: { Address: "sip:alice@192.0.2.1:5060", Expires: 3580, Q: -1, "User-Agent": "phone/1" } }] } }],
            Stats: { Records: 1, "Max-Slots": 1 },
          },
        },
      ],
    },
  ],
  ["ul.lookup", [{ name: "table", type: "string" }, { name: "aor", type: "string" }], { AoR: "bob", Contacts: [{ Contact: { Address: "sip:bob@192.0.2.2", Expires: 60, Q: 1 } }] }],
  ["ul.rm", [{ name: "table", type: "string" }, { name: "aor", type: "string" }], null],
  ["ul.rm_contact", [{ name: "table", type: "string" }, { name: "aor", type: "string" }, { name: "contact", type: "string" }], null],
  ["htable.dump", [{ name: "htable", type: "string" }], [{ entry: 3, size: 1, slot: [{ name: "10.0.0.9", value: 1, type: "int" }] }]],
  ["htable.get", [{ name: "htable", type: "string" }, { name: "key", type: "string" }], { item: { name: "k", value: "v" } }],
  ["htable.sets", [{ name: "htable", type: "string" }, { name: "key", type: "string" }, { name: "value", type: "string" }], null],
  ["htable.seti", [{ name: "htable", type: "string" }, { name: "key", type: "string" }, { name: "value", type: "int" }], null],
  ["htable.delete", [{ name: "htable", type: "string" }, { name: "key", type: "string" }], null],
  ["pike.top", [{ name: "filter", type: "string", optional: true }], [{ ip_addr: "192.0.2.7", leaf_hits_prev: 3, leaf_hits_curr: 40, expires: 10, status: "HOT" }]],
];

describe("olectl", () => {
  let dp: TestNode;
  let d: Database;
  let source: DbSnapshotSource;
  let push: PushServer;
  let cp: ManagementServer;
  let sync: SyncClient;
  let env: Record<string, string>;
  let refusedUrl: string;
  const synced = createFakeTables(["dispatcher", "subscriber"]);

  beforeAll(async () => {
    dp = await startTestNode();
    for (const [name, params, result] of DP_FAKES) {
      dp.registry.register({ name, doc: `fake ${name}`, params, handler: (args) => (calls.push({ plane: "dp", method: name, args }), result) });
    }
    // the real control plane: MariaDB, compile, gRPC push, management API; one data plane follows it
    d = await freshTestDatabase(DB);
    await migrateDatabase(d.db, d.pool);
    source = await createDbSnapshotSource({ db: d.db, pool: d.pool, pollIntervalMs: 0 });
    push = await createPushServer({ source, port: 0 });
    cp = await createManagementServer({ source, db: d.db, pool: d.pool, port: 0, nodes: () => push.nodes() });
    sync = await createSyncClient({ url: push.address, nodeId: "olectl-test-dp", tables: synced.tables, cacheDir: null, backoff: { initialMs: 50, maxMs: 200 } });
    env = { OLELO_URL: dp.srv.url, OLELO_CP_URL: cp.url };
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    refusedUrl = `http://127.0.0.1:${(probe.address() as { port: number }).port}/RPC`;
    await new Promise((r) => probe.close(r));
  }, 60_000);
  afterAll(async () => {
    await dp?.srv.close();
    await sync?.close();
    await cp?.close();
    await push?.close({ graceMs: 200 });
    await source?.close();
    await d?.close();
    await dropTestDatabase(DB);
  });

  async function olectl(argv: string[], extraEnv: Record<string, string> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env: { ...env, ...extraEnv }, onInterrupt: () => {} });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  it("every data-plane command sends the right RPC with the right parameters", async () => {
    const cases: Array<[string[], Call["plane"], string, Record<string, unknown>]> = [
      [["dispatcher", "reload"], "dp", "dispatcher.reload", {}],
      [["dispatcher", "set-state", "ip", "2", "sip:10.0.0.1"], "dp", "dispatcher.set_state", { state: "ip", group: 2, address: "sip:10.0.0.1" }],
      [["dispatcher", "memadd", "1", "sip:10.0.0.3", "0", "5", "weight=10"], "dp", "dispatcher.add", { group: 1, address: "sip:10.0.0.3", flags: 0, priority: 5, attrs: "weight=10" }],
      [["dispatcher", "memrm", "1", "sip:10.0.0.3"], "dp", "dispatcher.remove", { group: 1, address: "sip:10.0.0.3" }],
      [["ul", "show"], "dp", "ul.dump", {}],
      [["ul", "show", "bob", "--table", "loc2"], "dp", "ul.lookup", { table: "loc2", aor: "bob" }],
      [["ul", "rm", "bob"], "dp", "ul.rm", { table: "location", aor: "bob" }],
      [["ul", "rm", "bob", "sip:bob@192.0.2.2"], "dp", "ul.rm_contact", { table: "location", aor: "bob", contact: "sip:bob@192.0.2.2" }],
      [["htable", "dump", "ipban"], "dp", "htable.dump", { htable: "ipban" }],
      [["htable", "get", "ipban", "10.0.0.9"], "dp", "htable.get", { htable: "ipban", key: "10.0.0.9" }],
      [["htable", "set", "t", "k", "v"], "dp", "htable.sets", { htable: "t", key: "k", value: "v" }],
      [["htable", "set", "t", "k", "42", "--int"], "dp", "htable.seti", { htable: "t", key: "k", value: 42 }],
      [["htable", "rm", "t", "k"], "dp", "htable.delete", { htable: "t", key: "k" }],
      [["pike", "top", "HOT"], "dp", "pike.top", { filter: "HOT" }],
    ];
    for (const [argv, plane, method, args] of cases) {
      calls.length = 0;
      const r = await olectl(argv);
      expect(r.err, argv.join(" ")).toBe("");
      expect(r.code, argv.join(" ")).toBe(0);
      expect(calls, argv.join(" ")).toEqual([{ plane, method, args }]);
    }
  });

  it("human output: tables and Kamailio-style lines", async () => {
    expect((await olectl(["uptime"])).out).toMatch(/^up (\d+[dhm] )*\d+s \(since \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}; now .+\)$/);
    expect((await olectl(["version"])).out).toMatch(/^olelo 0\.1\.0 /);
    expect((await olectl(["stats", "core:", "tmx:UAS_transactions"])).out).toBe("core:rcv_requests = 5\ncore:fwd_requests = 3\ntmx:UAS_transactions = 7");
    expect((await olectl(["dispatcher", "list"])).out).toBe(
      [
        "SET  URI                FLAGS  PRIORITY  ATTRS      LATENCY_AVG",
        "1    sip:10.0.0.1:5060  AP     0         weight=50  -",
        "1    sip:10.0.0.2:5060  IP     1                    -",
      ].join("\n"),
    );
    expect((await olectl(["ul", "show"])).out).toBe(
      ["AOR    CONTACT                   EXPIRES  Q   RECEIVED  USER_AGENT  SOCKET", "alice  sip:alice@192.0.2.1:5060  3580     -1            phone/1"].join("\n"),
    );
    expect((await olectl(["htable", "dump", "ipban"])).out).toBe("NAME      VALUE  TYPE\n10.0.0.9  1      int");
    expect((await olectl(["pike", "top"])).out).toMatch(/^IP_ADDR\s+LEAF_HITS_PREV\s+LEAF_HITS_CURR\s+EXPIRES\s+STATUS\n192\.0\.2\.7\s+3\s+40\s+10\s+HOT$/);
    const t = (await olectl(["tables"])).out.split("\n");
    expect(t[0]).toMatch(/^KIND\s+VERSION\s+APPLIEDAT\s+ROWS\s+SOURCE\s+LASTERRORVERSION\s+LASTERROR$/);
    expect(t[1]).toMatch(/^dispatcher\s+v1\s+\S+\s+1\s+file\s+v2\s+dispatcher row 2: destination missing$/);
    expect((await olectl(["methods"])).out.split("\n")).toContain("core.uptime");
    expect((await olectl(["methods", "core.uptime"])).out).toMatch(/^core\.uptime\(\)\n/);
    expect((await olectl(["dispatcher", "reload"])).out).toBe("ok");
    expect((await olectl(["rpc", "core.echo", "12", "abc", '{"a":1}', "true"])).out).toBe(JSON.stringify([12, "abc", { a: 1 }, true], null, 2));
  });

  it("--json prints the raw result", async () => {
    expect(JSON.parse((await olectl(["--json", "uptime"])).out)).toMatchObject({ uptime: expect.any(Number), up_since: expect.any(String) });
    expect(JSON.parse((await olectl(["stats", "core:", "--json"])).out)).toEqual({ "core:rcv_requests": 5, "core:fwd_requests": 3 });
    expect(JSON.parse((await olectl(["--json", "rpc", "test.args", "--named", "group=4", "--named", "address=sip:x"])).out)).toEqual({ group: 4, address: "sip:x" });
    expect(JSON.parse((await olectl(["--json", "dispatcher", "reload"])).out)).toBeNull();
  });

  it("usage errors: one line on stderr, exit 2, nothing on stdout", async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /no command given/],
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["dispatcher"], /'dispatcher' needs a subcommand/],
      [["dispatcher", "explode"], /'dispatcher' has no command 'explode'/],
      [["dispatcher", "set-state", "ip", "1"], /needs ADDRESS/],
      [["dispatcher", "set-state", "zz", "1", "sip:a"], /STATE must be one of/],
      [["uptime", "extra"], /takes no argument 'extra'/],
      [["uptime", "--bogus"], /unknown option --bogus for 'uptime'/],
      [["dispatcher", "add", "1", "sip:a", "--priority", "high"], /--priority needs an integer/],
      [["dispatcher", "add", "x", "sip:a"], /setid must be an integer/],
      [["rpc", "core.echo", "a", "--named", "x=1"], /either positional arguments or --named/],
      [["rpc", "core.echo", "--named", "nokey"], /--named expects K=V/],
      [["subscriber", "add", "alice", "pw"], /must look like USER@DOMAIN/],
      [["lcr", "gw", "add", "gw1"], /needs --ip or --hostname/],
      [["lcr", "gw", "add", "gw1", "--ip", "192.0.2.1", "--transport", "carrier-pigeon"], /--transport must be udp, tcp, tls or sctp, got 'carrier-pigeon'/],
      [["lcr", "gw", "add", "gw1", "--ip", "192.0.2.1", "--uri-scheme", "http"], /--uri-scheme must be sip or sips/],
      [["dispatcher", "show", "one"], /setid must be an integer, got 'one'/],
      [["dispatcher", "rm", "1.5"], /id must be an integer/],
      [["subscriber", "show", "--limit", "20000"], /--limit must be 0\.\.10000/],
      [["subscriber", "rm", "alice"], /must look like USER@DOMAIN/],
      [["push", "dispatcher"], /'push' takes no argument 'dispatcher'/],
      [["--url", "ftp://x", "uptime"], /--url: 'ftp:\/\/x' is not an http\(s\) URL/],
      [["--timeout", "soon", "uptime"], /--timeout needs an integer/],
      [["uptime", "--url"], /--url needs a value/],
      [["htable", "set", "t", "k", "abc", "--int"], /--int needs an integer value/],
    ];
    for (const [argv, msg] of cases) {
      const r = await olectl(argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.out, argv.join(" ")).toBe("");
      expect(r.err.split("\n"), argv.join(" ")).toHaveLength(1);
      expect(r.err, argv.join(" ")).toMatch(/^olectl: /);
      expect(r.err, argv.join(" ")).toMatch(msg);
    }
  });

  it("runtime errors: RPC errors and unreachable planes exit 1 with one line", async () => {
    const e1 = await olectl(["rpc", "no.such"]);
    expect(e1).toEqual({ code: 1, out: "", err: "olectl: no.such: method 'no.such' not found (code -32601)" });
    const e2 = await olectl(["rpc", "test.args", "x", "y"]);
    expect(e2.err).toBe(`olectl: test.args: invalid parameter 'group': expected an integer, got "x" (code -32602)`);
    const e3 = await olectl(["--url", refusedUrl, "uptime"]);
    expect(e3.code).toBe(1);
    expect(e3.err).toBe(`olectl: cannot reach the data plane at ${refusedUrl}: connect ECONNREFUSED ${new URL(refusedUrl).host}`);
    const e4 = await olectl(["nodes"], { OLELO_CP_URL: refusedUrl });
    expect(e4.err).toMatch(/^olectl: cannot reach the control plane at .*ECONNREFUSED/);
    const e5 = await olectl(["--url", refusedUrl, "events"]);
    expect(e5.code).toBe(1);
    expect(e5.err).toMatch(/^olectl: cannot reach the event stream at ws:\/\/127\.0\.0\.1:\d+\/ws: .*ECONNREFUSED/);
  });

  /** Calls the management API directly (to check olectl's effects independently of olectl). */
  async function cpCall(method: string, params: Record<string, unknown> = {}): Promise<any> {
    const res = await fetch(cp.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", method, params, id: 1 }) });
    const body = (await res.json()) as { result?: any; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  }
  const md5 = (x: string) => createHash("md5").update(x).digest("hex");
  async function waitFor(what: string, pred: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
    await waitUntil(pred, { timeoutMs: ms, what });
  }

  it("control plane (real management server): dispatcher add, show, rm; the write reaches a data plane; nodes", async () => {
    const add = await olectl(["dispatcher", "add", "1", "sip:10.0.0.9:5060", "--priority", "3", "--attrs=weight=50", "--description", "gw 9"]);
    expect(add.err).toBe("");
    expect(add.code).toBe(0);
    const version = source.current("dispatcher")!.version;
    const id = (await cpCall("dispatcher.list", { setid: 1 })).rows[0].id as number;
    expect(add.out).toBe(`dispatcher row ${id} added; kind dispatcher is now version ${version}`);
    expect(await cpCall("dispatcher.get", { id })).toEqual({ id, setid: 1, destination: "sip:10.0.0.9:5060", flags: 0, priority: 3, attrs: "weight=50", description: "gw 9" });
    // the write path sends the new version to the connected data plane by itself
    await waitFor("the data plane to apply the write", () => synced.live.get("dispatcher")?.version === version);

    const second = await olectl(["--json", "dispatcher", "add", "2", "sip:10.0.0.10"]);
    const id2 = JSON.parse(second.out).row.id as number;
    expect(JSON.parse(second.out)).toMatchObject({ kind: "dispatcher", row: { setid: 2, destination: "sip:10.0.0.10", flags: 0, priority: 0 } });
    expect((await olectl(["dispatcher", "show"])).out.split("\n")).toEqual([
      expect.stringMatching(/^ID\s+SETID\s+DESTINATION\s+FLAGS\s+PRIORITY\s+ATTRS\s+DESCRIPTION$/),
      expect.stringMatching(new RegExp(`^${id}\\s+1\\s+sip:10\\.0\\.0\\.9:5060\\s+0\\s+3\\s+weight=50\\s+gw 9$`)),
      expect.stringMatching(new RegExp(`^${id2}\\s+2\\s+sip:10\\.0\\.0\\.10\\s+0\\s+0$`)),
    ]);
    expect(JSON.parse((await olectl(["--json", "dispatcher", "show", "2"])).out)).toMatchObject({ total: 1, offset: 0, rows: [{ id: id2, setid: 2 }] });
    const paged = await olectl(["dispatcher", "show", "--limit", "1"]);
    expect(paged.out.split("\n").slice(-1)[0]).toBe("(rows 1-1 of 2; --offset 1 for more)");

    const nodes = await olectl(["nodes"]);
    expect(nodes.code).toBe(0);
    const lines = nodes.out.split("\n");
    expect(lines[0]).toMatch(/^NODE\s+UP\s+LABELS\s+CANARY\s+KIND\s+RUNNING\s+OFFERED\s+LAG_MS\s+PINNED\s+LAST_NACK$/);
    await waitFor("nodes to report the second write", async () => {
      const n = (await cpCall("nodes")) as Array<{ tables: Array<{ kind: string; appliedVersion: string }> }>;
      return n[0]?.tables.find((t) => t.kind === "dispatcher")?.appliedVersion === source.current("dispatcher")!.version;
    });
    const now = (await olectl(["nodes"])).out;
    expect(now).toMatch(new RegExp(`\\nolectl-test-dp\\s+yes\\s+-\\s+-\\s+dispatcher\\s+${source.current("dispatcher")!.version}\\s`));
    expect(JSON.parse((await olectl(["--json", "nodes"])).out)[0]).toMatchObject({ nodeId: "olectl-test-dp", connected: true });

    const rm = await olectl(["dispatcher", "rm", String(id2)]);
    expect(rm).toMatchObject({ code: 0, err: "" });
    expect(rm.out).toMatch(new RegExp(`^dispatcher row ${id2} deleted; kind dispatcher is now version ${source.current("dispatcher")!.version}$`));
    expect((await cpCall("dispatcher.list")).total).toBe(1);
    expect(await olectl(["dispatcher", "rm", String(id2)])).toEqual({ code: 1, out: "", err: `olectl: dispatcher.delete: dispatcher row ${id2} not found (code 404)` });
  });

  it("control plane: subscriber add, passwd, show, rm (by user@domain) with ha1/ha1b stored and never printed", async () => {
    const add = await olectl(["subscriber", "add", "alice@example.com", "pw-one"]);
    expect(add).toMatchObject({ code: 0, err: "" });
    const [row] = (await d.pool.query<RowDataPacket[]>("SELECT * FROM subscriber WHERE username = 'alice'"))[0];
    expect(add.out).toBe(`subscriber row ${row!.id} added; kind subscriber is now version ${source.current("subscriber")!.version}`);
    expect(row).toMatchObject({ domain: "example.com", ha1: md5("alice:example.com:pw-one"), ha1b: md5("alice@example.com:example.com:pw-one") });
    const js = await olectl(["--json", "subscriber", "add", "bob@example.com", "pw-bob"]);
    expect(JSON.parse(js.out).row).toEqual({ id: expect.any(Number), username: "bob", domain: "example.com" });
    expect(js.out).not.toMatch(/pw-bob|ha1/);
    await olectl(["subscriber", "add", "carol@other.org", "pw-carol"]);

    const pw = await olectl(["subscriber", "passwd", "alice@example.com", "pw-two"]);
    expect(pw.out).toMatch(new RegExp(`^subscriber row ${row!.id} password changed; kind subscriber is now version [0-9a-f]{16}$`));
    const [after] = (await d.pool.query<RowDataPacket[]>("SELECT ha1, ha1b FROM subscriber WHERE id = ?", [row!.id]))[0];
    expect(after).toMatchObject({ ha1: md5("alice:example.com:pw-two"), ha1b: md5("alice@example.com:example.com:pw-two") });

    const show = await olectl(["subscriber", "show", "example.com"]);
    expect(show.out.split("\n")).toEqual([expect.stringMatching(/^ID\s+USERNAME\s+DOMAIN$/), expect.stringMatching(/\s+alice\s+example\.com$/), expect.stringMatching(/\s+bob\s+example\.com$/)]);
    const showJson = JSON.parse((await olectl(["--json", "subscriber", "show"])).out);
    expect(showJson.total).toBe(3);
    for (const r of showJson.rows) expect(Object.keys(r).sort()).toEqual(["domain", "id", "username"]);
    expect(JSON.parse((await olectl(["--json", "subscriber", "show", "carol@other.org"])).out).rows).toEqual([expect.objectContaining({ username: "carol" })]);

    const rm = await olectl(["subscriber", "rm", "alice@example.com"]);
    expect(rm).toMatchObject({ code: 0, err: "" });
    expect(rm.out).toMatch(new RegExp(`^subscriber row ${row!.id} deleted;`));
    expect((await cpCall("subscriber.list", { username: "alice" })).total).toBe(0);
    expect((await cpCall("subscriber.list")).total).toBe(2);
    expect(await olectl(["subscriber", "rm", "alice@example.com"])).toEqual({ code: 1, out: "", err: "olectl: subscriber alice@example.com not found" });
    const dup = await olectl(["subscriber", "add", "bob@example.com", "x"]);
    expect(dup.code).toBe(1);
    expect(dup.err).toMatch(/^olectl: subscriber\.create: duplicate subscriber row: username\/domain .* already exists \(code 409\)$/);
    expect(await olectl(["subscriber", "passwd", "nobody@example.com", "x"])).toEqual({ code: 1, out: "", err: "olectl: subscriber.passwd: subscriber nobody@example.com not found (code 404)" });
  });

  it("control plane: lcr gw add (transport/scheme names → Kamailio codes), show, rm; a referenced gateway is refused (422)", async () => {
    const add = await olectl(["lcr", "gw", "add", "carrier1", "--ip", "192.0.2.10", "--port", "5080", "--strip", "1", "--prefix", "00", "--uri-scheme", "sip", "--transport", "tcp", "--tag", "c1"]);
    expect(add).toMatchObject({ code: 0, err: "" });
    const gw = (await cpCall("lcr_gw.list")).rows[0];
    expect(gw).toMatchObject({ lcr_id: 1, gw_name: "carrier1", ip_addr: "192.0.2.10", port: 5080, strip: 1, prefix: "00", uri_scheme: 1, transport: 2, tag: "c1", flags: 0 });
    expect(add.out).toBe(`lcr_gw row ${gw.id} added; kind lcr is now version ${source.current("lcr")!.version}`);
    await olectl(["lcr", "gw", "add", "carrier2", "--hostname", "gw.example.net", "--lcr-id", "2", "--transport", "3", "--uri-scheme", "sips"]);
    const show = (await olectl(["lcr", "gw", "show"])).out.split("\n");
    expect(show[0]).toMatch(/^ID\s+LCR_ID\s+GW_NAME\s+IP_ADDR\s+HOSTNAME\s+PORT\s+URI_SCHEME\s+TRANSPORT\s+PARAMS\s+STRIP\s+PREFIX\s+TAG\s+FLAGS\s+DEFUNCT$/);
    expect(show[1]).toMatch(/\s+1\s+carrier1\s+192\.0\.2\.10\s+-\s+5080\s+sip\s+tcp\s+-\s+1\s+00\s+c1\s+0\s+-$/);
    expect(show[2]).toMatch(/\s+2\s+carrier2\s+-\s+gw\.example\.net\s+-\s+sips\s+tls\s/);
    expect(JSON.parse((await olectl(["--json", "lcr", "gw", "show", "--lcr-id", "2"])).out).rows).toEqual([expect.objectContaining({ gw_name: "carrier2", transport: 3, uri_scheme: 2 })]);

    // a rule target points at carrier1: deleting it would break the lcr kind
    const rule = JSON.parse((await olectl(["--json", "rpc", "--cp", "lcr_rule.create", "--named", "lcr_id=1", "--named", "prefix=49"])).out).row;
    const tgt = JSON.parse((await olectl(["--json", "rpc", "--cp", "lcr_rule_target.create", "--named", "lcr_id=1", "--named", `rule_id=${rule.id}`, "--named", `gw_id=${gw.id}`, "--named", "priority=1"])).out).row;
    const refused = await olectl(["lcr", "gw", "rm", String(gw.id)]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(new RegExp(`^olectl: lcr_gw\\.delete: rejected: lcr would not compile: lcr_rule_target row ${tgt.id}: .*gw_id.* \\(code 422\\)$`));
    await cpCall("lcr_rule_target.delete", { id: tgt.id });
    expect((await olectl(["lcr", "gw", "rm", String(gw.id)])).out).toMatch(new RegExp(`^lcr_gw row ${gw.id} deleted;`));
    expect((await cpCall("lcr_gw.list")).rows.map((r: { gw_name: string }) => r.gw_name)).toEqual(["carrier2"]);
  });

  it("control plane: diff and push pick up rows written by SQL; a bad row makes push exit 1 and writes warn", async () => {
    expect((await olectl(["diff"])).out).toBe("no changes: the data planes are served what the database holds");
    const from = source.current("dispatcher")!.version;
    const [ins] = await d.pool.query<import("mysql2/promise").ResultSetHeader>("INSERT INTO dispatcher (setid, destination, attrs) VALUES (7, 'sip:10.7.7.7:5060', 'duid=sql')");
    const diff = await olectl(["diff"]);
    expect(diff.out.split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^dispatcher  ${from} -> [0-9a-f]{16}  \\(\\+1 -0 ~0\\)$`)),
      `  + dispatcher ${ins.insertId}  id=${ins.insertId} setid=7 destination=sip:10.7.7.7:5060 flags=0 priority=0 attrs="duid=sql" description=""`,
    ]);
    expect(JSON.parse((await olectl(["--json", "diff"])).out)).toEqual([expect.objectContaining({ kind: "dispatcher", from, added: [expect.objectContaining({ id: ins.insertId })] })]);

    const pushed = await olectl(["push"]);
    expect(pushed).toMatchObject({ code: 0, err: "" });
    const to = source.current("dispatcher")!.version;
    expect(to).not.toBe(from);
    expect(pushed.out).toMatch(new RegExp(`^KIND\\s+VERSION\\s+ROWS\\s+CHANGED\\s+ERROR\\n`));
    expect(pushed.out).toMatch(new RegExp(`\\ndispatcher\\s+${to}\\s+\\d+\\s+yes\\n`));
    expect(pushed.out).toMatch(/\nlcr\s+[0-9a-f]{16}\s+\d+\s+no\n/);
    expect(pushed.out.split("\n").slice(-1)[0]).toBe("1 kind(s) changed and sent to the data planes");
    await waitFor("the pushed version on the data plane", () => synced.live.get("dispatcher")?.version === to);
    expect((await olectl(["diff"])).out).toBe("no changes: the data planes are served what the database holds");

    // a row no data plane would accept, written behind the control plane's back
    const [bad] = await d.pool.query<import("mysql2/promise").ResultSetHeader>("INSERT INTO dispatcher (setid, destination) VALUES (8, 'sip:10.8.8.8;transport=carrier-pigeon')");
    const failed = await olectl(["push"]);
    expect(failed.code).toBe(1);
    // skip policy: the bad row is refused alone; the other rows are unchanged, so is the version
    expect(failed.out).toMatch(new RegExp(`\\ndispatcher\\s+${to}\\s+\\d+\\s+no\\n`));
    expect(failed.out).toMatch(new RegExp(`\\nrefused: dispatcher: dispatcher row ${bad.insertId}: .+\\n`));
    expect(failed.err.split("\n")).toHaveLength(1);
    expect(failed.err).toMatch(new RegExp(`^olectl: push: 1 bad row\\(s\\) refused, the other rows went live: dispatcher \\(dispatcher row ${bad.insertId}: .+\\)$`));
    expect(source.current("dispatcher")!.version).toBe(to);
    const st = await olectl(["status"]);
    expect(st.code).toBe(1);
    expect(st.err).toBe("olectl: 1 row(s) refused (see above)");
    const warned = await olectl(["dispatcher", "add", "9", "sip:10.9.9.9"]);
    expect(warned.code).toBe(0);
    expect(warned.out).toMatch(/^dispatcher row \d+ added; kind dispatcher is now version [0-9a-f]{16}$/);
    expect(warned.err).toMatch(new RegExp(`^olectl: warning: kind dispatcher goes live without 1 bad row\\(s\\) written outside the API: dispatcher row ${bad.insertId}$`));
    expect((await olectl(["dispatcher", "rm", String(bad.insertId)])).err).toBe("");
    expect((await olectl(["push"])).code).toBe(0);
  });

  it("control plane: status, audit, snapshots, rpc --cp and methods --cp; token handling", async () => {
    const st = await olectl(["status"]);
    expect(st.code).toBe(0);
    expect(st.out).toMatch(new RegExp(`^uptime: +\\d+s\\ndatabase: +${DB} on \\S+`));
    expect(st.out).toMatch(/\nchange check: off\n/);
    expect(st.out).toMatch(new RegExp(`\\ndispatcher\\s+${source.current("dispatcher")!.version}\\s+\\d+\\s+skip\\s+0\\s+\\S+Z`));
    const audit = await olectl(["audit", "--table", "dispatcher", "--limit", "3"]);
    expect(audit.out.split("\n")[0]).toMatch(/^ID\s+TS\s+ACTOR\s+ACTION\s+KIND\s+TABLE_NAME\s+ROW_ID\s+VERSION$/);
    expect(audit.out.split("\n")).toHaveLength(4);
    expect(audit.out.split("\n")[1]).toMatch(/^\d+\s+\S+Z\s+local\s+delete\s+dispatcher\s+dispatcher\s+\d+\s+[0-9a-f]{16}$/);
    const snaps = JSON.parse((await olectl(["--json", "snapshots", "dispatcher", "--limit", "2"])).out);
    expect(snaps.rows).toHaveLength(2);
    expect(snaps.rows[0]).toMatchObject({ kind: "dispatcher", version: source.current("dispatcher")!.version });
    expect((await olectl(["methods", "--cp"])).out.split("\n")).toEqual(expect.arrayContaining(["push", "nodes", "diff", "dispatcher.create", "subscriber.passwd"]));
    expect((await olectl(["methods", "--cp", "push"])).out).toMatch(/^push\(\)\n/);
    const id = (await cpCall("dispatcher.list", { limit: 1 })).rows[0].id;
    expect(JSON.parse((await olectl(["--json", "rpc", "--cp", "dispatcher.get", String(id)])).out)).toMatchObject({ id });
    expect(await olectl(["rpc", "--cp", "tables.push"])).toEqual({ code: 1, out: "", err: "olectl: tables.push: method 'tables.push' not found (code -32601)" });

    const secured = await createManagementServer({ source, db: d.db, pool: d.pool, port: 0, token: "cp-secret-token" });
    try {
      const e = await olectl(["--cp-url", secured.url, "status"]);
      expect(e).toEqual({ code: 1, out: "", err: `olectl: control plane at ${secured.url} refused the request: unauthorized (set --cp-token or OLELO_CP_TOKEN)` });
      expect((await olectl(["--cp-url", secured.url, "--cp-token", "cp-secret-token", "status"])).code).toBe(0);
      expect((await olectl(["--cp-url", secured.url, "--token", "cp-secret-token", "nodes"])).code).toBe(0);
      expect((await olectl(["nodes"], { OLELO_CP_URL: secured.url, OLELO_CP_TOKEN: "cp-secret-token" })).code).toBe(0);
      const audited = (await cpCall("audit.list", { limit: 1 })).rows[0];
      expect(audited.actor).toBe("local");
      await olectl(["--cp-url", secured.url, "--cp-token", "cp-secret-token", "subscriber", "add", "token@example.com", "pw"]);
      expect((await cpCall("audit.list", { limit: 1 })).rows[0]).toMatchObject({ actor: "admin", action: "create", table_name: "subscriber" });
    } finally {
      await secured.close();
    }
  });

  it("--help for every command and group, generated from the table", async () => {
    const top = await olectl(["--help"]);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.out).toContain(`  ${c.path[0]}`);
    for (const c of COMMANDS) {
      const h = await olectl([...c.path, "--help"]);
      expect(h.code).toBe(0);
      expect(h.out.split("\n")[0]).toBe(`Usage: olectl ${c.path.join(" ")}${h.out.split("\n")[0]!.slice(`Usage: olectl ${c.path.join(" ")}`.length)}`);
      expect(h.out).toContain(c.summary);
      for (const a of c.args ?? []) expect(h.out).toContain(a.name.toUpperCase());
      for (const o of c.options ?? []) expect(h.out).toContain(`--${o.name}`);
    }
    expect((await olectl(["dispatcher", "set-state", "--help"])).out).toMatch(/^Usage: olectl dispatcher set-state STATE GROUP ADDRESS\n/);
    const g = await olectl(["help", "lcr"]);
    expect(g.out).toMatch(/^olectl lcr — Least-cost routing/);
    expect(g.out).toMatch(/\n {2}gw {2}LCR gateways\n/);
    expect((await olectl(["-h", "lcr", "gw"])).out).toMatch(/\n {2}add {3}Add an LCR gateway/);
  });

  it("bash completion is generated from the same table and completes paths, options and choices", async () => {
    const script = bashCompletion(COMMANDS, GROUPS, GLOBAL_OPTIONS);
    expect((await olectl(["completion", "bash"])).out).toBe(script);
    const complete = async (line: string) => {
      const words = line.split(" ");
      const sh = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _olectl; echo "\${COMPREPLY[*]}"`;
      return (await run("bash", ["-c", sh])).stdout.trim().split(" ").sort();
    };
    expect(await complete("olectl disp")).toEqual(["dispatcher"]);
    expect(await complete("olectl dispatcher ")).toEqual(["add", "list", "memadd", "memrm", "reload", "rm", "set-state", "show"]);
    expect(await complete("olectl --json lcr gw ")).toEqual(["add", "rm", "show"]);
    expect(await complete("olectl --url http://x dispatcher set-state ")).toEqual(["a", "ap", "d", "dp", "i", "ip", "t", "tp"]);
    expect(await complete("olectl htable set t k v --i")).toEqual(["--int"]);
    expect(await complete("olectl pike top W")).toEqual(["WARM"]);
  });

  it("events: replays with --since, streams live events, one line each (human and --json)", async () => {
    const base = dp.bus.lastSeq;
    dp.bus.publish("call.started", { id: "c1" });
    dp.bus.publish("other.kind", {});
    const r1 = await olectl(["events", "call.*", "--since", String(base), "--count", "1"]);
    expect(r1.code).toBe(0);
    expect(r1.out).toMatch(new RegExp(`^${base + 1} \\d{4}-\\d\\d-\\d\\dT\\S+ call\\.started \\{"id":"c1"\\}$`));
    const before = new Set(dp.srv.sessions().map((s) => s.id));
    const pending = olectl(["--json", "events", "live.*", "--count", "2"]);
    await waitUpTo(() => dp.srv.sessions().some((s) => !before.has(s.id) && s.streamStats()), 5000);
    dp.bus.publish("live.a", { n: 1 });
    dp.bus.publish("ignored", {});
    dp.bus.publish("live.b", { n: 2 });
    const r2 = await pending;
    expect(r2.code).toBe(0);
    expect(r2.out.split("\n").map((l) => JSON.parse(l).kind)).toEqual(["live.a", "live.b"]);
  });

  it("token: refused without it, accepted with --token or OLELO_TOKEN (HTTP and events)", async () => {
    const secured = await startTestNode({ token: "tok123" });
    try {
      const e = await olectl(["--url", secured.srv.url, "uptime"]);
      expect(e.code).toBe(1);
      expect(e.err).toMatch(/unauthorized \(set --token or OLELO_TOKEN\)/);
      expect((await olectl(["--url", secured.srv.url, "--token", "tok123", "version"])).code).toBe(0);
      expect((await olectl(["version"], { OLELO_URL: secured.srv.url, OLELO_TOKEN: "tok123" })).code).toBe(0);
      const ev = await olectl(["--url", secured.srv.url, "events"]);
      expect(ev.err).toMatch(/^olectl: event stream at .* refused: unauthorized/);
      secured.bus.publish("x", {});
      expect((await olectl(["--url", secured.srv.url, "--token", "tok123", "events", "--since", "0", "--count", "1"])).out).toMatch(/^1 .* x \{\}$/);
    } finally {
      await secured.srv.close();
    }
  });

  it("end to end as a child process: output, --json, exit codes, one-line errors", async () => {
    const sh = (args: string[], extra: Record<string, string> = {}) =>
      run(TSX, [join(ROOT, "cli/olectl.ts"), ...args], { env: { ...process.env, ...env, ...extra }, timeout: 30_000 }).then(
        (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
      );
    dp.bus.publish("proc.test", { p: 1 });
    const [up, js, unknown, refused, rpcErr, ev, help] = await Promise.all([
      sh(["uptime"]),
      sh(["--json", "stats", "core:"]),
      sh(["frobnicate"]),
      sh(["uptime"], { OLELO_URL: refusedUrl }),
      sh(["rpc", "no.such"]),
      sh(["--json", "events", "proc.*", "--since", "0", "--count", "1"]),
      sh(["dispatcher", "--help"]),
    ]);
    expect(up).toMatchObject({ code: 0, err: "" });
    expect(up.out).toMatch(/^up (\d+[dhm] )*\d+s \(since .+\)\n$/);
    expect(JSON.parse(js.out)).toEqual({ "core:rcv_requests": 5, "core:fwd_requests": 3 });
    expect(unknown).toEqual({ code: 2, out: "", err: "olectl: unknown command 'frobnicate' (see olectl --help)\n" });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^olectl: cannot reach the data plane at .*ECONNREFUSED.*\n$/);
    expect(refused.err.trim().split("\n")).toHaveLength(1);
    expect(rpcErr).toEqual({ code: 1, out: "", err: "olectl: no.such: method 'no.such' not found (code -32601)\n" });
    expect(JSON.parse(ev.out)).toMatchObject({ kind: "proc.test", data: { p: 1 }, node: "test-node" });
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^olectl dispatcher — /);
  }, 60_000);
});
