/**
 * lcr end to end with the default routing script (data-plane/scripts/default.ts, setting
 * `lcrId`) over real sockets: sipp callers, sipp gateways, the lcr and mtree tables from JSON
 * table files (standalone mode). Longest prefix and priority pick the gateway, mt_tvalue rules
 * match the caller through the mtree module (lcr's optional dependency), a 503 or a silent
 * gateway moves the call to the next one, a cancelled call does not; 503 "No available
 * gateways" / "Error loading gateways"; inactivate_gw and OPTIONS probing take a dead gateway out
 * and bring it back. Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { DataPlane } from "../data-plane/node.js";
import { startProxy } from "./helpers/proxy.js";
import { runSipp } from "./helpers/sipp.js";
import { UdpPeer, request, statusOf, firstLine } from "./helpers/udp-peer.js";
import { rpc, runCalls, startGateway, tableDir, tally, waitFor, writeTableFile, type Gateway } from "./scripts/routing-support.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(100);

const gw = (id: number, port: number, over: Record<string, unknown> = {}) => ({ id, lcr_id: 1, gw_name: `gw${id}`, ip_addr: "127.0.0.1", port, transport: 1, ...over });
const target = (id: number, rule: number, gwId: number, priority: number) => ({ id, lcr_id: 1, rule_id: rule, gw_id: gwId, priority, weight: 1 });

describe("lcr routing with the default script", () => {
  const PROXY = P;
  const CONTROL = P + 1;
  const [A, B, C, D, E, R] = [P + 10, P + 11, P + 12, P + 13, P + 14, P + 15];
  let dp: DataPlane;
  let other: DataPlane;
  const gws = new Map<number, Gateway>();
  let silent: UdpPeer;

  beforeAll(async () => {
    gws.set(A, await startGateway(A));
    gws.set(B, await startGateway(B));
    gws.set(C, await startGateway(C, "rt_uas_503.xml"));
    gws.set(E, await startGateway(E));
    gws.set(R, await startGateway(R, "uas_ring_cancel.xml"));
    silent = await UdpPeer.open(D); // a gateway that never answers
    const dir = tableDir("lcr");
    writeTableFile(join(dir, "lcr.json"), {
      lcr_gw: [gw(1, A), gw(2, B), gw(3, C), gw(4, D), gw(5, E, { prefix: "9" }), gw(6, R)],
      lcr_rule: [
        { id: 1, lcr_id: 1, prefix: "49" },
        { id: 2, lcr_id: 1, prefix: "4930" },
        { id: 3, lcr_id: 1, prefix: "44" },
        { id: 4, lcr_id: 1, prefix: "33" },
        { id: 5, lcr_id: 1, prefix: "1" },
        { id: 6, lcr_id: 1, prefix: "55", mt_tvalue: "vip" },
        { id: 7, lcr_id: 1, prefix: "5" },
        { id: 8, lcr_id: 1, prefix: "66" },
      ],
      lcr_rule_target: [
        target(1, 1, 1, 0),
        target(2, 2, 2, 0),
        target(3, 2, 1, 1),
        target(4, 3, 3, 0),
        target(5, 3, 5, 1),
        target(6, 4, 4, 0),
        target(7, 4, 5, 1),
        target(8, 5, 1, 2),
        target(9, 5, 2, 1),
        target(10, 6, 1, 0),
        target(11, 7, 2, 0),
        target(12, 8, 6, 0),
        target(13, 8, 1, 1),
      ],
    });
    // callers whose number starts with 10 are "vip" in the lcr tree (mt_tvalue)
    writeTableFile(join(dir, "mtree.json"), { mtrees: [{ id: 1, tname: "lcr", tprefix: "10", tvalue: "vip" }] });
    const base = {
      modules: { lcr: {}, mtree: {} },
      tables: { lcr: join(dir, "lcr.json"), mtree: join(dir, "mtree.json") },
      // a silent gateway is given up after 1 s
      core: { tm: { frTimer: 1000, frInvTimer: 5000 } },
    };
    dp = await startProxy({ ...base, listen: [`udp:127.0.0.1:${PROXY}`], control: { listen: `127.0.0.1:${CONTROL}` }, script: { settings: { lcrId: 1 } } });
    // the same tables, but the script asks for an lcr instance that does not exist
    other = await startProxy({ ...base, listen: [`udp:127.0.0.1:${P + 2}`], script: { settings: { lcrId: 2 } } });
  }, 30_000);

  afterAll(async () => {
    await dp?.stop();
    await other?.stop();
    silent?.close();
    for (const g of gws.values()) await g.stop();
  });

  it("routes by longest prefix, priority and mtree value; a 503 or a silent gateway moves the call on; 0 failed", async () => {
    const calls: Array<[string, string]> = [];
    for (let i = 0; i < 5; i++) calls.push([`49301${i}`, "sipp"], [`49402${i}`, "sipp"], [`44777${i}`, "sipp"]);
    for (let i = 0; i < 3; i++) calls.push([`33123${i}`, "sipp"], [`1555${i}`, "sipp"], [`55001${i}`, "100"], [`55002${i}`, "200"]);
    const r = await runCalls({ port: P + 20, proxy: PROXY, calls, rate: 20 });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(calls.length);

    const users = (p: number) => tally(gws.get(p)!.invitedUsers());
    // 4930 beats 49 (longest prefix); 49 alone goes to A; "1" prefers B (priority 1 before 2);
    // 55 from a vip caller (mtree: 10 → vip) takes the mt_tvalue rule (A), others the "5" rule (B)
    expect(Object.keys(users(A)).sort()).toEqual(["494020", "494021", "494022", "494023", "494024", "550010", "550011", "550012"]);
    expect(Object.keys(users(B)).sort()).toEqual(["15550", "15551", "15552", "493010", "493011", "493012", "493013", "493014", "550020", "550021", "550022"]);
    // C answered 503 to each 44 call, D said nothing to the 33 calls: both went on to E, which
    // gets the gateway prefix "9" in front of the number (next_gw)
    expect(gws.get(C)!.invitedUsers().sort()).toEqual(["447770", "447771", "447772", "447773", "447774"]);
    const atD = silent.received.filter((m) => m.text.startsWith("INVITE ")).map((m) => /^INVITE sip:(\d+)@/.exec(m.text)![1]!);
    expect([...new Set(atD)].sort()).toEqual(["331230", "331231", "331232"]);
    expect(Object.keys(users(E)).sort()).toEqual(["9331230", "9331231", "9331232", "9447770", "9447771", "9447772", "9447773", "9447774"]);
    for (const p of [A, B, E]) expect(Object.values(users(p)).every((n) => n === 1), `one INVITE per call at ${p}`).toBe(true);
  }, 60_000);

  it("a cancelled call is not moved to the next gateway", async () => {
    const r = await runSipp({ scenario: "uac_cancel.xml", port: P + 21, remote: `127.0.0.1:${PROXY}`, calls: 3, rate: 10, service: "66123", timeoutS: 20 });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(3);
    expect(gws.get(R)!.invitedUsers()).toEqual(["66123", "66123", "66123"]);
    expect(gws.get(A)!.invitedUsers().filter((u) => u.startsWith("66"))).toEqual([]);
  }, 30_000);

  it("answers 503 'No available gateways' without a rule and 503 'Error loading gateways' for a bad lcr instance", async () => {
    const peer = await UdpPeer.open(P + 22);
    try {
      peer.send(request("INVITE", `sip:999@127.0.0.1:${PROXY}`, { port: P + 22, callId: "no-gw-1" }), PROXY);
      const none = await peer.wait((t) => t.includes("no-gw-1") && statusOf(t) >= 200);
      expect(firstLine(none)).toBe("SIP/2.0 503 No available gateways");
      peer.send(request("INVITE", `sip:4930111@127.0.0.1:${P + 2}`, { port: P + 22, callId: "bad-id-1" }), P + 2);
      const err = await peer.wait((t) => t.includes("bad-id-1") && statusOf(t) >= 200);
      expect(firstLine(err)).toBe("SIP/2.0 503 Error loading gateways");
    } finally {
      peer.close();
    }
    const stats = (await rpc(CONTROL, "stats.get_statistics", ["lcr:"])).result as string[];
    expect(stats).toContain("lcr:load_gws_none = 1");
  });

  it("lcr.load_gws over the control API shows the same order the calls took", async () => {
    const res = await rpc(CONTROL, "lcr.load_gws", [1, "4930555"]);
    expect((res.result as Array<{ gw_id: number }>).map((g) => g.gw_id)).toEqual([2, 1]);
    const vip = await rpc(CONTROL, "lcr.load_gws", [1, "550", "sip:100@example.com"]);
    expect((vip.result as Array<{ gw_id: number }>).map((g) => g.gw_id)).toEqual([1, 2]);
  });
});

describe("gateway probing: inactivate_gw and OPTIONS (ping_interval)", () => {
  const PROXY = P + 40;
  const CONTROL = P + 41;
  const [P1, P2] = [P + 50, P + 51];
  let dp: DataPlane;
  let dead: UdpPeer | null = null;
  let back: Gateway | null = null;
  let spare: Gateway;

  beforeAll(async () => {
    dead = await UdpPeer.open(P1); // takes INVITEs and OPTIONS, answers nothing
    spare = await startGateway(P2);
    const dir = tableDir("lcr-ping");
    writeTableFile(join(dir, "lcr.json"), {
      lcr_gw: [gw(1, P1), gw(2, P2)],
      lcr_rule: [{ id: 1, lcr_id: 1, prefix: "77" }],
      lcr_rule_target: [target(1, 1, 1, 0), target(2, 1, 2, 1)],
    });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PROXY}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      script: { settings: { lcrId: 1 } },
      modules: { lcr: { ping_interval: 1, ping_inactivate_threshold: 1, ping_from: "sip:pinger@olelo.test", ping_timeout: 500 } },
      tables: { lcr: join(dir, "lcr.json") },
      core: { tm: { frTimer: 1000, frInvTimer: 5000 } },
    });
  }, 30_000);

  afterAll(async () => {
    await dp?.stop();
    dead?.close();
    await back?.stop();
    await spare?.stop();
  });

  const state = async (gwId: number) => {
    const dump = (await rpc(CONTROL, "lcr.dump_gws")).result as { gw: Array<{ gw_id: number; state: number }> };
    return dump.gw.find((g) => g.gw_id === gwId)!.state;
  };
  const events = async (kind: string) => ((await rpc(CONTROL, "events.since", { since: 0, kinds: [kind] })).result as { events: Array<{ data: Record<string, unknown> }> }).events;

  it("takes a silent gateway out after a timeout, probes it with OPTIONS, and brings it back when it answers", async () => {
    expect(await state(1)).toBe(0);
    // first call: P1 times out (no reply at all) → inactivate_gw → P2
    const t0 = Date.now();
    const first = await runCalls({ port: P + 60, proxy: PROXY, calls: ["770001"], rate: 1 });
    expect(first.failed, first.errors).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(await state(1)).toBe(2);
    expect((await events("lcr.gw_inactive")).map((e) => e.data)).toEqual([{ lcr_id: 1, gw_id: 1, uri: `sip:127.0.0.1:${P1};transport=udp` }]);

    // while inactive, calls go straight to P2: P1 sees no further INVITE
    const more = await runCalls({ port: P + 61, proxy: PROXY, calls: ["770002", "770003", "770004"], rate: 10 });
    expect(more.failed, more.errors).toBe(0);
    const invitesAtP1 = () => dead!.received.filter((m) => m.text.startsWith("INVITE ")).map((m) => /Call-ID: (\S+)/i.exec(m.text)![1]);
    expect(new Set(invitesAtP1()).size).toBe(1);
    expect(spare.invitedUsers().sort()).toEqual(["770001", "770002", "770003", "770004"]);

    // the inactive gateway gets OPTIONS probes, from ping_from, to its URI
    const probe = await dead!.wait((t) => t.startsWith("OPTIONS "), 4000);
    expect(firstLine(probe)).toBe(`OPTIONS sip:127.0.0.1:${P1};transport=udp SIP/2.0`);
    expect(probe).toMatch(/^From: <?sip:pinger@olelo\.test>?;tag=/m);
    expect(await state(1)).toBe(2); // unanswered probes keep it out

    // the gateway comes back (answers OPTIONS with 200): active again within a probe round or two
    dead!.close();
    dead = null;
    back = await startGateway(P1);
    await waitFor(async () => (await state(1)) === 0, 5000, "gateway 1 active again");
    expect((await events("lcr.gw_active")).map((e) => e.data)).toEqual([{ lcr_id: 1, gw_id: 1, uri: `sip:127.0.0.1:${P1};transport=udp`, code: 200 }]);
    const after = await runCalls({ port: P + 62, proxy: PROXY, calls: ["770005", "770006"], rate: 10 });
    expect(after.failed, after.errors).toBe(0);
    expect(back.invitedUsers().sort()).toEqual(["770005", "770006"]);
    const st = (await rpc(CONTROL, "stats.get_statistics", ["lcr:"])).result as string[];
    expect(st.find((l) => l.startsWith("lcr:ping_sent"))).toMatch(/= [1-9]/);
  }, 60_000);
});
