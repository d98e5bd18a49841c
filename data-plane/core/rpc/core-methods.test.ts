import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getLogLevel, setLogLevel } from "../../../lib/log/logger.js";
import { RpcError } from "../../../lib/rpc/errors.js";
import { httpCall, startTestNode, wsClient, xmlCall, TEST_NODE_NAME, type TestNode, type WsTestClient } from "./test-support.js";

const CTIME = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

type Check = (r: any, node: TestNode) => void;
/** [method, positional params, check] — run over HTTP, WebSocket and XML-RPC. */
const CASES: Array<[string, unknown[], Check]> = [
  [
    "system.listMethods",
    [],
    (r) => {
      expect(r).toContain("core.uptime");
      expect(r).toContain("stats.get_statistics");
      expect(r).toContain("events.subscribe");
      expect([...r].sort()).toEqual(r);
    },
  ],
  ["system.methodHelp", ["core.uptime"], (r) => expect(r).toMatch(/^core\.uptime\(\)\nReturns uptime/)],
  ["system.methodSignature", ["core.shmmem"], (r) => expect(r).toEqual([["any"], ["any", "string"]])],
  ["system.methodSignature", ["test.args"], (r) => expect(r).toEqual([["any", "int", "string"], ["any", "int", "string", "boolean"]])],
  [
    "system.describeMethods",
    ["core.shmmem"],
    (r) =>
      expect(r).toEqual([
        {
          name: "core.shmmem",
          doc: expect.stringMatching(/^Memory info/),
          params: [{ name: "unit", type: "string", optional: true, rest: false, doc: "b|k|m|g", enum: null }],
          returns: "{total, free, used, real_used, max_used, fragments}",
        },
      ]),
  ],
  ["core.version", [], (r) => expect(r).toMatch(/^olelo 0\.1\.0 \(\w+\/\w+\) node v\d+/)],
  [
    "core.info",
    [],
    (r) => {
      expect(r).toMatchObject({ version: "olelo 0.1.0", id: "unknown", node: TEST_NODE_NAME });
      expect(Object.keys(r).sort()).toEqual(["compiled", "compiler", "flags", "id", "node", "version"]);
    },
  ],
  [
    "core.runinfo",
    [],
    (r) => {
      expect(r.name).toBe("olelo");
      expect(r.uptime_secs).toBeGreaterThanOrEqual(5);
      expect(r.time_started).toMatch(CTIME);
      expect(r.utime_days).toMatch(/^0d 0h 0m \d+s$/);
    },
  ],
  [
    "core.uptime",
    [],
    (r, n) => {
      expect(Object.keys(r).sort()).toEqual(["now", "up_since", "uptime"]);
      expect(r.now).toMatch(CTIME);
      expect(r.up_since).toMatch(CTIME);
      expect(r.uptime).toBeGreaterThanOrEqual(5);
      expect(r.uptime).toBeLessThan(5 + (Date.now() - n.startTime.getTime()) / 1000);
    },
  ],
  ["core.ps", [], (r) => expect(r).toEqual([process.pid, "main process - olelo"])],
  ["core.psx", [], (r) => expect(r).toEqual([{ IDX: 0, PID: process.pid, DSC: "main process - olelo" }])],
  [
    "core.shmmem",
    [],
    (r) => {
      expect(Object.keys(r).sort()).toEqual(["fragments", "free", "max_used", "real_used", "total", "used"]);
      expect(r.total).toBeGreaterThan(r.real_used);
      expect(r.free).toBe(r.total - r.real_used);
      expect(r.max_used).toBeGreaterThanOrEqual(r.real_used);
    },
  ],
  [
    "core.shmmem",
    ["m"],
    (r) => {
      expect(r.total).toBeGreaterThan(10); // MiB
      expect(r.total).toBeLessThan(1 << 20);
    },
  ],
  ["core.echo", ["a", 1, true], (r) => expect(r).toEqual(["a", 1, true])],
  ["core.prints", ["a", "b"], (r) => expect(r).toEqual(["a", "b"])],
  ["core.printi", ["1", 2], (r) => expect(r).toEqual([1, 2])],
  ["core.modules", [], (r) => expect(r).toEqual(["dispatcher", "pike"])],
  [
    "core.config_status",
    [],
    (r) => {
      expect(r).toHaveLength(1);
      expect(r[0]).toMatchObject({ kind: "dispatcher", version: "v1", rows: 1, source: "file", lastErrorVersion: "v2" });
      expect(r[0].lastError).toBe("dispatcher row 2: destination missing");
    },
  ],
  ["corex.debug", [], (r) => expect(r).toEqual({ debug: 2 })],
  ["core.log_level", [], (r) => expect(r).toEqual({ level: "info" })],
  [
    "stats.get_statistics",
    ["core:", "tmx:UAS_transactions"],
    (r) => expect(r).toEqual(["core:rcv_requests = 5", "core:fwd_requests = 3", "tmx:UAS_transactions = 7"]),
  ],
  ["stats.get_statistics", ["UAC_transactions"], (r) => expect(r).toEqual(["tmx:UAC_transactions = 0"])],
  [
    "stats.get_statistics",
    ["all"],
    (r) => {
      expect(r).toContain("core:rcv_requests = 5");
      expect(r.some((l: string) => /^shmem:total_size = \d+$/.test(l))).toBe(true);
    },
  ],
  ["stats.fetch", ["core:", "tmx.UAS_transactions"], (r) => expect(r).toEqual({ "core.rcv_requests": "5", "core.fwd_requests": "3", "tmx.UAS_transactions": "7" })],
  ["stats.fetchn", ["core:"], (r) => expect(r).toEqual({ "core.rcv_requests": 5, "core.fwd_requests": 3 })],
  [
    "events.since",
    [0],
    (r, n) => {
      expect(r.lastSeq).toBe(n.bus.lastSeq);
      expect(r.missed).toBe(0);
      expect(r.events.map((e: any) => e.kind)).toEqual(["test.one", "test.two"]);
      expect(r.events[0]).toMatchObject({ seq: 1, node: TEST_NODE_NAME, data: { n: 1 } });
    },
  ],
];

describe("core methods over every transport", () => {
  let node: TestNode;
  let ws: WsTestClient;
  beforeAll(async () => {
    node = await startTestNode();
    node.bus.publish("test.one", { n: 1 });
    node.bus.publish("test.two", { n: 2 });
    ws = await wsClient(node.srv);
    setLogLevel("info");
  });
  afterAll(async () => {
    await ws.close();
    await node.srv.close();
  });

  const transports: Array<[string, (m: string, p: unknown[]) => Promise<unknown>]> = [
    ["http", (m, p) => httpCall(node.srv.url, m, p)],
    ["ws", (m, p) => ws.call(m, p)],
    ["xmlrpc", (m, p) => xmlCall(node.srv.url, m, p)],
  ];
  for (const [tname, call] of transports) {
    for (const [method, params, check] of CASES) {
      it(`${tname}: ${method}(${params.map((p) => JSON.stringify(p)).join(", ")})`, async () => {
        check(await call(method, params), node);
      });
    }
  }

  it("every registered method has a doc and typed params (descriptor-driven help)", async () => {
    const names = (await httpCall(node.srv.url, "system.listMethods")) as string[];
    for (const n of names) {
      const help = (await httpCall(node.srv.url, "system.methodHelp", [n])) as string;
      expect(help.split("\n")[0]).toMatch(new RegExp(`^${n.replace(/\./g, "\\.")}\\(`));
      expect(help.split("\n")[1]!.length).toBeGreaterThan(5);
    }
  });

  it("named params bind like positional ones", async () => {
    expect(await httpCall(node.srv.url, "test.args", { address: "sip:a", group: "3" })).toEqual({ group: 3, address: "sip:a" });
    expect(await httpCall(node.srv.url, "test.args", ["3", "sip:a", "yes"])).toEqual({ group: 3, address: "sip:a", flag: true });
    expect(await httpCall(node.srv.url, "system.methodHelp", { method: "core.echo" })).toMatch(/^core\.echo\(\[?values:any\.\.\./);
    expect(await httpCall(node.srv.url, "core.echo", { values: ["x", 2] })).toEqual(["x", 2]);
  });

  it("bad params are named in the error", async () => {
    await expect(httpCall(node.srv.url, "test.args", ["x", "sip:a"])).rejects.toMatchObject({
      code: -32602,
      message: `invalid parameter 'group': expected an integer, got "x"`,
      data: { param: "group" },
    });
    await expect(httpCall(node.srv.url, "test.args", { group: 1 })).rejects.toMatchObject({ code: -32602, data: { param: "address" } });
    await expect(httpCall(node.srv.url, "test.args", { group: 1, address: "a", nope: 1 })).rejects.toMatchObject({ data: { param: "nope" } });
    await expect(httpCall(node.srv.url, "core.shmmem", ["x"])).rejects.toMatchObject({ code: -32602, data: { param: "unit" } });
    await expect(httpCall(node.srv.url, "stats.get_statistics", [])).rejects.toMatchObject({ data: { param: "selectors" } });
    await expect(httpCall(node.srv.url, "system.methodHelp", ["no.such"])).rejects.toMatchObject({ code: -32601 });
    await expect(httpCall(node.srv.url, "core.config_status", ["nope"])).rejects.toMatchObject({ data: { param: "kind" } });
    await expect(xmlCall(node.srv.url, "test.args", ["x", "a"])).rejects.toMatchObject({ code: -32602, message: /'group'/ });
  });

  it("stats.reset_statistics and stats.clear_statistics (Kamailio output)", async () => {
    node.stats.group("core").set("rcv_requests", 9);
    expect(await httpCall(node.srv.url, "stats.clear_statistics", ["core:rcv_requests", "tmx:"])).toEqual([
      "core:rcv_requests = 0 (9)",
      "tmx:UAS_transactions = 0 (7)",
      "tmx:UAC_transactions = 0",
    ]);
    node.stats.group("core").set("fwd_requests", 4);
    expect(await ws.call("stats.reset_statistics", ["core:"])).toBeNull();
    expect(await xmlCall(node.srv.url, "stats.get_statistics", ["core:"])).toEqual(["core:rcv_requests = 0", "core:fwd_requests = 0"]);
    node.stats.group("core").set("rcv_requests", 5);
    node.stats.group("core").set("fwd_requests", 3);
    node.stats.group("tmx").set("UAS_transactions", 7);
  });

  it("corex.debug and core.log_level change the runtime log level", async () => {
    const before = getLogLevel();
    try {
      expect(await httpCall(node.srv.url, "corex.debug", ["3"])).toEqual({ old: 2, new: 3 });
      expect(getLogLevel()).toBe("debug");
      expect(await httpCall(node.srv.url, "corex.debug", [-1])).toEqual({ old: 3, new: -1 });
      expect(getLogLevel()).toBe("error");
      expect(await ws.call("core.log_level", ["warn"])).toEqual({ level: "warn", previous: "error" });
      expect(await xmlCall(node.srv.url, "corex.debug", [])).toEqual({ debug: 0 });
      await expect(httpCall(node.srv.url, "corex.debug", [9])).rejects.toMatchObject({ data: { param: "level" } });
      await expect(httpCall(node.srv.url, "core.log_level", ["loud"])).rejects.toMatchObject({ data: { param: "level" } });
    } finally {
      setLogLevel(before);
    }
  });

  it("a handler's plain Error becomes code 500 with its message", async () => {
    const e = await httpCall(node.srv.url, "test.fail").catch((x) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({ code: 500, message: "boom" });
    await expect(xmlCall(node.srv.url, "test.fail")).rejects.toMatchObject({ code: 500, message: "boom" });
  });
});
