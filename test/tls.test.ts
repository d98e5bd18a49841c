/**
 * SIP over TLS through the proxy, over real loopback sockets (ports from a freePortBlock(100) base P, test/kit/ports.ts):
 * TLS UAC → UDP sipp UAS and UDP sipp UAC → TLS UAS with in-dialog requests routed back
 * (double Record-Route), certificate checks in both directions (client verifying the proxy,
 * proxy verifying a client against a CA, proxy verifying a next hop and the per-destination
 * opt-out), SNI, hot reload (tls.reload RPC and file watch), the handshake timeout, RFC 5630.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { SipUa } from "./helpers/ws-client.js";
import { makeTestPki, type TestPki } from "./fixtures/tls/make-pki.js";
import { gatewayRpcMethods } from "../data-plane/core/gateway/rpc-methods.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";
import { waitUpTo } from "./kit/wait.js";

const P = await freePortBlock(100);

const SCRIPT = join(TEST_SCRIPTS, "proxy-test.ts");
let pki: TestPki;

beforeAll(() => {
  pki = makeTestPki();
});

/** CN of the certificate a TLS server presents (optionally for an SNI name). */
function peerCn(port: number, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca: readFileSync(pki.ca), servername, checkServerIdentity: () => undefined }, () => {
      const cn = s.getPeerCertificate().subject.CN as string;
      s.destroy();
      resolve(cn);
    });
    s.on("error", reject);
  });
}

function rpc(dp: DataPlane, name: string, args: Record<string, unknown> = {}): unknown {
  const m = gatewayRpcMethods(dp).find((x) => x.name === name)!;
  return m.handler(args, { transport: "internal" });
}

describe("TLS UAC → proxy → UDP UAS (sipp)", () => {
  let dp: DataPlane;
  let uas: SippServer;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 10 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P}`, { socket: `tls:127.0.0.1:${P + 1}`, tls: { cert: pki.server.cert, key: pki.server.key, sni: { "alt.test": pki.alt } } }],
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 10}`] } },
    });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
  });

  it("carries 20 calls with the in-dialog BYE routed back over TLS", async () => {
    const ua = await SipUa.connect({ transport: "tls", host: "127.0.0.1", port: P + 1, tls: { ca: readFileSync(pki.ca) } });
    try {
      const results = [];
      for (let i = 0; i < 20; i++) results.push(await ua.call(`sip:bob@127.0.0.1:${P + 1}`));
      expect(results.map((r) => `${r.inviteStatus}/${r.byeStatus}`)).toEqual(Array(20).fill("200/200"));
      // double Record-Route: the UDP side first (outgoing), then the TLS side (sips)
      expect(results[0]!.recordRoute).toEqual([`<sip:127.0.0.1:${P};transport=udp;lr>`, `<sips:127.0.0.1:${P + 1};lr>`]);
    } finally {
      ua.close();
    }
  });

  it("lists the TLS connection (tls.list / tls.info)", async () => {
    const ua = await SipUa.connect({ transport: "tls", host: "127.0.0.1", port: P + 1, tls: { ca: readFileSync(pki.ca), servername: "alt.test" } });
    try {
      await ua.call(`sip:bob@127.0.0.1:${P + 1}`);
      const list = rpc(dp, "tls.list") as Array<Record<string, unknown>>;
      const mine = list.find((c) => c.src_port === ua.viaPort)!;
      expect(mine.state).toBe("established");
      expect(mine.server_name).toBe("alt.test");
      expect(String(mine.cipher)).toMatch(/TLS/);
      expect((rpc(dp, "tls.info") as { opened_connections: number }).opened_connections).toBeGreaterThanOrEqual(1);
    } finally {
      ua.close();
    }
  });

  it("picks the certificate by SNI", async () => {
    expect(await peerCn(P + 1)).toBe("sip.test");
    expect(await peerCn(P + 1, "alt.test")).toBe("alt.test");
    expect(await peerCn(P + 1, "unknown.test")).toBe("sip.test");
  });

  it("is refused by a client that does not trust the proxy's certificate", async () => {
    await expect(SipUa.connect({ transport: "tls", host: "127.0.0.1", port: P + 1, tls: { ca: readFileSync(pki.rogueCa) } })).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
  });

  it("refuses a sips: Request-URI that would leave over UDP (RFC 5630)", async () => {
    const ua = await SipUa.connect({ transport: "tls", host: "127.0.0.1", port: P + 1, tls: { ca: readFileSync(pki.ca) } });
    try {
      const before = uas.stats().successful;
      const r = await ua.call(`sips:bob@127.0.0.1:${P + 1}`);
      expect(r.inviteStatus).toBeGreaterThanOrEqual(500);
      expect(uas.stats().successful).toBe(before);
    } finally {
      ua.close();
    }
  });
});

describe("UDP UAC (sipp) → proxy → TLS UAS, next-hop certificate checks", () => {
  let dp: DataPlane;
  let good: SipUa;
  let rogue: SipUa;
  beforeAll(async () => {
    good = (await SipUa.listen({ transport: "tls", host: "127.0.0.1", port: P + 30, tls: { cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key) } })).answer();
    rogue = (await SipUa.listen({ transport: "tls", host: "127.0.0.1", port: P + 31, tls: { cert: readFileSync(pki.rogue.cert), key: readFileSync(pki.rogue.key) } })).answer();
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 20}`, { socket: `tls:127.0.0.1:${P + 21}`, tls: { cert: pki.server.cert, key: pki.server.key } }],
      tls: { client: { ca: pki.ca } },
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 30};transport=tls`] } },
    });
  });
  afterAll(async () => {
    good?.close();
    rogue?.close();
    await dp?.stop();
  });

  it("carries 50 sipp calls to a verified TLS UAS, BYE routed back", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 22, remote: `127.0.0.1:${P + 20}`, calls: 50, rate: 50, service: "bob" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(50);
    expect(good.byesReceived.length).toBe(50);
  });

  it("refuses a next hop whose certificate does not verify, at once (no fr_timer wait)", async () => {
    dp.script.use({
      request(req) {
        req.recordRoute();
        req.setDst(`sip:127.0.0.1:${P + 31};transport=tls`);
        if (!req.relay()) req.replyError();
      },
    });
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P + 20 });
    try {
      const t0 = Date.now();
      const r = await ua.call(`sip:bob@127.0.0.1:${P + 20}`);
      expect(r.inviteStatus).toBe(503); // the failed branch's 503 (remap503 is off by default)
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(rogue.received.length).toBe(0);
    } finally {
      ua.close();
    }
  });
});

describe("per-destination opt-out of next-hop verification", () => {
  let dp: DataPlane;
  let rogue: SipUa;
  beforeAll(async () => {
    rogue = (await SipUa.listen({ transport: "tls", host: "127.0.0.1", port: P + 41, tls: { cert: readFileSync(pki.rogue.cert), key: readFileSync(pki.rogue.key) } })).answer();
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 40}`, { socket: `tls:127.0.0.1:${P + 42}`, tls: { cert: pki.server.cert, key: pki.server.key } }],
      tls: { client: { ca: pki.ca }, destinations: [{ match: `127.0.0.1:${P + 41}`, verifyServer: false }] },
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 41};transport=tls`] } },
    });
  });
  afterAll(async () => {
    rogue?.close();
    await dp?.stop();
  });

  it("completes a call to an unverifiable next hop listed with verifyServer: false", async () => {
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P + 40 });
    try {
      const r = await ua.call(`sip:bob@127.0.0.1:${P + 40}`);
      expect(r).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
    } finally {
      ua.close();
    }
  });
});

describe("client certificates verified against a CA", () => {
  let dp: DataPlane;
  let uas: SipUa;
  beforeAll(async () => {
    uas = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: P + 55 })).answer();
    dp = await startProxy({
      listen: [
        `udp:127.0.0.1:${P + 50}`,
        { socket: `tls:127.0.0.1:${P + 51}`, tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, verifyClient: true, requireClientCert: true } },
      ],
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 55}`] } },
    });
  });
  afterAll(async () => {
    uas?.close();
    await dp?.stop();
  });

  const connectWith = (cert?: { cert: string; key: string }) =>
    SipUa.connect({
      transport: "tls",
      host: "127.0.0.1",
      port: P + 51,
      tls: { ca: readFileSync(pki.ca), ...(cert ? { cert: readFileSync(cert.cert), key: readFileSync(cert.key) } : {}) },
    }).then(async (ua) => {
      // TLS 1.3 reports a refused client certificate after the client's handshake: probe with a call
      try {
        return await ua.call(`sip:bob@127.0.0.1:${P + 51}`, { timeoutMs: 1500 });
      } finally {
        ua.close();
      }
    });

  it("accepts a client with a certificate from the CA", async () => {
    expect(await connectWith(pki.client)).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
  });

  it("refuses a client without a certificate and one from another CA", async () => {
    await expect(connectWith()).rejects.toThrow();
    await expect(connectWith(pki.rogueClient)).rejects.toThrow();
    const st = dp.stats.select("tls:handshake_failures")[0]![1];
    expect(st).toBeGreaterThanOrEqual(2);
  });
});

describe("certificate hot reload", () => {
  let dp: DataPlane;
  let watched: DataPlane;
  const files = () => ({ cert: join(pki.dir, "live.pem"), key: join(pki.dir, "live.key") });
  const files2 = () => ({ cert: join(pki.dir, "live2.pem"), key: join(pki.dir, "live2.key") });
  beforeAll(async () => {
    copyFileSync(pki.server.cert, files().cert);
    copyFileSync(pki.server.key, files().key);
    copyFileSync(pki.server.cert, files2().cert);
    copyFileSync(pki.server.key, files2().key);
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 60}`, { socket: `tls:127.0.0.1:${P + 61}`, tls: files() }],
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 65}`] } },
    });
    watched = await startProxy({
      listen: [`udp:127.0.0.1:${P + 70}`, { socket: `tls:127.0.0.1:${P + 71}`, tls: files2() }],
      tls: { watch: true, watchIntervalMs: 100, reloadOnSighup: true },
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 65}`] } },
    });
  });
  afterAll(async () => {
    await dp?.stop();
    await watched?.stop();
  });

  it("uses a certificate swapped on disk for new connections after tls.reload; open ones keep working", async () => {
    const uas = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: P + 65 })).answer();
    const ua = await SipUa.connect({ transport: "tls", host: "127.0.0.1", port: P + 61, tls: { ca: readFileSync(pki.ca) } });
    try {
      expect(await peerCn(P + 61)).toBe("sip.test");
      const next = pki.issue("reloaded", "reloaded.test", "IP:127.0.0.1");
      copyFileSync(next.cert, files().cert);
      copyFileSync(next.key, files().key);
      expect(await peerCn(P + 61)).toBe("sip.test"); // not before the reload
      expect(rpc(dp, "tls.reload")).toMatchObject({ errors: [] });
      expect(await peerCn(P + 61)).toBe("reloaded.test");
      expect(await ua.call(`sip:bob@127.0.0.1:${P + 61}`)).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
    } finally {
      ua.close();
      uas.close();
    }
  });

  it("keeps the old certificate when the new files are broken (tls.reload reports the error)", async () => {
    copyFileSync(pki.alt.cert, files().cert); // key no longer matches the certificate
    expect(() => rpc(dp, "tls.reload")).toThrow(/TLS/);
    expect(await peerCn(P + 61)).toBe("reloaded.test");
  });

  it("reloads by itself when a watched file changes", async () => {
    expect(await peerCn(P + 71)).toBe("sip.test");
    const next = pki.issue("watched", "watched.test", "IP:127.0.0.1");
    copyFileSync(next.key, files2().key);
    copyFileSync(next.cert, files2().cert);
    let cn = "";
    await waitUpTo(async () => (cn = await peerCn(P + 71)) === "watched.test", 4000, 100);
    expect(cn).toBe("watched.test");
  });

  it("reloads on SIGHUP when reloadOnSighup is set", async () => {
    const next = pki.issue("hup", "hup.test", "IP:127.0.0.1");
    // swap both files in one go between two polls is not guaranteed; stop the watch path from
    // racing by checking the SIGHUP result right after the signal
    copyFileSync(next.key, files2().key);
    copyFileSync(next.cert, files2().cert);
    const reloads = dp.stats.select("tls:reloads")[0]![1];
    process.emit("SIGHUP");
    expect(await peerCn(P + 71)).toBe("hup.test");
    expect(dp.stats.select("tls:reloads")[0]![1]).toBe(reloads); // only the watched proxy listens for SIGHUP
  });
});

describe("TLS handshake timeout", () => {
  let dp: DataPlane;
  beforeAll(async () => {
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 80}`, { socket: `tls:127.0.0.1:${P + 81}`, tls: { cert: pki.server.cert, key: pki.server.key, handshakeTimeoutMs: 500 } }],
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 85}`] } },
    });
  });
  afterAll(async () => {
    await dp?.stop();
  });

  it("drops a client that never finishes the handshake while others are served", async () => {
    const uas = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: P + 85 })).answer();
    const stalled = net.connect({ host: "127.0.0.1", port: P + 81 });
    const closedAt = new Promise<number>((r) => stalled.on("close", () => r(Date.now())));
    stalled.on("error", () => {});
    const t0 = Date.now();
    const ua = await SipUa.connect({ transport: "tls", host: "127.0.0.1", port: P + 81, tls: { ca: readFileSync(pki.ca) } });
    try {
      expect(await ua.call(`sip:bob@127.0.0.1:${P + 81}`)).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      const dt = (await closedAt) - t0;
      expect(dt).toBeGreaterThanOrEqual(400);
      expect(dt).toBeLessThan(3000);
      expect(dp.stats.select("tls:handshake_timeouts")[0]![1]).toBe(1);
    } finally {
      ua.close();
      uas.close();
    }
  });
});
