/**
 * Bridging between transports and address families with sipp over real sockets (ports from a
 * freePortBlock(100) base P, test/kit/ports.ts): TCP → UDP, IPv4 → IPv6 and IPv6 → IPv4 calls with the in-dialog BYE routed back
 * through the double Record-Route, Via/Record-Route built for the outgoing socket's family,
 * advertised addresses (1:1 NAT) in Via and Record-Route, and the outgoing socket forced by the
 * script by address and by name. (UDP↔TLS, TCP↔WS and WSS↔UDP are in tls.test.ts / ws.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { SipUa } from "./helpers/ws-client.js";
import { UdpPeer } from "./helpers/udp-peer.js";
import { readFileSync } from "node:fs";
import { makeTestPki } from "./fixtures/tls/make-pki.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(100, { ipv6: true }); // some tests bind ::1 too

const SCRIPT = join(TEST_SCRIPTS, "proxy-test.ts");

describe("TCP UAC → proxy → UDP UAS", () => {
  let dp: DataPlane;
  let uas: SippServer;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 10 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P}`, `tcp:127.0.0.1:${P}`],
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 10}`] } },
    });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
  });

  it("carries 50 calls with 0 failed", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 1, remote: `127.0.0.1:${P}`, calls: 50, rate: 50, service: "bob", transport: "t1" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(50);
  });
});

describe("IPv4 ↔ IPv6", () => {
  let dp: DataPlane;
  let uas6: SippServer;
  let uas4: SippServer;
  beforeAll(async () => {
    uas6 = await startSippServer({ scenario: "uas_rr.xml", port: P + 30, ip: "::1" });
    uas4 = await startSippServer({ scenario: "uas_rr.xml", port: P + 31 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 20}`, `udp:[::1]:${P + 20}`],
      script: { file: SCRIPT, settings: { targets: [`sip:[::1]:${P + 30}`] } },
    });
  });
  afterAll(async () => {
    await uas6?.stop();
    await uas4?.stop();
    await dp?.stop();
  });

  it("IPv4 UAC → IPv6 UAS: 50 calls, 0 failed", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 21, remote: `127.0.0.1:${P + 20}`, calls: 50, rate: 50, service: "bob" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(50);
  });

  it("IPv6 UAC → IPv4 UAS: 50 calls, 0 failed", async () => {
    dp.script.use({
      request(req) {
        if (req.hasToTag) {
          if (req.looseRoute()) req.relay();
          else if (req.method === "ACK" && req.checkTransaction()) req.relay();
          return;
        }
        if (req.method === "ACK") return;
        req.recordRoute();
        req.setDst(`sip:127.0.0.1:${P + 31}`);
        req.relay();
      },
    });
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 22, remote: `[::1]:${P + 20}`, calls: 50, rate: 50, service: "bob", ip: "::1" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(50);
  });

  it("builds Via and the outgoing Record-Route for the IPv6 side, the incoming one for IPv4", async () => {
    dp.script.use({
      request(req) {
        if (req.hasToTag) {
          if (req.looseRoute()) req.relay();
          return;
        }
        if (req.method === "ACK") return;
        req.recordRoute();
        req.setDst(`sip:[::1]:${P + 35}`);
        req.relay();
      },
    });
    const uas = (await SipUa.listen({ transport: "udp", host: "::1", port: P + 35 })).answer();
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P + 20 });
    try {
      const r = await ua.call(`sip:bob@127.0.0.1:${P + 20}`);
      expect(r).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      expect(r.recordRoute).toEqual([`<sip:[::1]:${P + 20};transport=udp;lr>`, `<sip:127.0.0.1:${P + 20};transport=udp;lr>`]);
      const inv = uas.received.find((m) => m.isRequest && m.method === "INVITE")!;
      expect(inv.topVia.host).toBe("::1");
      expect(inv.header("via")).toMatch(new RegExp(String.raw`^SIP\/2\.0\/UDP \[::1\]:${P + 20};branch=`));
      expect(uas.received.find((m) => m.isRequest && m.method === "BYE")!.header("via")).toMatch(new RegExp(String.raw`^SIP\/2\.0\/UDP \[::1\]:${P + 20};`));
    } finally {
      ua.close();
      uas.close();
    }
  });
});

describe("advertised addresses and forced sockets", () => {
  let dp: DataPlane;
  let uas: SipUa;
  beforeAll(async () => {
    uas = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: P + 55 })).answer();
    dp = await startProxy({
      listen: [
        `udp:127.0.0.1:${P + 50}`,
        { socket: `udp:127.0.0.1:${P + 51}`, advertise: "sip.olelo.example:5099", name: "public" },
        { socket: `tcp:127.0.0.1:${P + 52}`, advertise: "203.0.113.7", name: "pub-tcp" },
      ],
      script: { file: SCRIPT, settings: {} },
    });
  });
  afterAll(async () => {
    uas?.close();
    await dp?.stop();
  });

  function forcing(socket: string) {
    dp.script.use({
      request(req) {
        if (req.hasToTag) {
          if (req.looseRoute()) req.relay();
          return;
        }
        if (req.method === "ACK") return;
        req.recordRoute();
        req.setDst(`sip:127.0.0.1:${P + 55}`);
        req.forceSendSocket(socket);
        req.relay();
      },
    });
  }

  it("sends from the socket forced by name and puts its advertised address in Via and Record-Route", async () => {
    forcing("public");
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P + 50 });
    try {
      const mark = uas.received.length;
      const r = await ua.call(`sip:bob@127.0.0.1:${P + 50}`);
      expect(r).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      const inv = uas.received.slice(mark).find((m) => m.isRequest && m.method === "INVITE")!;
      expect(inv.header("via")).toMatch(/^SIP\/2\.0\/UDP sip\.olelo\.example:5099;branch=/);
      // outgoing side advertised, incoming side as bound
      expect(r.recordRoute).toEqual(["<sip:sip.olelo.example:5099;transport=udp;lr>", `<sip:127.0.0.1:${P + 50};transport=udp;lr>`]);
      // the BYE's Route names the advertised host: still recognised as this proxy
      expect(uas.received.slice(mark).some((m) => m.isRequest && m.method === "BYE")).toBe(true);
    } finally {
      ua.close();
    }
  });

  it("sends from the socket forced by address (the UAS sees that source port and its advertised Via)", async () => {
    const probe = await UdpPeer.open(P + 56);
    dp.script.use({
      request(req) {
        req.setDst(`sip:127.0.0.1:${P + 56}`);
        req.forceSendSocket(`udp:127.0.0.1:${P + 51}`);
        req.relay();
      },
    });
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P + 50 });
    try {
      void ua.call(`sip:bob@127.0.0.1:${P + 50}`, { timeoutMs: 500 }).catch(() => {});
      const text = await probe.wait((t) => t.startsWith("INVITE "));
      expect(probe.received.find((m) => m.text === text)!.from).toBe(`127.0.0.1:${P + 51}`);
      expect(text).toMatch(/\r\nVia: SIP\/2\.0\/UDP sip\.olelo\.example:5099;branch=/);
    } finally {
      ua.close();
      probe.close();
    }
  });
  it("uses the same-address listener of the right transport when the forced socket's transport differs (dispatcher socket=)", async () => {
    const tcpUas = (await SipUa.listen({ transport: "tcp", host: "127.0.0.1", port: P + 57 })).answer();
    dp.script.use({
      request(req) {
        if (req.hasToTag) {
          if (req.looseRoute()) req.relay();
          return;
        }
        if (req.method === "ACK") return;
        req.recordRoute();
        req.setDst(`sip:127.0.0.1:${P + 57};transport=tcp`);
        req.forceSendSocket("public"); // udp:127.0.0.1:<P + 51> — the tcp listener on 127.0.0.1 is pub-tcp
        req.relay();
      },
    });
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P + 50 });
    try {
      expect(await ua.call(`sip:bob@127.0.0.1:${P + 50}`)).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      const inv = tcpUas.received.find((m) => m.isRequest && m.method === "INVITE")!;
      expect(inv.header("via")).toMatch(new RegExp(String.raw`^SIP\/2\.0\/TCP 203\.0\.113\.7:${P + 52};branch=`));
    } finally {
      ua.close();
      tcpUas.close();
    }
  });
});

describe("TLS over IPv6 → UDP over IPv4, WS over IPv6", () => {
  let dp: DataPlane;
  let uas: SipUa;
  const pki = makeTestPki();
  beforeAll(async () => {
    uas = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: P + 75 })).answer();
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 70}`, { socket: `tls:[::1]:${P + 71}`, tls: { cert: pki.server.cert, key: pki.server.key } }, `ws:[::1]:${P + 72}`],
      script: { file: SCRIPT, settings: { targets: [`sip:127.0.0.1:${P + 75}`] } },
    });
  });
  afterAll(async () => {
    uas?.close();
    await dp?.stop();
  });

  it("bridges a TLS/IPv6 caller to a UDP/IPv4 callee and back", async () => {
    const ua = await SipUa.connect({ transport: "tls", host: "::1", port: P + 71, tls: { ca: readFileSync(pki.ca) } });
    try {
      const r = await ua.call(`sip:bob@[::1]:${P + 71}`);
      expect(r).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      expect(r.recordRoute).toEqual([`<sip:127.0.0.1:${P + 70};transport=udp;lr>`, `<sips:[::1]:${P + 71};lr>`]);
    } finally {
      ua.close();
    }
  });

  it("bridges a WebSocket/IPv6 caller (flow token with an IPv6 address)", async () => {
    const ua = await SipUa.connect({ transport: "ws", host: "::1", port: P + 72 });
    try {
      const r = await ua.call(`sip:bob@[::1]:${P + 72}`);
      expect(r).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      expect(r.recordRoute[1]).toMatch(new RegExp(String.raw`^<sip:ft\.[^@]+@\[::1\]:${P + 72};transport=ws;lr>$`));
    } finally {
      ua.close();
    }
  });
});
