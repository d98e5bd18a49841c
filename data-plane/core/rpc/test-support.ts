import { JSONRPCClient, JSONRPCErrorException, JSONRPCServer, JSONRPCServerAndClient } from "json-rpc-2.0";
import { WebSocket } from "ws";
import { EventBus } from "../events/bus.js";
import { setLogSink } from "../../../lib/log/logger.js";
import { StatsRegistry } from "../stats/counters.js";
import { TableError, TableRegistry } from "../tables/registry.js";
import { registerCoreMethods } from "./core-methods.js";
import { RpcError } from "../../../lib/rpc/errors.js";
import { RpcRegistry } from "../../../lib/rpc/registry.js";
import { createControlServer, type ControlServer, type ControlServerOptions } from "./server.js";
import { decodeMethodResponse, encodeMethodCall } from "./xml-rpc.js";

/**
 * Test fixture (not a test): a registry with the core methods, a few test methods and a running
 * control server on an ephemeral port. Shared by the rpc tests and the olectl end-to-end tests.
 */
export interface TestNode {
  readonly srv: ControlServer;
  readonly registry: RpcRegistry;
  readonly stats: StatsRegistry;
  readonly bus: EventBus;
  readonly tables: TableRegistry;
  readonly startTime: Date;
}

export const TEST_NODE_NAME = "test-node";

/** Kamailio's dispatcher.list shape, for the fake dispatcher.list method. */
export const FAKE_DISPATCHER_LIST = {
  NRSETS: 1,
  RECORDS: [
    {
      SET: {
        ID: 1,
        TARGETS: [
          { DEST: { URI: "sip:10.0.0.1:5060", FLAGS: "AP", PRIORITY: 0, ATTRS: { BODY: "weight=50", WEIGHT: 50 } } },
          { DEST: { URI: "sip:10.0.0.2:5060", FLAGS: "IP", PRIORITY: 1, ATTRS: { BODY: "", WEIGHT: 0 } } },
        ],
      },
    },
  ],
};

export function buildTestRegistry(): Omit<TestNode, "srv"> {
  setLogSink(() => {});
  const registry = new RpcRegistry();
  const stats = new StatsRegistry();
  const core = stats.group("core", ["rcv_requests", "fwd_requests"]);
  core.inc("rcv_requests", 5);
  core.inc("fwd_requests", 3);
  stats.group("tmx", ["UAS_transactions", "UAC_transactions"]).inc("UAS_transactions", 7);
  const bus = new EventBus(TEST_NODE_NAME, 50);
  const tables = new TableRegistry();
  tables.register({
    kind: "dispatcher",
    tables: ["dispatcher"],
    compile: (set) => {
      for (const r of set.dispatcher ?? []) if (typeof r.destination !== "string") throw new TableError("dispatcher", Number(r.id), "destination missing");
      return set;
    },
    apply: () => {},
  });
  tables.load("dispatcher", { dispatcher: [{ id: 1, setid: 1, destination: "sip:10.0.0.1" }] }, "v1", "file");
  tables.load("dispatcher", { dispatcher: [{ id: 2, setid: 1 }] }, "v2", "grpc");
  const startTime = new Date(Date.now() - 5000);
  registerCoreMethods(registry, {
    startTime,
    version: "0.1.0",
    node: TEST_NODE_NAME,
    stats,
    tables,
    events: bus,
    modules: () => ["dispatcher", "pike"],
  });
  registry.register({ name: "dispatcher.list", doc: "Fake dispatcher.list (test).", params: [], handler: () => FAKE_DISPATCHER_LIST });
  registry.register({
    name: "test.fail",
    doc: "Throws a plain Error (test).",
    params: [],
    handler: () => {
      throw new Error("boom");
    },
  });
  registry.register({
    name: "test.callback",
    doc: "Calls the WebSocket client's client.echo back (test).",
    params: [{ name: "text", type: "string" }],
    handler: async ({ text }, call) => {
      if (!call.session) throw new RpcError(400, "needs a session");
      return { fromClient: await call.session.request("client.echo", [text], 2000) };
    },
  });
  registry.register({
    name: "test.args",
    doc: "Returns its bound arguments (test).",
    params: [
      { name: "group", type: "int" },
      { name: "address", type: "string" },
      { name: "flag", type: "bool", optional: true },
    ],
    handler: (args) => args,
  });
  return { registry, stats, bus, tables, startTime };
}

export async function startTestNode(opts: Partial<ControlServerOptions> = {}): Promise<TestNode> {
  const base = buildTestRegistry();
  const srv = await createControlServer({ registry: base.registry, events: base.bus, port: 0, ...opts });
  return { ...base, srv };
}

/** A minimal JSON-RPC-over-HTTP caller; throws RpcError on error replies. */
export async function httpCall(url: string, method: string, params?: unknown, token?: string): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ jsonrpc: "2.0", method, params, id: 1 }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
  if (body.error) throw new RpcError(body.error.code, body.error.message, body.error.data);
  return body.result;
}

/** XML-RPC caller over our own codec. */
export async function xmlCall(baseUrl: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(baseUrl.replace(/\/RPC$/, "/RPC2"), {
    method: "POST",
    headers: { "Content-Type": "text/xml" },
    body: encodeMethodCall(method, params),
  });
  return decodeMethodResponse(await res.text());
}

export interface WsTestClient {
  readonly ws: WebSocket;
  readonly rpc: JSONRPCServerAndClient<void, void>;
  call(method: string, params?: unknown): Promise<unknown>;
  /** Notifications received, in order. */
  readonly notes: Array<{ method: string; params: any }>;
  waitFor(pred: () => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** A WebSocket JSON-RPC client that records notifications and exposes `client.echo`. */
export async function wsClient(srv: ControlServer, headers: Record<string, string> = {}): Promise<WsTestClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws`, { headers });
  const notes: Array<{ method: string; params: any }> = [];
  const server = new JSONRPCServer({ errorListener: () => {} });
  server.addMethod("client.echo", (p: unknown) => ({ echoed: p }));
  const rpc = new JSONRPCServerAndClient<void, void>(
    server,
    new JSONRPCClient<void>((req) => {
      ws.send(JSON.stringify(req));
    }),
    { errorListener: () => {} },
  );
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString());
    if (msg && msg.method && msg.id === undefined) notes.push({ method: msg.method, params: msg.params });
    else void rpc.receiveAndSend(msg, undefined, undefined);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const waitFor = async (pred: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error("timed out waiting");
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    ws,
    rpc,
    notes,
    waitFor,
    call: async (method, params) => {
      try {
        return await rpc.request(method, params ?? [], undefined);
      } catch (e) {
        if (e instanceof JSONRPCErrorException) throw new RpcError(e.code, e.message, e.data);
        throw e;
      }
    },
    close: () =>
      new Promise<void>((r) => {
        if (ws.readyState === WebSocket.CLOSED) return r();
        ws.once("close", () => r());
        ws.close();
      }),
  };
}
