/**
 * SIP over WebSocket (RFC 7118) through the proxy, real sockets (ports from a freePortBlock(100) base P, test/kit/ports.ts):
 * a browser-like WS UAC calling a TCP sipp UAS, a sipp UAC calling a WS client that registered
 * (reached over its own connection through the registrar's `received` + forced socket, and back
 * through the Record-Route flow token, in both dialog directions), WSS with an Origin allow-list,
 * and the bad-input guards: Origin/subprotocol refusals, an oversized frame, a peer that never
 * answers pings — each bounded, with other clients still served.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WebSocket } from "ws";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { SipUa } from "./helpers/ws-client.js";
import { makeTestPki, type TestPki } from "./fixtures/tls/make-pki.js";
import { flowUri } from "../data-plane/core/transport/flow-token.js";
import { gatewayRpcMethods } from "../data-plane/core/gateway/rpc-methods.js";
import type { DataPlane } from "../data-plane/node.js";
import type { RoutingScript } from "../data-plane/core/script/context.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(100);

const SCRIPT = join(TEST_SCRIPTS, "proxy-test.ts");
let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});

/**
 * A registrar-like script: REGISTER stores the Contact with `received` (the source flow) and the
 * socket it came in on; calls to a registered user go to that flow over that socket, others to
 * `fallback`. In-dialog requests follow Route (flow tokens included).
 */
function registrarScript(fallback: string): RoutingScript & { reg: Map<string, { contact: string; received: string; socket: string }> } {
  const reg = new Map<string, { contact: string; received: string; socket: string }>();
  return {
    reg,
    request(req) {
      if (req.method === "REGISTER") {
        const c = req.msg.contacts();
        if (c !== "*" && c[0]) reg.set(req.msg.to.uri?.user ?? "", { contact: c[0].uriText, received: flowUri(req.source), socket: req.localSocket });
        req.reply(200, "OK", { headers: [["Contact", c !== "*" && c[0] ? c[0].raw : "*"]] });
        return;
      }
      if (req.hasToTag) {
        if (req.looseRoute()) {
          if (!req.relay()) req.replyError();
        } else if (req.method === "ACK") {
          if (req.checkTransaction()) req.relay();
        } else req.reply(404, "Not here");
        return;
      }
      if (req.method === "ACK") return;
      req.removeHeader("Route");
      req.recordRoute();
      const r = reg.get(req.ruriUser ?? "");
      if (r) {
        // what a location lookup does: R-URI = Contact, $du = received, socket = where it registered
        req.setRuri(r.contact);
        req.setDst(r.received);
        req.forceSendSocket(r.socket);
      } else req.setDst(fallback);
      if (!req.relay()) req.replyError();
    },
  };
}

describe("WS UAC → proxy → TCP UAS (sipp)", () => {
  let dp: DataPlane;
  let uas: SippServer;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 10, transport: "t1" });
    dp = await startProxy({
      listen: [`tcp:127.0.0.1:${P}`, `ws:127.0.0.1:${P + 1}`],
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 10};transport=tcp`] } },
    });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
  });

  it("carries 20 calls from a browser-like client; BYE routed back; ws.dump lists the connection", async () => {
    const ua = await SipUa.connect({ transport: "ws", host: "127.0.0.1", port: P + 1, origin: "https://app.olelo.test" });
    try {
      for (let i = 0; i < 20; i++) expect(await ua.call(`sip:bob@127.0.0.1:${P + 1}`)).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      const r = await ua.call(`sip:bob@127.0.0.1:${P + 1}`);
      // double RR: TCP side, then the WS side carrying a flow token
      expect(r.recordRoute[0]).toBe(`<sip:127.0.0.1:${P};transport=tcp;lr>`);
      expect(r.recordRoute[1]).toMatch(new RegExp(String.raw`^<sip:ft\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+@127\.0\.0\.1:${P + 1};transport=ws;lr>$`));
      const dump = gatewayRpcMethods(dp)
        .find((m) => m.name === "ws.dump")!
        .handler({}, { transport: "internal" }) as Array<{ proto: string; origin: string; rx: number }>;
      expect(dump).toHaveLength(1);
      expect(dump[0]).toMatchObject({ proto: "ws", origin: "https://app.olelo.test" });
      expect(dump[0]!.rx).toBeGreaterThanOrEqual(21 * 3);
    } finally {
      ua.close();
    }
  });
});

describe("sipp UAC → proxy → registered WS client (connection reuse, flow token)", () => {
  let dp: DataPlane;
  let ws: SipUa;
  let script: ReturnType<typeof registrarScript>;
  beforeAll(async () => {
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 20}`, `tcp:127.0.0.1:${P + 20}`, `ws:127.0.0.1:${P + 21}`],
      script: { file: SCRIPT, settings: {} },
    });
    script = registrarScript("sip:127.0.0.1:1");
    dp.script.use(script);
    ws = (await SipUa.connect({ transport: "ws", host: "127.0.0.1", port: P + 21, user: "bob" })).answer();
    expect((await ws.register("sip:olelo.test")).status).toBe(200);
  });
  afterAll(async () => {
    ws?.close();
    await dp?.stop();
  });

  it("delivers 30 sipp calls (UDP) to the WS client; caller's BYE reaches it over its connection", async () => {
    expect(script.reg.get("bob")!.socket).toBe(`ws:127.0.0.1:${P + 21}`);
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 22, remote: `127.0.0.1:${P + 20}`, calls: 30, rate: 30, service: "bob" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(30);
    expect(ws.byesReceived).toHaveLength(30);
  });

  it("routes the WS callee's own BYE back to a TCP caller", async () => {
    ws.byeAfterMs = 50;
    const caller = (await SipUa.connect({ transport: "tcp", host: "127.0.0.1", port: P + 20, user: "carol" })).answer();
    try {
      const r = await caller.call(`sip:bob@127.0.0.1:${P + 20}`, { expectBye: true });
      expect(r.inviteStatus).toBe(200);
      for (let i = 0; i < 50 && ws.byeResults.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
      expect(ws.byeResults).toEqual([200]);
    } finally {
      ws.byeAfterMs = -1;
      caller.close();
    }
  });
});

describe("WSS ↔ UDP with an Origin allow-list", () => {
  let dp: DataPlane;
  let uas: SippServer;
  let wss: SipUa;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 40 });
    dp = await startProxy({
      listen: [
        `udp:127.0.0.1:${P + 30}`,
        { socket: `wss:127.0.0.1:${P + 31}`, tls: { cert: pki.server.cert, key: pki.server.key }, ws: { origins: ["https://app.olelo.test", "*.olelo.example"] } },
      ],
      script: { file: SCRIPT, settings: {} },
    });
    dp.script.use(registrarScript(`sip:127.0.0.1:${P + 40}`));
    wss = (
      await SipUa.connect({ transport: "wss", host: "127.0.0.1", port: P + 31, user: "dave", origin: "https://x.olelo.example", tls: { ca: readFileSync(pki.ca) } })
    ).answer();
    expect((await wss.register("sips:olelo.test")).status).toBe(200);
  });
  afterAll(async () => {
    wss?.close();
    await uas?.stop();
    await dp?.stop();
  });

  it("WSS UAC → UDP UAS: 20 calls, BYE routed back", async () => {
    const ua = await SipUa.connect({ transport: "wss", host: "127.0.0.1", port: P + 31, origin: "https://app.olelo.test", tls: { ca: readFileSync(pki.ca) } });
    try {
      for (let i = 0; i < 20; i++) expect(await ua.call(`sip:alice@127.0.0.1:${P + 31}`)).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
    } finally {
      ua.close();
    }
  });

  it("UDP UAC (sipp) → registered WSS UAS: 20 calls, BYE routed back", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 32, remote: `127.0.0.1:${P + 30}`, calls: 20, rate: 20, service: "dave" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(20);
    expect(wss.byesReceived).toHaveLength(20);
  });

  it("refuses a handshake from an Origin not on the list, and one without the sip subprotocol", async () => {
    await expect(
      SipUa.connect({ transport: "wss", host: "127.0.0.1", port: P + 31, origin: "https://evil.test", tls: { ca: readFileSync(pki.ca) } }),
    ).rejects.toThrow(/HTTP 403/);
    await expect(
      SipUa.connect({ transport: "wss", host: "127.0.0.1", port: P + 31, origin: "https://app.olelo.test", protocols: ["chat"], tls: { ca: readFileSync(pki.ca) } }),
    ).rejects.toThrow(/HTTP 400/);
    expect(dp.stats.select("wss:refused_origin")[0]![1]).toBe(1);
    expect(dp.stats.select("wss:refused_protocol")[0]![1]).toBe(1);
  });
});

describe("WebSocket bad input: frame size limit and silent peers", () => {
  let dp: DataPlane;
  let uas: SipUa;
  beforeAll(async () => {
    uas = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: P + 55 })).answer();
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 50}`, { socket: `ws:127.0.0.1:${P + 51}`, ws: { maxMessageSize: 4096, pingIntervalMs: 300 } }],
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 55}`] } },
    });
  });
  afterAll(async () => {
    uas?.close();
    await dp?.stop();
  });

  it("closes a connection that sends a frame over the size limit (1009); others keep being served", async () => {
    const good = await SipUa.connect({ transport: "ws", host: "127.0.0.1", port: P + 51 });
    const bad = new WebSocket(`ws://127.0.0.1:${P + 51}/`, "sip");
    await new Promise((r) => bad.once("open", r));
    const closed = new Promise<number>((r) => bad.once("close", (code) => r(code)));
    bad.send("INVITE sip:x@y SIP/2.0\r\n" + "X-Pad: " + "a".repeat(10_000) + "\r\n\r\n");
    expect(await closed).toBe(1009);
    try {
      expect(await good.call(`sip:bob@127.0.0.1:${P + 51}`)).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
    } finally {
      good.close();
    }
  });

  it("closes a peer that stops answering pings", async () => {
    const silent = new WebSocket(`ws://127.0.0.1:${P + 51}/`, "sip", { autoPong: false });
    await new Promise((r) => silent.once("open", r));
    const t0 = Date.now();
    await new Promise((r) => silent.once("close", r));
    const dt = Date.now() - t0;
    expect(dt).toBeGreaterThanOrEqual(250);
    expect(dt).toBeLessThan(2000);
    expect(dp.stats.select("ws:closed_no_pong")[0]![1]).toBeGreaterThanOrEqual(1);
    expect(dp.core.transport.connectionCount()).toBe(0);
  });
});

describe("registered WS client through the registrar, usrloc and nathelper modules", () => {
  let dp: DataPlane;
  let ws: SipUa;
  beforeAll(async () => {
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 60}`, `ws:127.0.0.1:${P + 61}`],
      modules: { usrloc: {}, registrar: {}, nathelper: {} },
      script: { file: SCRIPT, settings: {} },
    });
    const api = (n: string) => dp.modules.find((m) => m.name === n)!.api as Record<string, (...a: unknown[]) => number>;
    const registrar = api("registrar");
    const nat = api("nathelper");
    dp.script.use({
      request(req) {
        if (req.method === "REGISTER") {
          nat.fixNatedRegister!(req); // received = sip:ip:port;transport=ws
          if (registrar.save!(req, "location") < 0) req.replyError();
          return;
        }
        if (req.hasToTag) {
          if (req.looseRoute()) req.relay();
          else if (req.method === "ACK" && req.checkTransaction()) req.relay();
          return;
        }
        if (req.method === "ACK") return;
        req.recordRoute();
        if (registrar.lookup!(req, "location") < 0) {
          req.reply(404, "Not Found");
          return;
        }
        if (!req.relay()) req.replyError();
      },
    });
    ws = (await SipUa.connect({ transport: "ws", host: "127.0.0.1", port: P + 61, user: "erin" })).answer();
    expect((await ws.register("sip:olelo.test")).status).toBe(200);
  });
  afterAll(async () => {
    ws?.close();
    await dp?.stop();
  });

  it("lookup() sends to the registered connection (received + socket); 20 sipp calls, BYEs both ways", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 62, remote: `127.0.0.1:${P + 60}`, calls: 20, rate: 20, service: "erin" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(20);
    expect(ws.byesReceived).toHaveLength(20);
    ws.byeAfterMs = 30;
    const caller = (await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P + 60, user: "frank" })).answer();
    try {
      expect((await caller.call(`sip:erin@127.0.0.1:${P + 60}`, { expectBye: true })).inviteStatus).toBe(200);
      for (let i = 0; i < 50 && ws.byeResults.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
      expect(ws.byeResults).toEqual([200]);
    } finally {
      caller.close();
    }
  });
});
