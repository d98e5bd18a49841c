/**
 * End-to-end tests of the SIP core over real loopback sockets with sipp:
 * UAC → Olelo → UAS over UDP and TCP, CANCEL, failure-route rerouting on 486, a silent UAS giving
 * 408 to the failure route, and a two-destination parallel fork.
 * Ports: a block of 200 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { UdpPeer, request, statusOf, headerOf } from "./helpers/udp-peer.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";
import { waitUpTo } from "./kit/wait.js";

const P = await freePortBlock(200);

const SCRIPT = join(TEST_SCRIPTS, "proxy-test.ts");

async function proxyWith(port: number, settings: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<DataPlane> {
  return startProxy({
    listen: [`udp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port}`],
    script: { file: SCRIPT, settings },
    ...extra,
  });
}

describe("stateful proxy with sipp (UDP)", () => {
  let dp: DataPlane;
  let uas: SippServer;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 10 });
    dp = await proxyWith(P, { targets: [`sip:127.0.0.1:${P + 10}`] });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
  });

  it("carries 200 record-routed calls with 0 failed", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 1, remote: `127.0.0.1:${P}`, calls: 200, rate: 100, service: "bob" });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(200);
    expect(r.code).toBe(0);
    const tmx = dp.stats.select("tmx:");
    const get = (n: string) => tmx.find(([k]) => k === `tmx:${n}`)?.[1] ?? 0;
    // INVITE and BYE of every call were stateful transactions
    expect(get("UAS_transactions")).toBeGreaterThanOrEqual(400);
    expect(get("2xx_transactions")).toBeGreaterThanOrEqual(400);
    expect(dp.stats.select("core:rcv_requests_ack")[0]![1]).toBeGreaterThanOrEqual(200);
  });
});

describe("stateful proxy with sipp (TCP on both sides)", () => {
  let dp: DataPlane;
  let uas: SippServer;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 30, transport: "t1" });
    dp = await proxyWith(P + 20, { targets: [`sip:127.0.0.1:${P + 30};transport=tcp`] });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
  });

  it("carries 200 calls over TCP with 0 failed", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 21, remote: `127.0.0.1:${P + 20}`, calls: 200, rate: 100, service: "bob", transport: "t1" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(200);
  });
});

describe("UDP in, TCP out (transport bridging with double Record-Route)", () => {
  let dp: DataPlane;
  let uas: SippServer;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 50, transport: "t1" });
    dp = await proxyWith(P + 40, { targets: [`sip:127.0.0.1:${P + 50};transport=tcp`] });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
  });

  it("routes ACK and BYE back across transports", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 41, remote: `127.0.0.1:${P + 40}`, calls: 50, rate: 50, service: "bob" });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(50);
  });
});

describe("CANCEL", () => {
  let dp: DataPlane;
  let uas: SippServer;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_ring_cancel.xml", port: P + 70 });
    dp = await proxyWith(P + 60, { targets: [`sip:127.0.0.1:${P + 70}`] });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
  });

  it("is answered 200, propagated downstream, and the INVITE ends with 487", async () => {
    const r = await runSipp({ scenario: "uac_cancel.xml", port: P + 61, remote: `127.0.0.1:${P + 60}`, calls: 20, rate: 20, service: "bob" });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(20);
    const s = await uas.stop();
    expect(s.successful, s.errors).toBe(20);
    expect(s.failed).toBe(0);
  });
});

describe("failure route", () => {
  let dp: DataPlane;
  let busy: SippServer;
  let ok: SippServer;
  beforeAll(async () => {
    busy = await startSippServer({ scenario: "uas_486.xml", port: P + 90 });
    ok = await startSippServer({ scenario: "uas_rr.xml", port: P + 91 });
    dp = await proxyWith(P + 80, { targets: [`sip:127.0.0.1:${P + 90}`], failover: `sip:127.0.0.1:${P + 91}` });
  });
  afterAll(async () => {
    await busy?.stop();
    await ok?.stop();
    await dp?.stop();
  });

  it("re-routes a call refused with 486 to a second UAS", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 81, remote: `127.0.0.1:${P + 80}`, calls: 30, rate: 30, service: "bob" });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(30);
    const b = await busy.stop();
    expect(b.successful, "the busy UAS got its ACK for every 486").toBe(30);
  });
});

describe("silent UAS", () => {
  let dp: DataPlane;
  let silent: UdpPeer;
  let uac: UdpPeer;
  beforeAll(async () => {
    silent = await UdpPeer.open(P + 110);
    uac = await UdpPeer.open(P + 111);
    dp = await proxyWith(P + 100, { targets: [`sip:127.0.0.1:${P + 110}`], report: true }, { core: { tm: { frTimer: 1500, frInvTimer: 3000 } } });
  });
  afterAll(async () => {
    silent?.close();
    uac?.close();
    await dp?.stop();
  });

  it("gives a local 408 to the failure route after retransmitting on the T1 schedule", async () => {
    const callId = "silent-1@test";
    uac.send(request("INVITE", `sip:bob@127.0.0.1:${P + 100}`, { port: P + 111, callId }), P + 100);
    const trying = await uac.wait((t) => t.includes(callId) && statusOf(t) === 100);
    expect(trying).toMatch(/^SIP\/2.0 100/);
    const final = await uac.wait((t) => t.includes(callId) && statusOf(t) >= 200, 6000);
    // the failure route saw the timeout: 408, branch timed out, no reply from the branch
    expect(final.split("\r\n")[0]).toBe("SIP/2.0 480 Seen 408 timeout=true replied=false");
    // Timer A: the INVITE was retransmitted (0, 500, 1500 ms) before fr_timer fired at 1500 ms
    const invites = silent.received.filter((m) => m.text.startsWith("INVITE"));
    expect(invites.length).toBeGreaterThanOrEqual(2);
    expect(invites.length).toBeLessThanOrEqual(4);
    // all copies carry the same branch (retransmissions of one client transaction)
    const branches = new Set(invites.map((m) => /branch=([^;\r\n]+)/.exec(m.text)![1]));
    expect(branches.size).toBe(1);
  });
});

describe("parallel fork to two contacts", () => {
  let dp: DataPlane;
  let answer: SippServer;
  let ring: SippServer;
  beforeAll(async () => {
    answer = await startSippServer({ scenario: "uas_rr.xml", port: P + 130 });
    ring = await startSippServer({ scenario: "uas_ring_cancel.xml", port: P + 131 });
    dp = await proxyWith(P + 120, { targets: [`sip:127.0.0.1:${P + 130}`, `sip:127.0.0.1:${P + 131}`] });
  });
  afterAll(async () => {
    await answer?.stop();
    await ring?.stop();
    await dp?.stop();
  });

  it("sends to both, relays the 200 and CANCELs the ringing branch", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 121, remote: `127.0.0.1:${P + 120}`, calls: 20, rate: 20, service: "bob" });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(20);
    await new Promise((res) => setTimeout(res, 500));
    const rg = await ring.stop();
    expect(rg.successful, "every ringing branch was cancelled and ACKed: " + rg.errors).toBe(20);
  });
});

describe("proxy rules on the wire", () => {
  let dp: DataPlane;
  let uas: UdpPeer;
  let uac: UdpPeer;
  beforeAll(async () => {
    uas = await UdpPeer.open(P + 150);
    uac = await UdpPeer.open(P + 151);
    dp = await proxyWith(P + 140, { targets: [`sip:127.0.0.1:${P + 150}`] });
  });
  afterAll(async () => {
    uas?.close();
    uac?.close();
    await dp?.stop();
  });

  it("adds its Via, Record-Route with lr, decrements Max-Forwards and passes unknown headers byte-exact", async () => {
    const callId = "wire-1@test";
    uac.send(request("INVITE", `sip:bob@127.0.0.1:${P + 140}`, { port: P + 151, callId, extra: ["X-Custom:   odd   spacing ;a=b", `Route: <sip:127.0.0.1:${P + 140};lr>`] }), P + 140);
    const fwd = await uas.wait((t) => t.startsWith("INVITE") && t.includes(callId));
    const vias = headerOf(fwd, "via");
    expect(vias[0]).toMatch(new RegExp(String.raw`^SIP\/2.0\/UDP 127\.0\.0\.1:${P + 140};branch=z9hG4bK`));
    expect(vias[1]).toContain("received=127.0.0.1");
    expect(vias[1]).toContain(`rport=${P + 151}`);
    expect(headerOf(fwd, "record-route")).toEqual([`<sip:127.0.0.1:${P + 140};lr>`]);
    expect(headerOf(fwd, "max-forwards")).toEqual(["69"]); // Kamailio caps at max_limit 70, then decrements
    expect(fwd).toContain("\r\nX-Custom:   odd   spacing ;a=b\r\n");
    expect(headerOf(fwd, "route")).toEqual([]); // preloaded route stripped by the script
    // answer 200 and check it reaches the UAC without our Via
    const reply = fwd
      .split("\r\n")
      .filter((l) => !/^(INVITE|Max-Forwards|Route|Content-Length|X-Custom)/i.test(l) && l !== "")
      .map((l) => (l.startsWith("To:") ? l + ";tag=uas1" : l));
    uas.send(["SIP/2.0 200 OK", ...reply.filter((l) => !l.startsWith("Contact")), `Contact: <sip:bob@127.0.0.1:${P + 150}>`, "Content-Length: 0", "", ""].join("\r\n"), P + 140);
    const ok = await uac.wait((t) => t.startsWith("SIP/2.0 200") && t.includes(callId));
    expect(headerOf(ok, "via")).toHaveLength(1);
    expect(headerOf(ok, "record-route")).toEqual([`<sip:127.0.0.1:${P + 140};lr>`]);
  });

  it("answers 483 when Max-Forwards is 0 and 420 for an unsupported Proxy-Require", async () => {
    uac.send(request("OPTIONS", `sip:bob@127.0.0.1:${P + 140}`, { port: P + 151, callId: "mf0@test", extra: ["Max-Forwards: 0"] }).replace("Max-Forwards: 70\r\n", ""), P + 140);
    expect(statusOf(await uac.wait((t) => t.includes("mf0@test")))).toBe(483);
    uac.send(request("OPTIONS", `sip:bob@127.0.0.1:${P + 140}`, { port: P + 151, callId: "preq@test", extra: ["Proxy-Require: foo"] }), P + 140);
    const r = await uac.wait((t) => t.includes("preq@test"));
    expect(statusOf(r)).toBe(420);
    expect(headerOf(r, "unsupported")).toEqual(["foo"]);
  });

  it("absorbs request retransmissions and resends the last reply", async () => {
    const msg = request("INVITE", `sip:bob@127.0.0.1:${P + 140}`, { port: P + 151, callId: "retr@test", branch: "z9hG4bK-retr1" });
    uac.send(msg, P + 140);
    await uac.wait((t) => t.includes("retr@test") && statusOf(t) === 100);
    await uas.wait((t) => t.startsWith("INVITE") && t.includes("retr@test"));
    uac.send(msg, P + 140);
    await waitUpTo(() => uac.received.filter((m) => m.text.includes("retr@test") && statusOf(m.text) === 100).length >= 2, 300);
    expect(uac.received.filter((m) => m.text.includes("retr@test") && statusOf(m.text) === 100).length).toBe(2);
    expect(uas.received.filter((m) => m.text.startsWith("INVITE") && m.text.includes("retr@test")).length).toBe(1);
  });
});
