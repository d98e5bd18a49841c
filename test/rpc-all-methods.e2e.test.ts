/**
 * Every RPC method a data plane registers (core + all modules loaded) answers over all three
 * control transports — JSON-RPC on HTTP, JSON-RPC on WebSocket, XML-RPC — with a well-formed result
 * or a well-formed error, and the same outcome on each transport. Ports: a block of 10 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { startProxy } from "./helpers/proxy.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(10);

const URL_HTTP = `http://127.0.0.1:${P + 1}/RPC`;
const URL_XML = `http://127.0.0.1:${P + 1}/RPC2`;
const URL_WS = `ws://127.0.0.1:${P + 1}/ws`;

/** Methods that change state in ways that would disturb the other calls (they are tested elsewhere). */
const SKIP = new Set(["script.reload", "events.subscribe", "events.unsubscribe"]);

describe("every RPC method over HTTP, WebSocket and XML-RPC", () => {
  let dp: DataPlane;
  let ws: WebSocket;
  let nextId = 1;
  const pending = new Map<number, (m: { result?: unknown; error?: { code: number; message: string } }) => void>();
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "olelo-rpc-all-"));
    writeFileSync(join(dir, "dispatcher.list"), `1 sip:127.0.0.1:${P + 9}\n`);
    writeFileSync(join(dir, "lcr.json"), JSON.stringify({ lcr_gw: [{ id: 1, lcr_id: 1, gw_name: "g", ip_addr: "127.0.0.1", port: P + 9 }], lcr_rule: [{ id: 1, lcr_id: 1, prefix: "1", stopper: 0, enabled: 1 }], lcr_rule_target: [{ id: 1, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 1, weight: 1 }] }));
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P}`],
      control: { listen: `127.0.0.1:${P + 1}` },
      modules: {
        dispatcher: { list_file: join(dir, "dispatcher.list"), ping_interval: 0 },
        lcr: {},
        htable: { htable: ["ipban=>size=8;autoexpire=300"] },
        pike: {},
        permissions: {},
        sanity: {},
        auth: { secret: "0123456789abcdef0123" },
        usrloc: {},
        registrar: {},
        nathelper: {},
        dialog: {},
        mtree: {},
        drouting: {},
        carrierroute: {},
        prefix_route: {},
      },
      tables: { lcr: join(dir, "lcr.json") },
    });
    ws = new WebSocket(URL_WS, "jsonrpc");
    await new Promise<void>((r, j) => {
      ws.once("open", () => r());
      ws.once("error", j);
    });
    ws.on("message", (d) => {
      const m = JSON.parse(String(d)) as { id?: number; result?: unknown; error?: { code: number; message: string } };
      if (typeof m.id === "number") pending.get(m.id)?.(m);
    });
  });
  afterAll(async () => {
    ws?.close();
    await dp?.stop();
  });

  const http = async (method: string) => {
    const r = await fetch(URL_HTTP, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", method, params: [], id: 1 }) });
    return (await r.json()) as { result?: unknown; error?: { code: number; message: string } };
  };
  const wsCall = (method: string) =>
    new Promise<{ result?: unknown; error?: { code: number; message: string } }>((resolve, reject) => {
      const id = nextId++;
      const t = setTimeout(() => reject(new Error(`ws timeout for ${method}`)), 10_000);
      pending.set(id, (m) => {
        clearTimeout(t);
        pending.delete(id);
        resolve(m);
      });
      ws.send(JSON.stringify({ jsonrpc: "2.0", method, params: [], id }));
    });
  const xml = async (method: string) => {
    const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params></params></methodCall>`;
    const r = await fetch(URL_XML, { method: "POST", headers: { "content-type": "text/xml" }, body });
    const t = await r.text();
    return { fault: t.includes("<fault>"), ok: t.includes("<methodResponse>"), text: t };
  };

  it("answers every registered method the same way on each transport", async () => {
    const list = (await http("system.listMethods")).result as string[];
    expect(list.length).toBeGreaterThan(100);
    const modules = ["dispatcher.", "lcr.", "htable.", "pike.", "permissions.", "ul.", "dlg.", "mtree.", "drouting.", "cr.", "prefix_route.", "tm.", "sl.", "stats.", "core."];
    for (const m of modules) expect(list.some((x) => x.startsWith(m)), m).toBe(true);
    const outcomes: string[] = [];
    for (const method of list) {
      if (SKIP.has(method)) continue;
      const a = await http(method);
      const b = await wsCall(method);
      const c = await xml(method);
      expect(c.ok, `${method} XML-RPC: ${c.text.slice(0, 200)}`).toBe(true);
      for (const [t, r] of [["http", a], ["ws", b]] as const) {
        const wellFormed = "result" in r || (r.error !== undefined && typeof r.error.code === "number" && typeof r.error.message === "string" && r.error.message.length > 0);
        expect(wellFormed, `${method} over ${t}: ${JSON.stringify(r).slice(0, 200)}`).toBe(true);
      }
      expect("result" in b, `${method}: ws vs http`).toBe("result" in a);
      expect(c.fault, `${method}: xml-rpc vs http`).toBe(!("result" in a));
      outcomes.push(`${method}:${"result" in a ? "ok" : a.error!.code}`);
    }
    expect(outcomes.length).toBeGreaterThan(100);
  });
});
