import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RpcRegistry, type RpcParam } from "../data-plane/core/rpc/registry.js";
import { createControlServer, type ControlServer } from "../data-plane/core/rpc/server.js";
import { startTestNode, type TestNode } from "../data-plane/core/rpc/test-support.js";
import { COMMANDS, GLOBAL_OPTIONS, GROUPS } from "./commands.js";
import { CONTROL_PLANE_API } from "./control-plane-api.js";
import { bashCompletion } from "./completion.js";
import { main } from "./olectl.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..");
const TSX = join(ROOT, "node_modules/.bin/tsx");

type Call = { plane: "dp" | "cp"; method: string; args: Record<string, unknown> };
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

const CP_RESULTS: Record<string, unknown> = {
  "dispatcher.create": { id: 9, setid: 1, destination: "sip:10.0.0.9" },
  "dispatcher.list": [{ id: 9, setid: 1, destination: "sip:10.0.0.9", flags: 0, priority: 0, attrs: "", description: "" }],
  "nodes.list": [{ node: "p1", address: "10.0.0.5", connected: true }],
  "tables.push": { version: "v7", kinds: ["dispatcher"], nodes: [] },
  "tables.diff": { from: "v6", to: "stored", changes: [] },
};

describe("olectl", () => {
  let dp: TestNode;
  let cp: ControlServer;
  let env: Record<string, string>;
  let refusedUrl: string;

  beforeAll(async () => {
    dp = await startTestNode();
    for (const [name, params, result] of DP_FAKES) {
      dp.registry.register({ name, doc: `fake ${name}`, params, handler: (args) => (calls.push({ plane: "dp", method: name, args }), result) });
    }
    const cpReg = new RpcRegistry();
    for (const m of CONTROL_PLANE_API) {
      cpReg.register({ ...m, handler: (args) => (calls.push({ plane: "cp", method: m.name, args }), CP_RESULTS[m.name] ?? { ok: true }) });
    }
    cp = await createControlServer({ registry: cpReg, port: 0 });
    env = { OLELO_URL: dp.srv.url, OLELO_CP_URL: cp.url };
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    refusedUrl = `http://127.0.0.1:${(probe.address() as { port: number }).port}/RPC`;
    await new Promise((r) => probe.close(r));
  });
  afterAll(async () => {
    await dp.srv.close();
    await cp.close();
  });

  async function olectl(argv: string[], extraEnv: Record<string, string> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env: { ...env, ...extraEnv }, onInterrupt: () => {} });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  it("every command sends the right RPC with the right parameters to the right plane", async () => {
    const cases: Array<[string[], Call["plane"], string, Record<string, unknown>]> = [
      [["dispatcher", "reload"], "dp", "dispatcher.reload", {}],
      [["dispatcher", "set-state", "ip", "2", "sip:10.0.0.1"], "dp", "dispatcher.set_state", { state: "ip", group: 2, address: "sip:10.0.0.1" }],
      [["dispatcher", "memadd", "1", "sip:10.0.0.3", "0", "5", "weight=10"], "dp", "dispatcher.add", { group: 1, address: "sip:10.0.0.3", flags: 0, priority: 5, attrs: "weight=10" }],
      [["dispatcher", "memrm", "1", "sip:10.0.0.3"], "dp", "dispatcher.remove", { group: 1, address: "sip:10.0.0.3" }],
      [["dispatcher", "add", "1", "sip:10.0.0.9", "--priority", "3", "--attrs=weight=50"], "cp", "dispatcher.create", { setid: 1, destination: "sip:10.0.0.9", priority: 3, attrs: "weight=50" }],
      [["dispatcher", "rm", "9"], "cp", "dispatcher.delete", { id: 9 }],
      [["dispatcher", "show", "1"], "cp", "dispatcher.list", { setid: 1 }],
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
      [["subscriber", "add", "alice@example.com", "pw1"], "cp", "subscriber.create", { username: "alice", domain: "example.com", password: "pw1" }],
      [["subscriber", "passwd", "alice@example.com", "pw2"], "cp", "subscriber.passwd", { username: "alice", domain: "example.com", password: "pw2" }],
      [["subscriber", "rm", "alice@example.com"], "cp", "subscriber.delete", { username: "alice", domain: "example.com" }],
      [["subscriber", "show", "example.com"], "cp", "subscriber.list", { domain: "example.com" }],
      [
        ["lcr", "gw", "add", "gw1", "--ip", "192.0.2.10", "--port", "5080", "--strip", "1", "--prefix", "00", "--uri-scheme", "sip"],
        "cp",
        "lcr_gw.create",
        { gw_name: "gw1", lcr_id: 1, ip_addr: "192.0.2.10", port: 5080, strip: 1, prefix: "00", uri_scheme: "sip" },
      ],
      [["lcr", "gw", "rm", "4"], "cp", "lcr_gw.delete", { id: 4 }],
      [["lcr", "gw", "show", "--lcr-id", "2"], "cp", "lcr_gw.list", { lcr_id: 2 }],
      [["push", "dispatcher", "lcr", "--message", "new gw"], "cp", "tables.push", { kinds: ["dispatcher", "lcr"], message: "new gw" }],
      [["nodes"], "cp", "nodes.list", {}],
      [["diff", "v6"], "cp", "tables.diff", { from: "v6" }],
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
    expect(JSON.parse((await olectl(["--json", "dispatcher", "show"])).out)).toEqual(CP_RESULTS["dispatcher.list"]);
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
    const end = Date.now() + 5000;
    while (!dp.srv.sessions().some((s) => !before.has(s.id) && s.streamStats()) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
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
