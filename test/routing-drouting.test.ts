/**
 * drouting end to end over real sockets: sipp callers of two routing groups (dr_groups), sipp
 * gateways, the drouting tables from a JSON table file. Groups pick different rules for the same
 * number, the highest-priority rule whose time recurrence covers "now" wins (daily windows,
 * weekly BYDAY, falling back to a shorter prefix when the longer one is out of time), gwlists
 * fail over from a 503 and a silent gateway, strip / pri_prefix rewrite the number. The time
 * recurrences are written relative to the current UTC time (module param timezone UTC).
 * With enable_keepalive, OPTIONS probes take a silent gateway out of the lists before any call
 * is sent to it. Script: test/scripts/routing-drouting.ts. Ports: a block of 100 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { DataPlane } from "../data-plane/node.js";
import { TEST_SCRIPTS, startProxy } from "./helpers/proxy.js";
import { UdpPeer, firstLine, request, statusOf } from "./helpers/udp-peer.js";
import { rpc, runCalls, startGateway, tableDir, tally, waitFor, writeTableFile, type Gateway } from "./scripts/routing-support.js";
import { freePortBlock } from "./kit/ports.js";

/** RFC 2445 DATE-TIME in UTC: YYYYMMDDTHHMMSSZ. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}
const BASE = await freePortBlock(100); // this file's ports: BASE … BASE + 99
const H = 3_600_000;
const DAY = 24 * H;
const WEEKDAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];

describe("drouting: groups, priorities, time recurrences, failover", () => {
  const PROXY = BASE;
  const CONTROL = BASE + 1;
  const [A, B, C, D, E, F] = [BASE + 10, BASE + 11, BASE + 12, BASE + 13, BASE + 14, BASE + 15];
  let dp: DataPlane;
  const gws = new Map<number, Gateway>();
  let silent: UdpPeer;

  beforeAll(async () => {
    for (const p of [A, B, E, F]) gws.set(p, await startGateway(p));
    gws.set(C, await startGateway(C, "rt_uas_503.xml"));
    silent = await UdpPeer.open(D);
    const now = Date.now();
    // occurrences are [start, start + duration); "now" sits in the middle of the matching ones
    const inWindowDaily = `${stamp(now - H - 3 * DAY)}|2H|daily`;
    const outOfWindowDaily = `${stamp(now + 5 * H - 3 * DAY)}|1H|daily`;
    const today = WEEKDAYS[new Date(now - H).getUTCDay()]!;
    const otherDay = WEEKDAYS[(new Date(now - H).getUTCDay() + 3) % 7]!;
    const weeklyToday = `${stamp(now - H - 7 * DAY)}|2H|weekly|||${today}`;
    const weeklyOther = `${stamp(now - H - 7 * DAY)}|2H|weekly|||${otherDay}`;
    const dir = tableDir("dr");
    writeTableFile(join(dir, "drouting.json"), {
      dr_gateways: [
        { gwid: 1, address: `127.0.0.1:${A}` },
        { gwid: 2, address: `127.0.0.1:${B}` },
        { gwid: 3, address: `127.0.0.1:${C}` },
        { gwid: 4, address: `127.0.0.1:${D}` },
        { gwid: 5, address: `127.0.0.1:${E}`, pri_prefix: "00" },
        { gwid: 6, address: `127.0.0.1:${F}`, strip: 2 },
      ],
      dr_groups: [
        { id: 1, username: "alice", domain: "example.com", groupid: 1 },
        { id: 2, username: "bob", domain: "example.com", groupid: 2 },
      ],
      dr_rules: [
        { ruleid: 1, groupid: "1", prefix: "49", priority: 10, timerec: outOfWindowDaily, gwlist: "1" },
        { ruleid: 2, groupid: "1", prefix: "49", priority: 5, timerec: inWindowDaily, gwlist: "2" },
        { ruleid: 3, groupid: "1", prefix: "49", priority: 0, timerec: "", gwlist: "1" },
        { ruleid: 4, groupid: "1", prefix: "4930", priority: 0, timerec: weeklyOther, gwlist: "5" },
        { ruleid: 5, groupid: "2", prefix: "4930", priority: 0, timerec: weeklyToday, gwlist: "1" },
        { ruleid: 6, groupid: "2", prefix: "49", priority: 0, timerec: "", gwlist: "6" },
        { ruleid: 7, groupid: "1,2", prefix: "44", priority: 0, timerec: "", gwlist: "3,5" },
        { ruleid: 8, groupid: "1,2", prefix: "33", priority: 0, timerec: "", gwlist: "#1" },
        { ruleid: 9, groupid: "1", prefix: "", priority: 0, timerec: "", gwlist: "1" },
      ],
      dr_gw_lists: [{ id: 1, gwlist: "4;5" }],
    });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PROXY}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      script: { file: join(TEST_SCRIPTS, "routing-drouting.ts") },
      modules: { drouting: { timezone: "UTC" } },
      tables: { drouting: join(dir, "drouting.json") },
      core: { tm: { frTimer: 1000, frInvTimer: 5000 } },
    });
  }, 30_000);

  afterAll(async () => {
    await dp?.stop();
    silent?.close();
    for (const g of gws.values()) await g.stop();
  });

  it("routes each caller group by prefix, priority and time; 503 and silence move on; 0 failed", async () => {
    const calls: Array<[string, string]> = [];
    for (let i = 0; i < 3; i++) {
      calls.push([`4911${i}`, "alice"], [`49301${i}`, "alice"], [`49302${i}`, "bob"], [`4912${i}`, "bob"], [`4477${i}`, "alice"], [`777${i}`, "alice"]);
    }
    calls.push(["33120", "bob"], ["33121", "alice"]);
    const r = await runCalls({ port: BASE + 20, proxy: PROXY, calls, rate: 20 });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(calls.length);
    const users = (p: number) => Object.keys(tally(gws.get(p)!.invitedUsers())).sort();

    // alice, 49: rule 1 (priority 10) is out of its daily window, rule 2 (5) is in it → B;
    // 4930: rule 4's weekday is not today, so the shorter prefix 49 applies → B as well
    expect(users(B)).toEqual(["49110", "49111", "49112", "493010", "493011", "493012"]);
    // bob, 4930: rule 5 recurs weekly on today's weekday → A; alice's default rule → A
    expect(users(A)).toEqual(["493020", "493021", "493022", "7770", "7771", "7772"]);
    // bob, 49: group 2's rule → F, which strips two digits
    expect(users(F)).toEqual(["120", "121", "122"]);
    // 44: C answers 503 → E (pri_prefix 00); 33: D (list #1, first group) is silent → E
    expect(users(C)).toEqual(["44770", "44771", "44772"]);
    const atD = new Set(silent.received.filter((m) => m.text.startsWith("INVITE ")).map((m) => /^INVITE sip:(\d+)@/.exec(m.text)![1]!));
    expect([...atD].sort()).toEqual(["33120", "33121"]);
    expect(users(E)).toEqual(["0033120", "0033121", "0044770", "0044771", "0044772"]);
    for (const p of [A, B, E, F]) expect(gws.get(p)!.invitedUsers().length, `one INVITE per call at ${p}`).toBe(users(p).length);

    const st = (await rpc(CONTROL, "stats.get_statistics", ["drouting:"])).result as string[];
    expect(st).toContain(`drouting:routed = ${calls.length}`);
    expect(st).toContain("drouting:next_routing = 5");
  }, 60_000);

  it("a caller without a group gets 404 No route", async () => {
    const peer = await UdpPeer.open(BASE + 21);
    try {
      // From sip:alice@127.0.0.1 — dr_groups only knows alice@example.com
      peer.send(request("INVITE", `sip:4911@127.0.0.1:${PROXY}`, { port: BASE + 21, callId: "no-group-1" }), PROXY);
      const res = await peer.wait((t) => t.includes("no-group-1") && statusOf(t) >= 200);
      expect(firstLine(res)).toBe("SIP/2.0 404 No route");
    } finally {
      peer.close();
    }
  });
});

describe("drouting keepalives (enable_keepalive)", () => {
  const PROXY = BASE + 40;
  const CONTROL = BASE + 41;
  const [K1, K2] = [BASE + 42, BASE + 43];
  let dp: DataPlane;
  let dead: UdpPeer;
  let alive: Gateway;

  beforeAll(async () => {
    dead = await UdpPeer.open(K1); // answers nothing, not even OPTIONS
    alive = await startGateway(K2);
    const dir = tableDir("dr-ka");
    writeTableFile(join(dir, "drouting.json"), {
      dr_gateways: [
        { gwid: 1, address: `127.0.0.1:${K1}` },
        { gwid: 2, address: `127.0.0.1:${K2}` },
      ],
      dr_rules: [{ ruleid: 1, groupid: "1", prefix: "88", gwlist: "1,2" }],
    });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PROXY}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      script: { file: join(TEST_SCRIPTS, "routing-drouting.ts"), settings: { group: 1 } },
      modules: { drouting: { enable_keepalive: 1, keepalive_interval: 1, keepalive_timeout: 500, keepalive_from: "sip:ka@olelo.test" } },
      tables: { drouting: join(dir, "drouting.json") },
      core: { tm: { frTimer: 1000, frInvTimer: 5000 } },
    });
  }, 30_000);

  afterAll(async () => {
    await dp?.stop();
    dead?.close();
    await alive?.stop();
  });

  it("marks the silent gateway down from OPTIONS probes; calls then go to the next one without trying it", async () => {
    const events = async () => ((await rpc(CONTROL, "events.since", { since: 0, kinds: ["drouting."] })).result as { events: Array<{ kind: string; data: unknown }> }).events;
    await waitFor(async () => (await events()).some((e) => e.kind === "drouting.gw_down"), 5000, "drouting.gw_down");
    expect((await events()).map((e) => [e.kind, e.data])).toEqual([["drouting.gw_down", { gwid: 1, address: `127.0.0.1:${K1}`, code: 408 }]]);
    const probe = await dead.wait((t) => t.startsWith("OPTIONS "));
    expect(firstLine(probe)).toBe(`OPTIONS sip:127.0.0.1:${K1} SIP/2.0`);
    // the live gateway answers its probes and stays usable
    expect(alive.requests("OPTIONS").length).toBeGreaterThanOrEqual(1);

    const r = await runCalls({ port: BASE + 44, proxy: PROXY, calls: ["88001", "88002", "88003"], rate: 10 });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(alive.invitedUsers().sort()).toEqual(["88001", "88002", "88003"]);
    expect(dead.received.filter((m) => m.text.startsWith("INVITE "))).toEqual([]);
    const st = (await rpc(CONTROL, "stats.get_statistics", ["drouting:"])).result as string[];
    expect(st).toContain("drouting:gateways_down = 1");
  }, 30_000);
});
