/**
 * Bad input on the gateway's transports, real sockets (ports from a freePortBlock(100) base P, test/kit/ports.ts): a connection flood on
 * TLS and WS listeners hits the connection limit (extra connections refused before any crypto or
 * HTTP work), everything is cleaned up when the flood ends, and a normal client is served during
 * and after it. Plus unit checks of the pieces the transports rely on (config validation, flow
 * tokens, Origin matching).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { SipUa } from "./helpers/ws-client.js";
import { makeTestPki, type TestPki } from "./fixtures/tls/make-pki.js";
import { buildConfig, ConfigError } from "../data-plane/core/config-file.js";
import { decodeFlowToken, encodeFlowToken } from "../data-plane/core/transport/flow-token.js";
import { originAllowed } from "../data-plane/core/transport/ws.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass, waitUpTo } from "./kit/wait.js";

const P = await freePortBlock(100);

const SCRIPT = join(TEST_SCRIPTS, "proxy-test.ts");
let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  await waitUpTo(cond, ms, 20);
}

describe("connection flood against the connection limit", () => {
  let dp: DataPlane;
  let uas: SipUa;
  beforeAll(async () => {
    uas = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: P + 5 })).answer();
    dp = await startProxy({
      listen: [
        `udp:127.0.0.1:${P}`,
        { socket: `tls:127.0.0.1:${P + 1}`, tls: { cert: pki.server.cert, key: pki.server.key, handshakeTimeoutMs: 2000 } },
        `ws:127.0.0.1:${P + 2}`,
      ],
      core: { tcp: { maxConnections: 20 } },
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 5}`] } },
    });
  });
  afterAll(async () => {
    uas?.close();
    await dp?.stop();
  });

  it("refuses TLS connections beyond the limit before the handshake and frees them when the flood ends", async () => {
    const flood: net.Socket[] = [];
    let closedByServer = 0;
    for (let i = 0; i < 60; i++) {
      const s = net.connect({ host: "127.0.0.1", port: P + 1 });
      s.on("error", () => {});
      s.on("close", () => closedByServer++);
      flood.push(s);
    }
    await until(() => closedByServer >= 40);
    expect(closedByServer).toBeGreaterThanOrEqual(40);
    expect(dp.stats.select("tls:rejected_limit")[0]![1]).toBeGreaterThanOrEqual(40);
    for (const s of flood) s.destroy();
    // the slots come back: a real client is served
    await letTimePass(100, "the TLS server sees the flood's sockets close and frees their slots (its own count, not observable here)");
    const ua = await SipUa.connect({ transport: "tls", host: "127.0.0.1", port: P + 1, tls: { ca: readFileSync(pki.ca) } });
    try {
      expect(await ua.call(`sip:bob@127.0.0.1:${P + 1}`)).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
    } finally {
      ua.close();
    }
    await until(() => dp.core.transport.connectionCount() === 0);
    expect(dp.core.transport.connectionCount()).toBe(0);
  });

  it("refuses WebSocket upgrades beyond the limit with 503 while UDP callers keep being served", async () => {
    const conns: SipUa[] = [];
    for (let i = 0; i < 20; i++) conns.push(await SipUa.connect({ transport: "ws", host: "127.0.0.1", port: P + 2 }));
    expect(dp.core.transport.connectionCount()).toBe(20);
    await expect(SipUa.connect({ transport: "ws", host: "127.0.0.1", port: P + 2 })).rejects.toThrow(/HTTP 503/);
    expect(dp.stats.select("ws:refused_limit")[0]![1]).toBe(1);
    const udp = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P });
    try {
      expect(await udp.call(`sip:bob@127.0.0.1:${P}`)).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
    } finally {
      udp.close();
    }
    for (const c of conns) c.close();
    await until(() => dp.core.transport.connectionCount() === 0);
    expect(dp.core.transport.connectionCount()).toBe(0);
    const ws = await SipUa.connect({ transport: "ws", host: "127.0.0.1", port: P + 2 });
    try {
      expect(await ws.call(`sip:bob@127.0.0.1:${P + 2}`)).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
    } finally {
      ws.close();
    }
  });
});

describe("gateway configuration", () => {
  it("validates tls, ws and dns blocks and names the bad key", () => {
    const ok = buildConfig(
      {
        listen: [
          { socket: "tls:127.0.0.1:5061", tls: { cert: "c.pem", key: "k.pem", sni: { "a.test": { cert: "a.pem", key: "a.key" } } } },
          { socket: "wss:127.0.0.1:8443", tls: { cert: "c.pem", key: "k.pem" }, ws: { origins: ["https://x.test"] } },
        ],
        tls: { client: { ca: "ca.pem" }, destinations: [{ match: "10.0.0.1:5061", verifyServer: false }] },
        dns: { servers: ["127.0.0.1:5353"], naptr: true },
      },
      "/etc/olelo",
    );
    expect(ok.core.listen[0]!.tls).toMatchObject({ cert: "/etc/olelo/c.pem", key: "/etc/olelo/k.pem", verifyClient: false });
    expect(ok.core.listen[1]!.ws).toMatchObject({ origins: ["https://x.test"], requireSipProtocol: true });
    expect(ok.core.tls!.destinations[0]).toMatchObject({ match: "10.0.0.1:5061", verifyServer: false });
    expect(ok.core.dns).toMatchObject({ servers: ["127.0.0.1:5353"], naptr: true, failover: true });
    const bad = (raw: Record<string, unknown>) => () => buildConfig(raw, "/");
    expect(bad({ listen: ["tls:127.0.0.1:5061"] })).toThrow(ConfigError);
    expect(bad({ listen: ["tls:127.0.0.1:5061"] })).toThrow(/needs a 'tls' block/);
    expect(bad({ listen: [{ socket: "tls:1.2.3.4:5061", tls: { cert: "c" } }] })).toThrow(/cert and key go together/);
    expect(bad({ listen: [{ socket: "tls:1.2.3.4:5061", tls: { cert: "c", key: "k", verifyClient: true } }] })).toThrow(/ca' is needed/);
    expect(bad({ dns: { timeoutMs: -1 } })).toThrow(/dns.timeoutMs/);
    expect(bad({ dns: { bogus: 1 } })).toThrow(/unknown setting 'dns.bogus'/);
    expect(bad({ ws: { origins: "x" } })).toThrow(/ws.origins/);
    expect(bad({ tls: { destinations: [{ verifyServer: false }] } })).toThrow(/match' is required/);
  });

  it("flow tokens round-trip and reject tampering", () => {
    const t = encodeFlowToken({ proto: "ws", address: "2001:db8::7", port: 50123 });
    expect(decodeFlowToken(t)).toEqual({ proto: "ws", address: "2001:db8::7", port: 50123 });
    const forged = t.replace(/\.[^.]+$/, ".AAAAAAAAAAAA");
    expect(decodeFlowToken(forged)).toBeNull();
    expect(decodeFlowToken("alice")).toBeNull();
    expect(decodeFlowToken(null)).toBeNull();
  });

  it("matches Origins exactly or by host wildcard", () => {
    expect(originAllowed(null, null)).toBe(true);
    expect(originAllowed(["https://a.test"], "https://a.test")).toBe(true);
    expect(originAllowed(["https://a.test"], "http://a.test")).toBe(false);
    expect(originAllowed(["*.example.com"], "https://app.example.com")).toBe(true);
    expect(originAllowed(["*.example.com"], "https://example.com.evil.test")).toBe(false);
    expect(originAllowed(["https://a.test"], null)).toBe(false);
  });
});
