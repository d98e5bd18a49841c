import { execFile } from "node:child_process";
import { request } from "node:http";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createControlServer } from "./server.js";
import { decodeMethodResponse } from "./xml-rpc.js";
import { buildTestRegistry, httpCall, startTestNode, wsClient, xmlCall, type TestNode } from "./test-support.js";

const run = promisify(execFile);

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", body, headers });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text), headers: res.headers };
}

describe("HTTP /RPC (JSON-RPC 2.0)", () => {
  let node: TestNode;
  let url: string;
  beforeAll(async () => {
    node = await startTestNode({ maxBodyBytes: 4096, maxBatch: 5 });
    url = node.srv.url;
  });
  afterAll(() => node.srv.close());

  it("answers a request with result and id", async () => {
    const r = await post(url, '{"jsonrpc":"2.0","method":"core.echo","params":["a"],"id":"x1"}');
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.json()).toEqual({ jsonrpc: "2.0", id: "x1", result: ["a"] });
  });

  it("a method with no result replies result null (never drops the member)", async () => {
    expect((await post(url, '{"jsonrpc":"2.0","method":"stats.reset_statistics","params":["nothing:"],"id":3}')).json()).toEqual({
      jsonrpc: "2.0",
      id: 3,
      result: null,
    });
  });

  it("malformed JSON gets -32700 with id null", async () => {
    const r = await post(url, '{"jsonrpc":"2.0","method":');
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ id: null, error: { code: -32700, message: expect.stringMatching(/^Parse error/) } });
  });

  it("invalid envelopes get -32600", async () => {
    for (const body of ['{"method":"core.echo","id":1}', '{"jsonrpc":"2.0","method":5,"id":1}', "null", "42", '"x"', '{"jsonrpc":"2.0","id":{},"method":"a"}']) {
      const r = (await post(url, body)).json();
      expect(r.error.code, body).toBe(-32600);
    }
    const r = (await post(url, '{"jsonrpc":"1.0","method":"core.echo","id":7}')).json();
    expect(r).toMatchObject({ id: 7, error: { code: -32600 } });
  });

  it("unknown method gets -32601 naming it", async () => {
    expect((await post(url, '{"jsonrpc":"2.0","method":"no.such","id":1}')).json()).toMatchObject({
      error: { code: -32601, message: "method 'no.such' not found" },
    });
  });

  it("batches: array back, notifications omitted, bad entries answered, size limited", async () => {
    const r = (
      await post(
        url,
        JSON.stringify([
          { jsonrpc: "2.0", method: "core.printi", params: [1], id: 1 },
          { jsonrpc: "2.0", method: "core.printi", params: [2] },
          { jsonrpc: "2.0", method: "no.such", id: 2 },
          null,
        ]),
      )
    ).json();
    expect(r).toEqual([
      { jsonrpc: "2.0", id: 1, result: [1] },
      { jsonrpc: "2.0", id: 2, error: { code: -32601, message: "method 'no.such' not found" } },
      { jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request: expected a request object" } },
    ]);
    const one = (await post(url, '[{"jsonrpc":"2.0","method":"core.printi","params":[1],"id":1}]')).json();
    expect(Array.isArray(one)).toBe(true);
    expect((await post(url, "[]")).json()).toMatchObject({ error: { code: -32600, message: "Invalid Request: empty batch" } });
    const big = JSON.stringify(Array.from({ length: 6 }, (_, i) => ({ jsonrpc: "2.0", method: "core.echo", id: i })));
    expect((await post(url, big)).json()).toMatchObject({ error: { code: -32600, message: expect.stringMatching(/exceeds the limit of 5/) } });
  });

  it("notifications (and all-notification batches) get 204 and still run", async () => {
    const before = node.stats.group("core").get("fwd_requests");
    node.registry.register({ name: "test.bump", doc: "bumps fwd_requests", params: [], handler: () => node.stats.group("core").inc("fwd_requests") });
    try {
      const r = await post(url, '{"jsonrpc":"2.0","method":"test.bump"}');
      expect(r.status).toBe(204);
      expect(r.text).toBe("");
      const b = await post(url, '[{"jsonrpc":"2.0","method":"test.bump"},{"jsonrpc":"2.0","method":"no.such"}]');
      expect(b.status).toBe(204);
      expect(node.stats.group("core").get("fwd_requests")).toBe(before! + 2);
    } finally {
      node.registry.unregister("test.bump");
      node.stats.group("core").set("fwd_requests", before!);
    }
  });

  it("oversize bodies get 413 (Content-Length and chunked) and the server keeps serving", async () => {
    const r = await post(url, "x".repeat(5000));
    expect(r.status).toBe(413);
    expect(r.json()).toMatchObject({ error: { code: -32600, message: "request body exceeds 4096 bytes" } });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url, { method: "POST", headers: { "Transfer-Encoding": "chunked" } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      for (let i = 0; i < 10; i++) req.write("y".repeat(1000));
      req.end();
    });
    expect(status).toBe(413);
    expect(await httpCall(url, "core.printi", [1])).toEqual([1]);
  });

  it("wrong path and wrong verb", async () => {
    expect((await post(url.replace("/RPC", "/nope"), "{}")).status).toBe(404);
    const g = await fetch(url);
    expect(g.status).toBe(405);
    expect(g.headers.get("allow")).toBe("POST");
  });

  it("garbage on the socket gets 400 and does not crash the server", async () => {
    const { connect } = await import("node:net");
    const reply = await new Promise<string>((resolve) => {
      const s = connect(node.srv.port, "127.0.0.1", () => s.write("NOT HTTP AT ALL\r\n\r\n"));
      let buf = "";
      s.on("data", (d) => (buf += d));
      s.on("close", () => resolve(buf));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(await httpCall(url, "core.printi", [2])).toEqual([2]);
  });
});

describe("HTTP /RPC2 (XML-RPC)", () => {
  let node: TestNode;
  let url2: string;
  beforeAll(async () => {
    node = await startTestNode({ maxBodyBytes: 4096 });
    url2 = node.srv.url.replace(/RPC$/, "RPC2");
  });
  afterAll(() => node.srv.close());

  it("types round-trip through core.echo", async () => {
    const when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
    const r = await xmlCall(node.srv.url, "core.echo", [1, -7, 2 ** 40, 1.5, true, "a<b&c", when, Buffer.from([0, 1, 255]), [1, "x"], { k: "v", n: null }]);
    expect(r).toEqual([1, -7, 2 ** 40, 1.5, true, "a<b&c", when, Buffer.from([0, 1, 255]), [1, "x"], { k: "v", n: null }]);
  });

  it("malformed XML, DOCTYPE/entities and bad structure give faults, not crashes", async () => {
    const cases: Array<[string, number, RegExp]> = [
      ["<methodCall><methodName>core.echo</methodName>", -32700, /unterminated/],
      ['<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><methodCall/>', -32700, /DOCTYPE/],
      ["<methodCall><methodName>&xxe;</methodName></methodCall>", -32700, /undefined entity/],
      ["<methodCall><methodName>a</methodName><params><param><value><int>12x</int></value></param></params></methodCall>", -32600, /bad <int>/],
      ["<methodResponse/>", -32600, /root element must be <methodCall>/],
      ["<methodCall><methodName>no.such</methodName></methodCall>", -32601, /not found/],
      ["", -32700, /empty document/],
    ];
    for (const [body, code, msg] of cases) {
      const r = await post(url2, body);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/^text\/xml/);
      let fault: unknown;
      try {
        decodeMethodResponse(r.text);
      } catch (e) {
        fault = e;
      }
      expect(fault, body).toMatchObject({ code, message: expect.stringMatching(msg) });
    }
    const deep = "<methodCall><methodName>core.echo</methodName><params><param>" + "<value><array><data>".repeat(80) + "</data></array></value>".repeat(80) + "</param></params></methodCall>";
    expect((await post(url2, deep)).text).toMatch(/nesting deeper than 64/);
    expect((await post(url2, "<a>" + "x".repeat(5000) + "</a>")).status).toBe(413);
  });

  it("Python's xmlrpc.client talks to it (interop)", async () => {
    const py = `
import xmlrpc.client, json, sys
s = xmlrpc.client.ServerProxy(sys.argv[1], allow_none=True)
out = {"uptime": s.core.uptime(), "stats": s.stats.get_statistics("core:"), "echo": s.core.echo("a", 2, 2.5, True)}
try:
    s.test.args("x", "y")
except xmlrpc.client.Fault as f:
    out["fault"] = [f.faultCode, f.faultString]
print(json.dumps(out))
`;
    const { stdout } = await run("python3", ["-c", py, url2], { timeout: 20_000 });
    const out = JSON.parse(stdout);
    expect(out.uptime.uptime).toBeGreaterThanOrEqual(5);
    expect(out.stats).toEqual(["core:rcv_requests = 5", "core:fwd_requests = 3"]);
    expect(out.echo).toEqual(["a", 2, 2.5, true]);
    expect(out.fault).toEqual([-32602, `invalid parameter 'group': expected an integer, got "x"`]);
  });
});

describe("token authentication", () => {
  const token = "s3cret-token";
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ token });
  });
  afterAll(() => node.srv.close());

  it("HTTP needs the bearer token", async () => {
    const noAuth = await post(node.srv.url, '{"jsonrpc":"2.0","method":"core.uptime","id":1}');
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(noAuth.json()).toMatchObject({ error: { code: 401 } });
    const wrong = await post(node.srv.url, "{}", { Authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    const xml = await post(node.srv.url + "2", "<methodCall><methodName>core.uptime</methodName></methodCall>");
    expect(xml.status).toBe(401);
    expect(xml.text).toContain("<int>401</int>");
    expect(await httpCall(node.srv.url, "core.printi", [4], token)).toEqual([4]);
  });

  it("the WebSocket upgrade needs the bearer token", async () => {
    await expect(wsClient(node.srv)).rejects.toThrow(/401/);
    await expect(wsClient(node.srv, { Authorization: "Bearer wrong" })).rejects.toThrow(/401/);
    const c = await wsClient(node.srv, { Authorization: `Bearer ${token}` });
    expect(await c.call("core.printi", [5])).toEqual([5]);
    await c.close();
  });

  it("refuses a non-loopback address without a token, accepts it with one", async () => {
    const { registry } = buildTestRegistry();
    await expect(createControlServer({ registry, host: "0.0.0.0", port: 0 })).rejects.toThrow(/without a token/);
    const srv = await createControlServer({ registry, host: "0.0.0.0", port: 0, token });
    expect(await httpCall(`http://127.0.0.1:${srv.port}/RPC`, "core.printi", [6], token)).toEqual([6]);
    await srv.close();
  });

  it("unknown WebSocket paths are refused", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${node.srv.port}/other`, { headers: { Authorization: `Bearer ${token}` } });
    const code = await new Promise<number>((resolve) => ws.on("unexpected-response", (_q, res) => resolve(res.statusCode!)));
    expect(code).toBe(404);
  });
});
