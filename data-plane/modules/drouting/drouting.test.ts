import { describe, expect, it } from "vitest";
import type { TableRow, TableSet } from "../../core/api.js";
import { fakeHost, fakeRequest, seededRandom, setTableSource } from "../../testing/fake-host.js";
import { createCalendar } from "../../../tables/drouting/calendar.js";
import { DR_VARS, createDrouting } from "./drouting.js";
import { buildDrUri, findRule, orderGateways } from "../../../tables/drouting/route.js";
import { compileDroutingTables } from "../../../tables/drouting/table.js";

const UTC = createCalendar("UTC");
const at = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h, mi) / 1000;
const gw = (gwid: number, over: TableRow = {}): TableRow => ({ gwid, type: 1, address: `10.0.0.${gwid}`, ...over });
const rule = (ruleid: number, over: TableRow = {}): TableRow => ({ ruleid, groupid: "1", prefix: "49", priority: 0, gwlist: "1", ...over });

describe("rule selection", () => {
  const c = compileDroutingTables({
    dr_gateways: [gw(1), gw(2), gw(3), gw(4), gw(5)],
    dr_rules: [
      rule(1, { prefix: "49", gwlist: "1" }),
      rule(2, { prefix: "4930", gwlist: "2", priority: 1, timerec: "20240101T080000|10H|weekly|||MO,TU,WE,TH,FR" }),
      rule(3, { prefix: "4930", gwlist: "3", priority: 0 }),
      rule(4, { prefix: "", gwlist: "4" }),
      rule(5, { prefix: "+1", gwlist: "5", groupid: "2" }),
      rule(6, { prefix: "4989", gwlist: "5", timerec: "20240101T000000|1H|daily" }),
    ],
  });
  const weekdayNoon = at(2024, 5, 13, 12);
  const sunday = at(2024, 5, 12, 12);

  it("longest prefix within the group", () => {
    expect(findRule(c, 1, "4940123", weekdayNoon, UTC)?.ruleId).toBe(1);
    expect(findRule(c, 1, "4930123", weekdayNoon, UTC)?.ruleId).toBe(2);
  });

  it("higher priority first; a rule out of its time window gives way to the next", () => {
    expect(findRule(c, 1, "4930123", sunday, UTC)?.ruleId).toBe(3);
  });

  it("falls back to a shorter prefix when no rule of the longer one is in time", () => {
    expect(findRule(c, 1, "4989555", at(2024, 5, 13, 0, 30), UTC)?.ruleId).toBe(6);
    expect(findRule(c, 1, "4989555", at(2024, 5, 13, 2, 0), UTC)?.ruleId).toBe(1);
  });

  it("prefix-less rules catch the rest; other groups do not leak in", () => {
    expect(findRule(c, 1, "33123", weekdayNoon, UTC)?.ruleId).toBe(4);
    expect(findRule(c, 2, "+15551234", weekdayNoon, UTC)?.ruleId).toBe(5);
    expect(findRule(c, 2, "4930", weekdayNoon, UTC)).toBeNull();
    expect(findRule(c, 9, "4930", weekdayNoon, UTC)).toBeNull();
  });
});

describe("gateway order (sort_order)", () => {
  const c = compileDroutingTables({
    dr_gateways: [gw(1), gw(2), gw(3), gw(4), gw(5), gw(6)],
    dr_rules: [rule(1, { gwlist: "1,2,3;4;5|6" }), rule(2, { prefix: "1", gwlist: "1,2;2,1;1,2,3" })],
  });
  const r1 = c.groups.get(1)!.tree.get("49")![0]!;
  const r2 = c.groups.get(1)!.tree.get("1")![0]!;
  const ids = (l: Array<{ gwid: number }>) => l.map((g) => g.gwid);

  it("0: as listed", () => {
    expect(ids(orderGateways(r1, 0, seededRandom(1)))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("1: groups keep their order; the first two of a group are random, the rest as listed", () => {
    const rnd = seededRandom(2);
    const firstPairs = new Map<string, number>();
    for (let n = 0; n < 6000; n++) {
      const o = ids(orderGateways(r1, 1, rnd));
      expect(o.slice(3)).toEqual([4, ...(o[4] === 5 ? [5, 6] : [6, 5])]);
      expect([...o.slice(0, 3)].sort()).toEqual([1, 2, 3]);
      const pair = o.slice(0, 2).join(",");
      firstPairs.set(pair, (firstPairs.get(pair) ?? 0) + 1);
      // the third is the remaining one, in list order
      expect(o[2]).toBe([1, 2, 3].find((x) => !o.slice(0, 2).includes(x)));
    }
    // 6 ordered pairs, each ~1/6 (1000 ± 120, over 4 standard errors)
    expect(firstPairs.size).toBe(6);
    for (const v of firstPairs.values()) expect(Math.abs(v - 1000)).toBeLessThan(120);
  });

  it("2: one random gateway per group, never one tried before; exhausted groups are skipped", () => {
    const rnd = seededRandom(3);
    const counts = new Map<number, number>();
    for (let n = 0; n < 3000; n++) {
      const o = ids(orderGateways(r2, 2, rnd));
      // groups [1,2], [2,1], [1,2,3]: the first two take 1 and 2, so the third must take 3
      expect(o).toHaveLength(3);
      expect([...o].sort()).toEqual([1, 2, 3]);
      expect(o[2]).toBe(3);
      counts.set(o[0]!, (counts.get(o[0]!) ?? 0) + 1);
    }
    expect(Math.abs(counts.get(1)! - 1500)).toBeLessThan(120);
    const single = compileDroutingTables({ dr_gateways: [gw(1)], dr_rules: [rule(1, { gwlist: "1;1" })] }).groups.get(1)!.tree.get("49")![0]!;
    expect(ids(orderGateways(single, 2, rnd))).toEqual([1]);
  });
});

describe("build_ruri", () => {
  const c = compileDroutingTables({ dr_gateways: [gw(1, { strip: 2, pri_prefix: "00", address: "gw.example.com:5070" })] });
  const g = c.gateways.get(1)!;
  it("strips, prefixes, keeps password, params and headers", () => {
    expect(buildDrUri({ user: "+49301234", password: "pw", params: "user=phone", headers: "X=1" }, g)).toBe("sip:009301234:pw@gw.example.com:5070;user=phone?X=1");
  });
  it("refuses to strip the whole user", () => {
    expect(buildDrUri({ user: "12", password: null, params: "", headers: "" }, g)).toBeNull();
  });
});

const tables: TableSet = {
  dr_gateways: [gw(1, { strip: 1, pri_prefix: "+", attrs: "a=1" }), gw(2, { address: "10.0.0.2:5080", type: 2, strip: 2 }), gw(3, { address: "carrier.example" })],
  dr_rules: [rule(1, { prefix: "049", gwlist: "1,2,3", routeid: "CHECK" }), rule(2, { prefix: "", groupid: "7", gwlist: "3" })],
  dr_groups: [{ id: 1, username: "alice", domain: "example.com", groupid: 7 }],
};

function setup(config: Record<string, unknown> = {}) {
  const host = fakeHost("drouting", { timezone: "UTC", ...config });
  const api = createDrouting(host, { now: () => at(2024, 5, 13, 12), random: seededRandom(4) }).api;
  expect(host.tables.load("drouting", tables, "v1", "test")).toEqual({ ok: true });
  return { host, api };
}

describe("drouting script functions", () => {
  it("doRouting rewrites the R-URI for the first gateway; nextRouting walks the rest", () => {
    const { api, host } = setup();
    const req = fakeRequest({ ruri: "sip:04930555@proxy.example;user=phone" });
    expect(api.doRouting(req, 1)).toBe(true);
    expect(req.ruri).toBe("sip:+4930555@10.0.0.1;user=phone");
    expect(req.vars.get(DR_VARS.attrs)).toBe("a=1");
    expect(req.vars.get(DR_VARS.routeId)).toBe("CHECK");
    expect(api.nextRouting(req)).toBe(true);
    expect(req.ruri).toBe("sip:930555@10.0.0.2:5080;user=phone");
    expect(api.useNextGw(req)).toBe(true);
    expect(req.ruri).toBe("sip:04930555@carrier.example;user=phone");
    expect(req.vars.get(DR_VARS.gwid)).toBe(3);
    expect(api.nextRouting(req)).toBe(false);
    expect(host.stats.select("drouting:routed")).toEqual([["drouting:routed", 1]]);
  });

  it("without a group, the caller's group comes from dr_groups (user@domain)", () => {
    const { api } = setup();
    const req = fakeRequest({ ruri: "sip:555@proxy", from: "sip:alice@Example.com" });
    expect(api.doRouting(req)).toBe(true);
    expect(req.ruri).toBe("sip:555@carrier.example");
    expect(api.doRouting(fakeRequest({ ruri: "sip:555@proxy", from: "sip:bob@example.com" }))).toBe(false);
    const noDomain = setup({ use_domain: 0 });
    expect(noDomain.api.doRouting(fakeRequest({ ruri: "sip:555@proxy", from: "sip:alice@elsewhere.net" }))).toBe(true);
  });

  it("the routeid route can veto the routing", () => {
    const { api } = setup();
    const ran: string[] = [];
    expect(api.doRouting(fakeRequest({ ruri: "sip:049@p" }), 1, { runRoute: (name) => (ran.push(name), false) })).toBe(false);
    expect(ran).toEqual(["CHECK"]);
  });

  it("fails when nothing matches, there is no user, or strip would empty the user", () => {
    const { api } = setup();
    expect(api.doRouting(fakeRequest({ ruri: "sip:33@p" }), 1)).toBe(false);
    expect(api.doRouting(fakeRequest({ ruri: "sip:p.example" }), 1)).toBe(false);
    expect(api.doRouting(fakeRequest({ ruri: "sip:0@p" }), 1)).toBe(false);
  });

  it("isFromGw compares source address, port and type; flags applies the strip", () => {
    const { api } = setup();
    const src = (address: string, port: number) => fakeRequest({ ruri: "sip:0049301@proxy;user=phone", source: { proto: "udp", address, port } });
    expect(api.isFromGw(src("10.0.0.1", 5099))).toBe(true);
    expect(api.isFromGw(src("10.0.0.2", 5080), 2)).toBe(true);
    expect(api.isFromGw(src("10.0.0.2", 5060))).toBe(false);
    expect(api.isFromGw(src("10.0.0.2", 5080), 1)).toBe(false);
    expect(api.isFromGw(src("10.0.0.9", 5060))).toBe(false);
    const r = src("10.0.0.2", 5080);
    expect(api.isFromGw(r, 2, 1)).toBe(true);
    expect(r.ruri).toBe("sip:49301@proxy;user=phone");
  });

  it("goesToGw looks at $du first, then the R-URI; names are not resolved", () => {
    const { api } = setup();
    expect(api.goesToGw(fakeRequest({ ruri: "sip:1@10.0.0.2:9999" }))).toBe(true);
    expect(api.goesToGw(fakeRequest({ ruri: "sip:1@10.0.0.2" }), 1)).toBe(false);
    expect(api.goesToGw(fakeRequest({ ruri: "sip:1@10.0.0.2" }), 2)).toBe(true);
    expect(api.goesToGw(fakeRequest({ ruri: "sip:1@carrier.example" }))).toBe(false);
    expect(api.goesToGw(fakeRequest({ ruri: "sip:1@elsewhere", dst: "sip:10.0.0.1:5060" }))).toBe(true);
  });

  it("lookup is a route test without a request", () => {
    const { api } = setup();
    const res = api.lookup(1, "04912");
    expect(res?.rule.ruleId).toBe(1);
    expect(res?.gateways.map((g) => g.gwid)).toEqual([1, 2, 3]);
    expect(api.groupOf("alice", "EXAMPLE.com")).toBe(7);
  });

  it("drouting.reload", async () => {
    const info = { transport: "internal" };
    const none = fakeHost("drouting");
    createDrouting(none);
    await expect(none.rpc.call("drouting.reload", [], info)).rejects.toThrow(/failed to load routing data: .*no reloadable source/);
    const host = fakeHost("drouting");
    const dr = createDrouting(host);
    let next: TableSet = tables;
    setTableSource(host, "drouting", () => next, "file:/etc/olelo/drouting.json");
    expect(await host.rpc.call("drouting.reload", [], info)).toBe("reload ok");
    expect(host.tables.statusOf("drouting")!.version).toBe("file:/etc/olelo/drouting.json-1");
    expect(dr.api.lookup(1, "04912")?.rule.ruleId).toBe(1);
    // a bad recurrence: the error names the row, the old rules stay
    next = { ...tables, dr_rules: [...tables.dr_rules!, { ruleid: 99, groupid: "1", prefix: "5", timerec: "20240101T000000|1H|fortnightly", gwlist: "1" }] };
    await expect(host.rpc.call("drouting.reload", [], info)).rejects.toThrow(/^failed to load routing data: file:\/etc\/olelo\/drouting.json: dr_rules row 99: timerec /);
    expect(host.tables.statusOf("drouting")!.version).toBe("file:/etc/olelo/drouting.json-1");
    expect(dr.api.lookup(1, "04912")?.rule.ruleId).toBe(1);
  });

  it("rejects bad config", () => {
    expect(() => createDrouting(fakeHost("drouting", { sort_order: 3 }))).toThrow(/sort_order/);
    expect(() => createDrouting(fakeHost("drouting", { timezone: "Nowhere/City" }))).toThrow(/unknown time zone/);
  });
});
