/**
 * SIP firewall end to end over real loopback sockets (issue 6): the default routing script with
 * htable (ipban), pike (ipban: 1 = receive filter before parsing), permissions (trusted peer) and
 * sanity. Sources are distinct loopback addresses (all of 127.0.0.0/8 is local on Linux):
 *   127.0.0.2 floods, 127.0.0.3 sends steadily below the density, 127.0.0.4 is trusted and floods.
 * Security events and counters are read through the control API (WebSocket and HTTP JSON-RPC).
 * Ports: a block of 50 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataPlane } from "../data-plane/node.js";
import { startProxy } from "./helpers/proxy.js";
import { UdpPeer, firstLine as firstLineOf, request, statusOf } from "./helpers/udp-peer.js";
import { counters, EventStream, rpc } from "./scripts/firewall-control.js";
import { SipResponder } from "./scripts/firewall-responder.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass, waitUpTo } from "./kit/wait.js";

const P = await freePortBlock(50);

const PORT = P;
const CONTROL = P + 1;
const DENSITY = 10; // requests per 1 s window
const BAN_S = 3;

/** Keepalive OPTIONS to the proxy itself (REQINIT answers 200 "Keepalive" after the guards). */
function options(peer: UdpPeer, id: string): string {
  return request("OPTIONS", `sip:127.0.0.1:${PORT}`, { port: peer.port, host: peer.host, callId: id });
}

/** Sends `n` keepalives `gapMs` apart; returns their Call-IDs. */
async function burst(peer: UdpPeer, tag: string, n: number, gapMs = 2): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${tag}-${i}`;
    ids.push(id);
    peer.send(options(peer, id), PORT);
    if (gapMs > 0) await letTimePass(gapMs, "gap between the burst's requests");
  }
  return ids;
}

const answered = (peer: UdpPeer, ids: string[]) => {
  const set = new Set(ids);
  return peer.received.filter((m) => statusOf(m.text) === 200 && set.has(/^Call-ID:\s*(.+)$/im.exec(m.text)?.[1]?.trim() ?? "")).length;
};

/** Sends one keepalive and waits up to `ms` for its answer. */
async function probe(peer: UdpPeer, id: string, ms: number): Promise<boolean> {
  peer.send(options(peer, id), PORT);
  return peer.wait((t) => t.includes(`Call-ID: ${id}\r\n`), ms).then(
    () => true,
    () => false,
  );
}

describe("flood guard (pike + htable ipban, pre-parse drop, trusted peers)", () => {
  let dp: DataPlane;
  let base: string;
  let stream: EventStream;
  let flooder: UdpPeer;
  let steady: UdpPeer;
  let trusted: UdpPeer;

  beforeAll(async () => {
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PORT}`, `tcp:127.0.0.1:${PORT}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      modules: {
        htable: { htable: ["ipban=>size=8;autoexpire=300"], timer_interval: 1 },
        pike: { sampling_time_unit: 1, reqs_density_per_unit: DENSITY, remove_latency: 4, ban_time: BAN_S, ipban: 1 },
        permissions: {},
        sanity: {},
      },
    });
    const loaded = dp.tables.load("address", { address: [{ id: 1, grp: 1, ip_addr: "127.0.0.4", mask: 32, port: 0, tag: "trusted-peer" }] }, "t1", "test");
    expect(loaded.ok).toBe(true);
    base = dp.control!.url.replace(/\/RPC$/, "");
    stream = await EventStream.open(base, ["security.*"]);
    flooder = await UdpPeer.open(0, "127.0.0.2");
    steady = await UdpPeer.open(0, "127.0.0.3");
    trusted = await UdpPeer.open(0, "127.0.0.4");
  });
  afterAll(async () => {
    stream?.close();
    for (const p of [flooder, steady, trusted]) p?.close();
    await dp?.stop();
  });

  it("bans a UDP flood within the density, drops it before parsing, lifts the ban on time, and serves other sources throughout", async () => {
    // the steady source: 4 keepalives per second, below the density of 10 per 1 s window
    const steadyIds: string[] = [];
    let stop = false;
    const steadyLoop = (async () => {
      for (let i = 0; !stop; i++) {
        steadyIds.push(...(await burst(steady, `steady-${i}`, 1, 0)));
        await letTimePass(250, "the steady source's pace");
      }
    })();

    const before = await counters(base, "pike", "core");
    const floodIds = await burst(flooder, "flood", 4 * DENSITY);
    const ban = await stream.wait((e) => e.kind === "security.banned" && e.data.ip === "127.0.0.2");
    expect(ban.data.reason).toBe("pike");
    const until = Date.parse(String(ban.data.until));
    expect(Math.abs(until - Date.parse(ban.ts) - BAN_S * 1000)).toBeLessThan(50);
    await letTimePass(300, "every reply to the flood that will come has come (the count is bounded both ways)");
    // flagged at the DENSITY-th request of a window (at most 2x-1 answered when the burst straddles a window boundary)
    const served = answered(flooder, floodIds);
    expect(served).toBeGreaterThanOrEqual(DENSITY - 1);
    expect(served).toBeLessThanOrEqual(2 * DENSITY - 1);

    // the ban lives in the ipban htable and is visible over the control API
    const item = (await rpc(base, "htable.get", ["ipban", "127.0.0.2"])) as { item: { name: string; value: number } };
    expect(item.item).toMatchObject({ name: "127.0.0.2", value: 1 });
    const bans = (await rpc(base, "pike.bans")) as Array<{ ip: string }>;
    expect(bans.map((b) => b.ip)).toEqual(["127.0.0.2"]);

    // while banned: dropped before parsing — even bytes the parser would answer with 400 get nothing
    const mid = await counters(base, "pike", "core");
    flooder.send("INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:1;branch=z9hG4bK-junk\r\nCSeq: nonsense\r\n\r\n", PORT);
    const wait = Math.max(0, until - Date.now() - 1200);
    await letTimePass(Math.min(wait, 500), "part of the ban passes");
    expect(await probe(flooder, "while-banned", Math.max(200, until - Date.now() - 600))).toBe(false);
    const during = await counters(base, "pike", "core");
    expect(during["core.bad_msg_hdr"]).toBe(mid["core.bad_msg_hdr"]);
    expect(during["pike.dropped"]).toBeGreaterThanOrEqual(mid["pike.dropped"]! + 2);
    expect(during["pike.dropped"]! - before["pike.dropped"]!).toBeGreaterThanOrEqual(4 * DENSITY - served);

    // a TCP connection from the banned source is refused at accept
    const tcpClosed = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port: PORT, localAddress: "127.0.0.2" });
      s.on("error", () => resolve(true));
      s.on("close", () => resolve(true));
      s.on("connect", () => s.write(options(flooder, "tcp-probe").replace(/\r?\n/g, "\r\n")));
      setTimeout(() => {
        s.destroy();
        resolve(false);
      }, 2000);
    });
    expect(tcpClosed).toBe(true);

    // after `until` the source is served again (two silent windows have cleared its pike state)
    await letTimePass(Math.max(0, until - Date.now() + 200), "the ban runs out");
    let back = false;
    for (let i = 0; i < 6 && !back; i++) back = await probe(flooder, `after-ban-${i}`, 500);
    expect(back).toBe(true);
    expect(Date.now() - until).toBeLessThan(4000);
    expect(((await rpc(base, "pike.bans")) as unknown[]).length).toBe(0);

    stop = true;
    await steadyLoop;
    await waitUpTo(() => answered(steady, steadyIds) === steadyIds.length, 300);
    expect(steadyIds.length).toBeGreaterThanOrEqual(4 * BAN_S);
    expect(answered(steady, steadyIds)).toBe(steadyIds.length);
    expect(stream.events.filter((e) => e.kind === "security.banned" && e.data.ip === "127.0.0.3")).toEqual([]);

    const after = await counters(base, "pike");
    expect(after["pike.banned"]! - before["pike.banned"]!).toBe(1);
    expect(after["pike.blocked"]! - before["pike.blocked"]!).toBe(1);
  });

  it("never bans a trusted address (permissions address group 1), however fast it sends", async () => {
    const ids = await burst(trusted, "trusted", 5 * DENSITY);
    await trusted.wait(() => answered(trusted, ids) === ids.length, 5000).catch(() => undefined);
    expect(answered(trusted, ids)).toBe(ids.length);
    expect(stream.events.filter((e) => e.data.ip === "127.0.0.4")).toEqual([]);
    expect(((await rpc(base, "pike.bans")) as Array<{ ip: string }>).map((b) => b.ip)).not.toContain("127.0.0.4");
    const top = (await rpc(base, "pike.top", ["ALL"])) as { list: Array<{ ip_addr: string }> };
    expect(top.list.map((r) => r.ip_addr)).not.toContain("127.0.0.4"); // not even counted
  });

  it("REQINIT with the sanity module: scanners dropped, 403 for oversize, 483 at Max-Forwards 0", async () => {
    const ua = await UdpPeer.open(0, "127.0.0.10");
    try {
      const before = await counters(base, "sanity");
      const ask = (id: string, extra: string[], opts: { ruri?: string; body?: string; method?: string } = {}) => {
        const text = request(opts.method ?? "OPTIONS", opts.ruri ?? `sip:127.0.0.1:${PORT}`, { port: ua.port, host: ua.host, callId: id, extra, body: opts.body });
        ua.send(text, PORT);
        return ua.wait((t) => t.includes(`Call-ID: ${id}\r\n`), 1500).then(firstLineOf, () => null);
      };
      expect(await ask("scanner", ["User-Agent: friendly-scanner"])).toBeNull();
      expect(await ask("big", [], { body: "x".repeat(17000) })).toBe("SIP/2.0 403 Message too large");
      expect(await ask("long-ruri", [], { ruri: `sip:${"u".repeat(600)}@127.0.0.1:${PORT}` })).toBe("SIP/2.0 403 R-URI too large");
      const hops = request("OPTIONS", `sip:127.0.0.1:${PORT}`, { port: ua.port, host: ua.host, callId: "hops" }).replace("Max-Forwards: 70", "Max-Forwards: 0");
      ua.send(hops, PORT);
      expect(firstLineOf(await ua.wait((t) => t.includes("Call-ID: hops\r\n"), 1500))).toBe("SIP/2.0 483 Too Many Hops");
      // (sanity_check 17895/7 runs too, but the failures it looks for that we tried — bad CSeq, Expires,
      // From/To/R-URI, SIP version, scheme — are answered 400/416/505 by the core's request validation
      // before the script runs; the module's own tests cover the checks)
      expect(await ask("fine", [])).toBe("SIP/2.0 200 Keepalive");
      const after = await counters(base, "sanity");
      expect(after["sanity.scanners_dropped"]! - before["sanity.scanners_dropped"]!).toBe(1);
      expect(after["sanity.too_large"]! - before["sanity.too_large"]!).toBe(2);
    } finally {
      ua.close();
    }
  });
});

describe("the default script without firewall modules keeps working", () => {
  const PLAIN = P + 10;
  let dp: DataPlane;
  let uas: SipResponder;
  let ua: UdpPeer;
  beforeAll(async () => {
    uas = await SipResponder.open(P + 11);
    dp = await startProxy({ listen: [`udp:127.0.0.1:${PLAIN}`], script: { settings: { nextHop: `sip:127.0.0.1:${P + 11}` } } });
    ua = await UdpPeer.open(0, "127.0.0.2");
  });
  afterAll(async () => {
    ua?.close();
    uas?.close();
    await dp?.stop();
  });

  it("relays calls from local users unchallenged and applies the built-in REQINIT guards", async () => {
    const invite = request("INVITE", `sip:bob@127.0.0.1:${PLAIN}`, { port: ua.port, host: ua.host, callId: "plain-1" }).replace(
      /^From: .*$/m,
      `From: <sip:alice@127.0.0.1:${PLAIN}>;tag=a1`,
    );
    ua.send(invite, PLAIN);
    expect(firstLineOf(await ua.wait((t) => t.includes("Call-ID: plain-1\r\n") && statusOf(t) >= 200, 3000))).toBe("SIP/2.0 200 OK");
    expect(uas.requests("INVITE")).toHaveLength(1);
    ua.send(request("OPTIONS", `sip:127.0.0.1:${PLAIN}`, { port: ua.port, host: ua.host, callId: "plain-scan", extra: ["User-Agent: sipvicious"] }), PLAIN);
    ua.send(request("OPTIONS", `sip:127.0.0.1:${PLAIN}`, { port: ua.port, host: ua.host, callId: "plain-ka" }), PLAIN);
    expect(firstLineOf(await ua.wait((t) => t.includes("Call-ID: plain-ka\r\n"), 3000))).toBe("SIP/2.0 200 Keepalive");
    await letTimePass(200, "a reply to the scanner would come within this");
    expect(ua.received.some((m) => m.text.includes("Call-ID: plain-scan\r\n"))).toBe(false);
    expect(dp.modules).toEqual([]);
  });
});
