/**
 * rtpengine end to end: the real rtpengine daemon (Debian package, userspace forwarding, no kernel
 * table) started on loopback, an in-process data plane with the default script and the rtpengine
 * module, a UDP caller and callee (and a WebSocket caller) exchanging SDP through Olelo.
 * Covers: both SDPs rewritten to rtpengine's ports and RTP from the caller reaching the callee
 * through rtpengine; BYE deletes the session (ng query: unknown call); a WebRTC-style offer
 * (UDP/TLS/RTP/SAVPF, ICE, DTLS fingerprint) bridged to RTP/AVP towards the UDP callee and back;
 * failover from an instance that does not answer (rtpengine.show marks it disabled).
 * Ports: one block of 120 (freePortBlock): SIP P, WS P+1, callee P+2, caller P+3, RTP P+4/P+5,
 * ng P+6 (P+7: an instance that never answers, P+8: the daemon's CLI port), rtpengine's media ports P+20..P+119.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { startProxy } from "./helpers/proxy.js";
import { UdpPeer, headerOf, statusOf } from "./helpers/udp-peer.js";
import { SipUa } from "./helpers/ws-client.js";
import { freePortBlock } from "./kit/ports.js";
import { waitUntil, letTimePass } from "./kit/wait.js";
import type { DataPlane } from "../data-plane/node.js";
import { bdecode, bencode, sdpMedia } from "../data-plane/modules/rtpengine/index.js";

const P = await freePortBlock(120);
const SIP = P, WS = P + 1, UAS = P + 2, UAC = P + 3, RTP_UAC = P + 4, RTP_UAS = P + 5, NG = P + 6, DEAD = P + 7;
const inRtpRange = (port: number) => port >= P + 20 && port <= P + 119;

let rtpe: ChildProcess;
let rtpeLog = "";

/** One ng command straight to the daemon (the test's own view of its state). */
async function ng(cmd: Record<string, string>): Promise<Record<string, unknown>> {
  const s = dgram.createSocket("udp4");
  try {
    return await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("rtpengine did not answer")), 2000);
      s.on("message", (m) => {
        clearTimeout(t);
        resolve(bdecode(m.subarray(m.indexOf(0x20) + 1)) as Record<string, unknown>);
      });
      s.send(Buffer.concat([Buffer.from(`t${Math.random().toString(36).slice(2)} `), bencode(cmd)]), NG, "127.0.0.1");
    });
  } finally {
    s.close();
  }
}

/** A callee on UDP: 200 with an SDP pointing at its RTP socket; 200 to BYE; keeps what it got. */
function callee(peer: UdpPeer): { invites: string[] } {
  const seen = { invites: [] as string[] };
  peer.onMessage = (text) => {
    if (!text.startsWith("INVITE ") && !text.startsWith("BYE ")) return;
    const h = (n: string) => headerOf(text, n);
    const isInvite = text.startsWith("INVITE ");
    if (isInvite) seen.invites.push(text);
    const body = isInvite ? ["v=0", "o=- 7 7 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", `m=audio ${RTP_UAS} RTP/AVP 0`, "a=sendrecv", ""].join("\r\n") : "";
    const lines = [
      "SIP/2.0 200 OK",
      ...h("via").map((v) => `Via: ${v}`),
      ...h("record-route").map((v) => `Record-Route: ${v}`),
      `From: ${h("from")[0]}`,
      `To: ${h("to")[0]}${h("to")[0]!.includes("tag=") ? "" : ";tag=uas1"}`,
      `Call-ID: ${h("call-id")[0]}`,
      `CSeq: ${h("cseq")[0]}`,
      `Contact: <sip:bob@127.0.0.1:${UAS}>`,
      ...(isInvite ? ["Content-Type: application/sdp"] : []),
      `Content-Length: ${body.length}`,
      "",
      body,
    ];
    peer.send(lines.join("\r\n"), SIP);
  };
  return seen;
}

const rtpPacket = (seq: number) => {
  const b = Buffer.alloc(12 + 160, 0xd5);
  b[0] = 0x80;
  b[1] = 0;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(0x1234abcd, 8);
  return b;
};

beforeAll(async () => {
  rtpe = spawn("rtpengine", ["--config-file=none", "--table=-1", "--interface=127.0.0.1", `--listen-ng=127.0.0.1:${NG}`, `--listen-cli=127.0.0.1:${P + 8}`, "--foreground", "--log-stderr", `--port-min=${P + 20}`, `--port-max=${P + 119}`, "--delete-delay=0"], { stdio: ["ignore", "pipe", "pipe"] });
  rtpe.stderr!.on("data", (d: Buffer) => (rtpeLog += d.toString()));
  rtpe.stdout!.on("data", (d: Buffer) => (rtpeLog += d.toString()));
  let exited: number | null = null;
  rtpe.on("exit", (c) => (exited = c ?? -1));
  try {
    await waitUntil(async () => exited === null && (await ng({ command: "ping" }).catch(() => ({}) as Record<string, unknown>)).result === "pong", { timeoutMs: 20_000, intervalMs: 200, what: "rtpengine answering ping" });
  } catch (e) {
    throw new Error(`${(e as Error).message}; exit ${exited}; log: ${rtpeLog.slice(-1500)}`);
  }
});
afterAll(() => {
  rtpe?.kill("SIGTERM");
});

describe("a UDP call through Olelo and rtpengine", () => {
  let dp: DataPlane;
  let uas: UdpPeer;
  let uac: UdpPeer;
  let seen: { invites: string[] };
  beforeAll(async () => {
    uas = await UdpPeer.open(UAS);
    uac = await UdpPeer.open(UAC);
    seen = callee(uas);
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${SIP}`, `ws:127.0.0.1:${WS}`],
      script: { settings: { nextHop: `sip:127.0.0.1:${UAS}` } },
      modules: { rtpengine: { rtpengine_sock: `udp:127.0.0.1:${NG}`, rtpengine_tout_ms: 200, rtpengine_retr: 2, ping_interval: 0 } },
    });
  });
  afterAll(async () => {
    uas?.close();
    uac?.close();
    await dp?.stop();
  });

  it("rewrites offer and answer to rtpengine's ports, relays RTP, deletes on BYE", async () => {
    const callId = `rtp-${Date.now()}@127.0.0.1`;
    const offer = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", `m=audio ${RTP_UAC} RTP/AVP 0`, "a=sendrecv", ""].join("\r\n");
    const base = [`From: <sip:alice@127.0.0.1>;tag=ftag1`, `To: <sip:bob@127.0.0.1:${SIP}>`, `Call-ID: ${callId}`, `Max-Forwards: 70`];
    uac.send([`INVITE sip:bob@127.0.0.1:${SIP} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${UAC};branch=z9hG4bK-inv1;rport`, ...base, "CSeq: 1 INVITE", `Contact: <sip:alice@127.0.0.1:${UAC}>`, "Content-Type: application/sdp", `Content-Length: ${offer.length}`, "", offer].join("\r\n"), SIP);
    const ok = await uac.wait((t) => t.startsWith("SIP/2.0 200") && t.includes("INVITE"));
    // the callee saw rtpengine's address instead of the caller's
    const inv = seen.invites[0]!;
    const offered = sdpMedia(inv.slice(inv.indexOf("\r\n\r\n") + 4))[0]!;
    expect(offered.address).toBe("127.0.0.1");
    expect(inRtpRange(offered.port), `offer port ${offered.port}`).toBe(true);
    expect(Number(headerOf(inv, "content-length")[0])).toBe(inv.length - inv.indexOf("\r\n\r\n") - 4);
    const answered = sdpMedia(ok.slice(ok.indexOf("\r\n\r\n") + 4))[0]!;
    expect(inRtpRange(answered.port), `answer port ${answered.port}`).toBe(true);
    expect(answered.port).not.toBe(offered.port);
    // RTP: the caller sends to the answer's port, the callee receives it at its own socket
    const rtpUas = dgram.createSocket("udp4");
    const rtpUac = dgram.createSocket("udp4");
    await new Promise<void>((r) => rtpUas.bind(RTP_UAS, "127.0.0.1", () => r()));
    await new Promise<void>((r) => rtpUac.bind(RTP_UAC, "127.0.0.1", () => r()));
    let got = 0;
    let from = "";
    rtpUas.on("message", (m, ri) => {
      if (m.length === 172) got++;
      from = `${ri.address}:${ri.port}`;
    });
    try {
      for (let i = 0; i < 10 && got === 0; i++) {
        rtpUac.send(rtpPacket(i + 1), answered.port, "127.0.0.1");
        await letTimePass(50, "between RTP packets");
      }
      expect(got, rtpeLog.slice(-2000)).toBeGreaterThan(0);
      expect(from).toBe(`127.0.0.1:${offered.port}`); // it came out of rtpengine's callee-side port
    } finally {
      rtpUas.close();
      rtpUac.close();
    }
    const q = await ng({ command: "query", "call-id": callId });
    expect(q.result).toBe("ok");
    // ACK and BYE along the Record-Route
    const rr = headerOf(ok, "record-route")[0]!;
    const dlg = [`From: <sip:alice@127.0.0.1>;tag=ftag1`, `To: ${headerOf(ok, "to")[0]}`, `Call-ID: ${callId}`, `Route: ${rr}`, "Max-Forwards: 70", "Content-Length: 0", "", ""];
    uac.send([`ACK sip:bob@127.0.0.1:${UAS} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${UAC};branch=z9hG4bK-ack1;rport`, "CSeq: 1 ACK", ...dlg].join("\r\n"), SIP);
    uac.send([`BYE sip:bob@127.0.0.1:${UAS} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${UAC};branch=z9hG4bK-bye1;rport`, "CSeq: 2 BYE", ...dlg].join("\r\n"), SIP);
    const byeOk = await uac.wait((t) => t.includes("CSeq: 2 BYE"));
    expect(statusOf(byeOk)).toBe(200);
    const gone = await ng({ command: "query", "call-id": callId });
    expect(gone).toMatchObject({ result: "error" });
    expect(String(gone["error-reason"])).toMatch(/unknown call/i);
    const stats = Object.fromEntries(dp.stats.select("rtpengine:"));
    expect(stats).toMatchObject({ "rtpengine:offers": 1, "rtpengine:answers": 1, "rtpengine:deletes": 1, "rtpengine:errors": 0 });
  });

  it("bridges a WebRTC offer (SAVPF, ICE, DTLS) to RTP/AVP towards the UDP callee, and back", async () => {
    const before = seen.invites.length;
    const webrtc = [
      "v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0", "a=msid-semantic: WMS",
      `m=audio ${RTP_UAC} UDP/TLS/RTP/SAVPF 111 0`, "c=IN IP4 127.0.0.1", `a=rtcp:${RTP_UAC} IN IP4 127.0.0.1`,
      `a=candidate:1 1 udp 2122260223 127.0.0.1 ${RTP_UAC} typ host generation 0`,
      "a=ice-ufrag:Wl5B", "a=ice-pwd:cY8mt2XHv+L3RuIEdPq1vJFg", "a=ice-options:trickle",
      "a=fingerprint:sha-256 9E:0C:4B:5F:A6:2C:3E:1D:55:63:12:6A:E2:1F:9B:44:7A:9B:A1:8F:2B:4D:A7:16:8C:8E:12:3F:19:B7:70:2A",
      "a=setup:actpass", "a=mid:0", "a=sendrecv", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "a=rtpmap:0 PCMU/8000", "",
    ].join("\r\n");
    const ua = await SipUa.connect({ transport: "ws", host: "127.0.0.1", port: WS });
    try {
      let inCall: Record<string, unknown> | null = null;
      const r = await ua.call(`sip:bob@127.0.0.1:${WS}`, {
        sdp: webrtc,
        beforeBye: async (c) => {
          const m = sdpMedia(c.answerSdp ?? "")[0];
          inCall = m ? { ...m } : null;
        },
      });
      expect(r).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      // what the UDP callee got: plain RTP/AVP, no ICE, no DTLS
      const inv = seen.invites[before]!;
      const sdpIn = inv.slice(inv.indexOf("\r\n\r\n") + 4);
      const m = sdpMedia(sdpIn)[0]!;
      expect(m).toMatchObject({ proto: "RTP/AVP", ice: false, fingerprint: false });
      expect(inRtpRange(m.port)).toBe(true);
      expect(sdpIn).not.toMatch(/a=candidate|a=ice-ufrag|a=fingerprint/);
      // what the WebSocket caller got back: SAVPF with ICE candidates and a DTLS fingerprint
      expect(inCall).toMatchObject({ proto: "UDP/TLS/RTP/SAVPF", ice: true, fingerprint: true });
      expect(inRtpRange((inCall as unknown as { port: number }).port)).toBe(true);
      expect(r.answerSdp).toMatch(/a=candidate:\S+ 1 (udp|UDP) \d+ 127\.0\.0\.1 \d+ typ host/);
    } finally {
      ua.close();
    }
  });
});

describe("failover between two instances", () => {
  let dp: DataPlane;
  let uas: UdpPeer;
  let uac: UdpPeer;
  beforeAll(async () => {
    uas = await UdpPeer.open(UAS);
    uac = await UdpPeer.open(UAC);
    callee(uas);
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${SIP}`],
      script: { settings: { nextHop: `sip:127.0.0.1:${UAS}` } },
      // the silent instance gets nearly every call first
      modules: { rtpengine: { rtpengine_sock: `udp:127.0.0.1:${DEAD}=1000 udp:127.0.0.1:${NG}=1`, rtpengine_tout_ms: 100, rtpengine_retr: 2, rtpengine_disable_tout: 60, ping_interval: 0 } },
    });
  });
  afterAll(async () => {
    uas?.close();
    uac?.close();
    await dp?.stop();
  });

  it("a call goes to the instance that answers; rtpengine.show marks the other disabled", async () => {
    const callId = `fo-${Date.now()}@127.0.0.1`;
    const offer = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", `m=audio ${RTP_UAC} RTP/AVP 0`, ""].join("\r\n");
    uac.send([`INVITE sip:bob@127.0.0.1:${SIP} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${UAC};branch=z9hG4bK-fo1;rport`, `From: <sip:alice@127.0.0.1>;tag=ft2`, `To: <sip:bob@127.0.0.1>`, `Call-ID: ${callId}`, "CSeq: 1 INVITE", "Max-Forwards: 70", `Contact: <sip:alice@127.0.0.1:${UAC}>`, "Content-Type: application/sdp", `Content-Length: ${offer.length}`, "", offer].join("\r\n"), SIP);
    const ok = await uac.wait((t) => t.startsWith("SIP/2.0 200") && t.includes(callId));
    expect(inRtpRange(sdpMedia(ok.slice(ok.indexOf("\r\n\r\n") + 4))[0]!.port)).toBe(true);
    expect((await ng({ command: "query", "call-id": callId })).result).toBe("ok");
    const show = (await dp.rpc.call("rtpengine.show", {}, { transport: "internal" })) as Array<{ url: string; disabled: number; recheck_ticks: number }>;
    expect(show.find((n) => n.url === `udp:127.0.0.1:${DEAD}`)).toMatchObject({ disabled: 1 });
    expect(show.find((n) => n.url === `udp:127.0.0.1:${NG}`)).toMatchObject({ disabled: 0 });
    expect(Object.fromEntries(dp.stats.select("rtpengine:"))).toMatchObject({ "rtpengine:failovers": 1, "rtpengine:timeouts": 1 });
    // ping: the live one answers, the silent one stays disabled; enable/disable by RPC
    const ping = (await dp.rpc.call("rtpengine.ping", { url: "all" }, { transport: "internal" })) as Array<{ url: string; status: string }>;
    expect(ping.map((x) => x.status).sort()).toEqual(["fail", "success"]);
    await dp.rpc.call("rtpengine.enable", { url: `udp:127.0.0.1:${NG}`, enable: 0 }, { transport: "internal" });
    const after = (await dp.rpc.call("rtpengine.show", { url: `udp:127.0.0.1:${NG}` }, { transport: "internal" })) as Array<{ disabled: number }>;
    expect(after[0]!.disabled).toBe(1);
    await expect(dp.rpc.call("rtpengine.show", { url: "udp:1.2.3.4:1" }, { transport: "internal" })).rejects.toThrow(/not found/i);
    await ng({ command: "delete", "call-id": callId });
  });
});

describe("dialog timeout deletes the session", () => {
  let dp: DataPlane;
  let uas: UdpPeer;
  let uac: UdpPeer;
  beforeAll(async () => {
    uas = await UdpPeer.open(UAS);
    uac = await UdpPeer.open(UAC);
    callee(uas);
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${SIP}`],
      script: { settings: { nextHop: `sip:127.0.0.1:${UAS}` } },
      modules: { dialog: { default_timeout: 1 }, rtpengine: { rtpengine_sock: `udp:127.0.0.1:${NG}`, rtpengine_tout_ms: 200, rtpengine_retr: 2, ping_interval: 0 } },
    });
  });
  afterAll(async () => {
    uas?.close();
    uac?.close();
    await dp?.stop();
  });

  it("an answered call that times out (no BYE from either side) is deleted on rtpengine", async () => {
    const callId = `dto-${Date.now()}@127.0.0.1`;
    const offer = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", `m=audio ${RTP_UAC} RTP/AVP 0`, ""].join("\r\n");
    uac.send([`INVITE sip:bob@127.0.0.1:${SIP} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${UAC};branch=z9hG4bK-dto1;rport`, `From: <sip:alice@127.0.0.1>;tag=ft3`, `To: <sip:bob@127.0.0.1>`, `Call-ID: ${callId}`, "CSeq: 1 INVITE", "Max-Forwards: 70", `Contact: <sip:alice@127.0.0.1:${UAC}>`, "Content-Type: application/sdp", `Content-Length: ${offer.length}`, "", offer].join("\r\n"), SIP);
    const ok = await uac.wait((t) => t.startsWith("SIP/2.0 200") && t.includes(callId));
    const rr = headerOf(ok, "record-route")[0]!;
    uac.send([`ACK sip:bob@127.0.0.1:${UAS} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${UAC};branch=z9hG4bK-dtoack;rport`, `From: <sip:alice@127.0.0.1>;tag=ft3`, `To: ${headerOf(ok, "to")[0]}`, `Call-ID: ${callId}`, "CSeq: 1 ACK", `Route: ${rr}`, "Max-Forwards: 70", "Content-Length: 0", "", ""].join("\r\n"), SIP);
    expect((await ng({ command: "query", "call-id": callId })).result).toBe("ok");
    await waitUntil(async () => (await ng({ command: "query", "call-id": callId })).result === "error", { timeoutMs: 8000, intervalMs: 100 });
    expect(Object.fromEntries(dp.stats.select("rtpengine:"))).toMatchObject({ "rtpengine:deletes": 1, "rtpengine:active_calls": 0 });
  });
});
