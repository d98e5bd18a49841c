/**
 * carrierroute end to end over real sockets: sipp callers and gateways, the carrierroute tables
 * from a JSON table file. The longest prefix of the routing domain's tree picks the targets, the
 * rule rewrites the number (strip, rewrite_prefix), prob spreads calls by a CRC32 of the Call-ID,
 * an empty rewrite_host blacklists a prefix, and carrierfailureroute sends the call to the
 * fallback domain after a 5xx or a silent gateway (408). Script:
 * test/scripts/routing-carrierroute.ts. Ports: a block of 100 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { DataPlane } from "../data-plane/node.js";
import { TEST_SCRIPTS, startProxy } from "./helpers/proxy.js";
import { UdpPeer, firstLine, request, statusOf } from "./helpers/udp-peer.js";
import { rpc, runCalls, startGateway, tableDir, tally, writeTableFile, type Gateway } from "./scripts/routing-support.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(100); // this file's ports: BASE … BASE + 99

describe("carrierroute: prefix trees, load shares, failure routing", () => {
  const PROXY = BASE;
  const CONTROL = BASE + 1;
  const [A, B, C, D, E] = [BASE + 10, BASE + 11, BASE + 12, BASE + 13, BASE + 14];
  let dp: DataPlane;
  const gws = new Map<number, Gateway>();
  let silent: UdpPeer;
  const host = (p: number) => `127.0.0.1:${p}`;

  beforeAll(async () => {
    for (const p of [A, B, E]) gws.set(p, await startGateway(p));
    gws.set(C, await startGateway(C, "rt_uas_503.xml"));
    silent = await UdpPeer.open(D);
    let id = 0;
    const route = (domain: number, prefix: string, h: string, prob = 1, over: Record<string, unknown> = {}) => ({
      id: ++id,
      carrier: 1,
      domain,
      scan_prefix: prefix,
      flags: 0,
      mask: 0,
      prob,
      strip: 0,
      rewrite_host: h,
      rewrite_prefix: "",
      rewrite_suffix: "",
      description: `${prefix}@${domain}`,
      ...over,
    });
    const dir = tableDir("cr");
    writeTableFile(join(dir, "carrierroute.json"), {
      carrier_name: [{ id: 1, carrier: "default" }],
      domain_name: [
        { id: 1, domain: "proxy" },
        { id: 2, domain: "fallback" },
      ],
      carrierroute: [
        route(1, "49", host(A)),
        route(1, "4930", host(B), 1, { strip: 2, rewrite_prefix: "0" }),
        route(1, "44", host(C)),
        route(2, "44", host(E)),
        route(1, "33", host(D)),
        route(2, "33", host(E)),
        route(1, "7", host(A), 0.5),
        route(1, "7", host(B), 0.5),
        route(1, "8", ""),
      ],
      carrierfailureroute: [
        { id: 1, carrier: 1, domain: 1, scan_prefix: "44", host_name: host(C), reply_code: "5..", flags: 0, mask: 0, next_domain: 2 },
        { id: 2, carrier: 1, domain: 1, scan_prefix: "33", host_name: "", reply_code: "408", flags: 0, mask: 0, next_domain: 2 },
      ],
    });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PROXY}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      script: { file: join(TEST_SCRIPTS, "routing-carrierroute.ts") },
      modules: { carrierroute: {} },
      tables: { carrierroute: join(dir, "carrierroute.json") },
      core: { tm: { frTimer: 1000, frInvTimer: 5000 } },
    });
  }, 30_000);

  afterAll(async () => {
    await dp?.stop();
    silent?.close();
    for (const g of gws.values()) await g.stop();
  });

  it("routes by the longest prefix, spreads by prob, fails over to the next domain; 0 failed", async () => {
    const calls: string[] = [];
    for (let i = 0; i < 3; i++) calls.push(`4912${i}`, `49301${i}`, `4477${i}`);
    calls.push("33120", "33121");
    for (let i = 0; i < 40; i++) calls.push(`7${String(i).padStart(3, "0")}`);
    const r = await runCalls({ port: BASE + 20, proxy: PROXY, calls, rate: 25 });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(calls.length);
    const users = (p: number) => gws.get(p)!.invitedUsers();
    const not7 = (p: number) => Object.keys(tally(users(p))).filter((u) => !u.startsWith("7")).sort();

    expect(not7(A)).toEqual(["49120", "49121", "49122"]);
    // 4930 beats 49; its rule strips "49" and puts "0" in front
    expect(not7(B)).toEqual(["03010", "03011", "03012"]);
    // 44: C's 503 matches the failure rule (host C, 5..) → domain "fallback" → E
    expect(users(C).sort()).toEqual(["44770", "44771", "44772"]);
    // 33: D never answers; the local 408 matches the failure rule → E
    const atD = new Set(silent.received.filter((m) => m.text.startsWith("INVITE ")).map((m) => /^INVITE sip:(\d+)@/.exec(m.text)![1]!));
    expect([...atD].sort()).toEqual(["33120", "33121"]);
    expect(users(E).sort()).toEqual(["33120", "33121", "44770", "44771", "44772"]);
    // prefix 7: two targets with prob 0.5 share the 40 calls, each call once
    const sevenA = users(A).filter((u) => u.startsWith("7"));
    const sevenB = users(B).filter((u) => u.startsWith("7"));
    expect(sevenA.length + sevenB.length).toBe(40);
    expect(new Set([...sevenA, ...sevenB]).size).toBe(40);
    expect(sevenA.length).toBeGreaterThan(5);
    expect(sevenB.length).toBeGreaterThan(5);

    const st = (await rpc(CONTROL, "stats.get_statistics", ["carrierroute:"])).result as string[];
    expect(st).toContain("carrierroute:next_domain = 5");
  }, 60_000);

  it("a blacklisted prefix (empty rewrite_host) and a number without a route get 404", async () => {
    const peer = await UdpPeer.open(BASE + 21);
    try {
      for (const [n, cid] of [["8123", "bl-1"], ["5123", "none-1"]] as const) {
        peer.send(request("INVITE", `sip:${n}@127.0.0.1:${PROXY}`, { port: BASE + 21, callId: cid }), PROXY);
        const res = await peer.wait((t) => t.includes(cid) && statusOf(t) >= 200);
        expect(firstLine(res)).toBe("SIP/2.0 404 No route");
      }
    } finally {
      peer.close();
    }
  });

  it("cr.dump_routes shows the rules as loaded from the file", async () => {
    const res = (await rpc(CONTROL, "cr.dump_routes")).result as { routes: Array<{ carrier: string; domains: Array<{ domain: string; data: Array<{ prefix: string; host: string }> }> }> };
    const proxy = res.routes[0]!.domains.find((d) => d.domain === "proxy")!;
    expect(proxy.data.map((x) => `${x.prefix}→${x.host}`)).toContain(`4930→127.0.0.1:${B}`);
  });
});
