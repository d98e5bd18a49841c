/**
 * Bridging between transports and address families with sipp over real sockets (ports
 * 23200–23299): TCP → UDP, IPv4 → IPv6 and IPv6 → IPv4 calls with the in-dialog BYE routed back
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

const SCRIPT = join(TEST_SCRIPTS, "proxy-test.ts");

describe("TCP UAC → proxy → UDP UAS", () => {
  let dp: DataPlane;
  let uas: SippServer;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: 23210 });
    dp = await startProxy({
      listen: ["udp:127.0.0.1:23200", "tcp:127.0.0.1:23200"],
      script: { file: SCRIPT, settings: { targets: ["sip:127.0.0.1:23210"] } },
    });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
  });

  it("carries 50 calls with 0 failed", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: 23201, remote: "127.0.0.1:23200", calls: 50, rate: 50, service: "bob", transport: "t1" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(50);
  });
});

describe("IPv4 ↔ IPv6", () => {
  let dp: DataPlane;
  let uas6: SippServer;
  let uas4: SippServer;
  beforeAll(async () => {
    uas6 = await startSippServer({ scenario: "uas_rr.xml", port: 23230, ip: "::1" });
    uas4 = await startSippServer({ scenario: "uas_rr.xml", port: 23231 });
    dp = await startProxy({
      listen: ["udp:127.0.0.1:23220", "udp:[::1]:23220"],
      script: { file: SCRIPT, settings: { targets: ["sip:[::1]:23230"] } },
    });
  });
  afterAll(async () => {
    await uas6?.stop();
    await uas4?.stop();
    await dp?.stop();
  });

  it("IPv4 UAC → IPv6 UAS: 50 calls, 0 failed", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: 23221, remote: "127.0.0.1:23220", calls: 50, rate: 50, service: "bob" });
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
        req.setDst("sip:127.0.0.1:23231");
        req.relay();
      },
    });
    const r = await runSipp({ scenario: "uac_rr.xml", port: 23222, remote: "[::1]:23220", calls: 50, rate: 50, service: "bob", ip: "::1" });
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
        req.setDst("sip:[::1]:23235");
        req.relay();
      },
    });
    const uas = (await SipUa.listen({ transport: "udp", host: "::1", port: 23235 })).answer();
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: 23220 });
    try {
      const r = await ua.call("sip:bob@127.0.0.1:23220");
      expect(r).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      expect(r.recordRoute).toEqual(["<sip:[::1]:23220;transport=udp;lr>", "<sip:127.0.0.1:23220;transport=udp;lr>"]);
      const inv = uas.received.find((m) => m.isRequest && m.method === "INVITE")!;
      expect(inv.topVia.host).toBe("::1");
      expect(inv.header("via")).toMatch(/^SIP\/2\.0\/UDP \[::1\]:23220;branch=/);
      expect(uas.received.find((m) => m.isRequest && m.method === "BYE")!.header("via")).toMatch(/^SIP\/2\.0\/UDP \[::1\]:23220;/);
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
    uas = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: 23255 })).answer();
    dp = await startProxy({
      listen: [
        "udp:127.0.0.1:23250",
        { socket: "udp:127.0.0.1:23251", advertise: "sip.olelo.example:5099", name: "public" },
        { socket: "tcp:127.0.0.1:23252", advertise: "203.0.113.7", name: "pub-tcp" },
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
        req.setDst("sip:127.0.0.1:23255");
        req.forceSendSocket(socket);
        req.relay();
      },
    });
  }

  it("sends from the socket forced by name and puts its advertised address in Via and Record-Route", async () => {
    forcing("public");
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: 23250 });
    try {
      const mark = uas.received.length;
      const r = await ua.call("sip:bob@127.0.0.1:23250");
      expect(r).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      const inv = uas.received.slice(mark).find((m) => m.isRequest && m.method === "INVITE")!;
      expect(inv.header("via")).toMatch(/^SIP\/2\.0\/UDP sip\.olelo\.example:5099;branch=/);
      // outgoing side advertised, incoming side as bound
      expect(r.recordRoute).toEqual(["<sip:sip.olelo.example:5099;transport=udp;lr>", "<sip:127.0.0.1:23250;transport=udp;lr>"]);
      // the BYE's Route names the advertised host: still recognised as this proxy
      expect(uas.received.slice(mark).some((m) => m.isRequest && m.method === "BYE")).toBe(true);
    } finally {
      ua.close();
    }
  });

  it("sends from the socket forced by address (the UAS sees that source port and its advertised Via)", async () => {
    const probe = await UdpPeer.open(23256);
    dp.script.use({
      request(req) {
        req.setDst("sip:127.0.0.1:23256");
        req.forceSendSocket("udp:127.0.0.1:23251");
        req.relay();
      },
    });
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: 23250 });
    try {
      void ua.call("sip:bob@127.0.0.1:23250", { timeoutMs: 500 }).catch(() => {});
      const text = await probe.wait((t) => t.startsWith("INVITE "));
      expect(probe.received.find((m) => m.text === text)!.from).toBe("127.0.0.1:23251");
      expect(text).toMatch(/\r\nVia: SIP\/2\.0\/UDP sip\.olelo\.example:5099;branch=/);
    } finally {
      ua.close();
      probe.close();
    }
  });
  it("uses the same-address listener of the right transport when the forced socket's transport differs (dispatcher socket=)", async () => {
    const tcpUas = (await SipUa.listen({ transport: "tcp", host: "127.0.0.1", port: 23257 })).answer();
    dp.script.use({
      request(req) {
        if (req.hasToTag) {
          if (req.looseRoute()) req.relay();
          return;
        }
        if (req.method === "ACK") return;
        req.recordRoute();
        req.setDst("sip:127.0.0.1:23257;transport=tcp");
        req.forceSendSocket("public"); // udp:127.0.0.1:23251 — the tcp listener on 127.0.0.1 is pub-tcp
        req.relay();
      },
    });
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: 23250 });
    try {
      expect(await ua.call("sip:bob@127.0.0.1:23250")).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      const inv = tcpUas.received.find((m) => m.isRequest && m.method === "INVITE")!;
      expect(inv.header("via")).toMatch(/^SIP\/2\.0\/TCP 203\.0\.113\.7:23252;branch=/);
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
    uas = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: 23275 })).answer();
    dp = await startProxy({
      listen: ["udp:127.0.0.1:23270", { socket: "tls:[::1]:23271", tls: { cert: pki.server.cert, key: pki.server.key } }, "ws:[::1]:23272"],
      script: { file: SCRIPT, settings: { targets: ["sip:127.0.0.1:23275"] } },
    });
  });
  afterAll(async () => {
    uas?.close();
    await dp?.stop();
  });

  it("bridges a TLS/IPv6 caller to a UDP/IPv4 callee and back", async () => {
    const ua = await SipUa.connect({ transport: "tls", host: "::1", port: 23271, tls: { ca: readFileSync(pki.ca) } });
    try {
      const r = await ua.call("sip:bob@[::1]:23271");
      expect(r).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      expect(r.recordRoute).toEqual(["<sip:127.0.0.1:23270;transport=udp;lr>", "<sips:[::1]:23271;lr>"]);
    } finally {
      ua.close();
    }
  });

  it("bridges a WebSocket/IPv6 caller (flow token with an IPv6 address)", async () => {
    const ua = await SipUa.connect({ transport: "ws", host: "::1", port: 23272 });
    try {
      const r = await ua.call("sip:bob@[::1]:23272");
      expect(r).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      expect(r.recordRoute[1]).toMatch(/^<sip:ft\.[^@]+@\[::1\]:23272;transport=ws;lr>$/);
    } finally {
      ua.close();
    }
  });
});
