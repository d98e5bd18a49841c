import { describe, expect, it } from "vitest";
import { TableError, type TableRow, type TableSet } from "../rows.js";
import { compileLcrTables } from "./table.js";

const gw = (id: number, over: TableRow = {}): TableRow => ({ id, lcr_id: 1, gw_name: `gw${id}`, ip_addr: `10.0.0.${id}`, port: 5060, ...over });
const rule = (id: number, prefix: string, over: TableRow = {}): TableRow => ({ id, lcr_id: 1, prefix, from_uri: null, request_uri: null, stopper: 0, enabled: 1, ...over });
const target = (id: number, ruleId: number, gwId: number, over: TableRow = {}): TableRow => ({ id, lcr_id: 1, rule_id: ruleId, gw_id: gwId, priority: 0, weight: 1, ...over });

function rejects(set: TableSet, opts = {}): TableError {
  try {
    compileLcrTables(set, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(TableError);
    return e as TableError;
  }
  throw new Error("expected a TableError");
}

describe("compileLcrTables: accepted rows", () => {
  it("coerces CSV strings and MySQL numbers alike", () => {
    const c = compileLcrTables({
      lcr_gw: [{ id: "1", lcr_id: "1", ip_addr: "10.0.0.1", port: "5060", uri_scheme: "1", transport: "2", strip: "1", prefix: "9", flags: "7", defunct: "" }],
      lcr_rule: [{ id: "5", lcr_id: "1", prefix: "49", stopper: "0", enabled: "1" }],
      lcr_rule_target: [{ id: "1", lcr_id: "1", rule_id: "5", gw_id: "1", priority: "3", weight: "2" }],
    });
    const inst = c.instances.get(1)!;
    expect(inst.gws[0]).toMatchObject({ gwId: 1, port: 5060, transportCode: 2, transport: ";transport=tcp", strip: 1, prefix: "9", flags: 7, uri: "sip:10.0.0.1:5060;transport=tcp" });
    expect(inst.rules.get("49")![0]!.targets[0]).toMatchObject({ priority: 3, weight: 2, gwIndex: 1 });
  });

  it("gateways with lcr_id 0 belong to every instance; gw_index follows the address order", () => {
    const c = compileLcrTables({
      lcr_gw: [gw(1, { lcr_id: 0, ip_addr: "10.0.0.9" }), gw(2, { lcr_id: 2, ip_addr: "10.0.0.10" }), gw(3, { lcr_id: 2, ip_addr: "10.0.0.2" })],
      lcr_rule: [rule(1, "1", { lcr_id: 2 })],
      lcr_rule_target: [target(1, 1, 1, { lcr_id: 2 })],
    });
    expect(c.lcrCount).toBe(2);
    expect(c.instances.get(1)!.gws.map((g) => g.gwId)).toEqual([1]);
    // numeric address order: 10.0.0.2 < 10.0.0.9 < 10.0.0.10
    expect(c.instances.get(2)!.gws.map((g) => g.gwId)).toEqual([3, 1, 2]);
    expect(c.instances.get(2)!.rules.get("1")![0]!.targets[0]!.gwIndex).toBe(2);
  });

  it("skips disabled rules and gateways that are not loaded, with their targets", () => {
    const c = compileLcrTables({
      lcr_gw: [gw(1), gw(2, { defunct: 4294967295 })],
      lcr_rule: [rule(1, "1"), rule(2, "2", { enabled: 0 })],
      lcr_rule_target: [target(1, 1, 1), target(2, 1, 2), target(3, 2, 1)],
    });
    expect(c.gwCount).toBe(1);
    expect(c.ruleCount).toBe(1);
    expect(c.targetCount).toBe(1);
    expect(c.instances.get(1)!.rules.get("2")).toBeUndefined();
  });

  it("keeps IPv6 gateways and hostname-only gateways", () => {
    const c = compileLcrTables({
      lcr_gw: [gw(1, { ip_addr: "[2001:DB8::1]", port: null }), gw(2, { ip_addr: null, hostname: "gw.example.com", uri_scheme: 2, transport: 3 })],
    });
    const [a, b] = c.instances.get(1)!.gws.slice().sort((x, y) => x.gwId - y.gwId);
    expect(a).toMatchObject({ ipAddr: "2001:DB8::1", ipv6: true, uri: "sip:[2001:DB8::1]" });
    expect(b).toMatchObject({ hostname: "gw.example.com", scheme: "sips:", uri: "sips:gw.example.com:5060;transport=tls" });
    expect(c.instances.get(1)!.hasGwWithoutIp).toBe(true);
  });

  it("groups rules that share a prefix (different from_uri)", () => {
    const c = compileLcrTables({
      lcr_gw: [gw(1)],
      lcr_rule: [rule(1, "49", { from_uri: "^sip:a@" }), rule(2, "49", { from_uri: "^sip:b@" })],
    });
    expect(c.instances.get(1)!.rules.get("49")!.map((r) => r.ruleId)).toEqual([1, 2]);
    expect(c.instances.get(1)!.prefixLens).toEqual([2]);
  });
});

describe("compileLcrTables: rejected rows name table and row", () => {
  const cases: Array<[string, TableSet, string, string | number, RegExp]> = [
    ["bad ip", { lcr_gw: [gw(4, { ip_addr: "10.0.0.300" })] }, "lcr_gw", 4, /not an IPv4 or IPv6/],
    ["no ip, no hostname", { lcr_gw: [gw(4, { ip_addr: null, hostname: "" })] }, "lcr_gw", 4, /both NULL/],
    ["port range", { lcr_gw: [gw(4, { port: 70000 })] }, "lcr_gw", 4, /port 70000 is above 65535/],
    ["uri_scheme", { lcr_gw: [gw(4, { uri_scheme: 3 })] }, "lcr_gw", 4, /uri_scheme 3/],
    ["transport", { lcr_gw: [gw(4, { transport: 5 })] }, "lcr_gw", 4, /transport 5/],
    ["sips+udp", { lcr_gw: [gw(4, { uri_scheme: 2, transport: 1 })] }, "lcr_gw", 4, /udp is not allowed with the sips/],
    ["params", { lcr_gw: [gw(4, { params: "user=phone" })] }, "lcr_gw", 4, /does not start with ';'/],
    ["strip", { lcr_gw: [gw(4, { strip: 65 })] }, "lcr_gw", 4, /strip 65 is above 64/],
    ["gw prefix char", { lcr_gw: [gw(4, { prefix: "0 0" })] }, "lcr_gw", 4, /invalid character ' '/],
    ["dup gw", { lcr_gw: [gw(4), gw(4, { ip_addr: "10.0.0.5" })] }, "lcr_gw", 4, /duplicate id/],
    ["port not int", { lcr_gw: [gw(4, { port: "50x" })] }, "lcr_gw", 4, /port '50x' is not an integer/],
    ["rule prefix char", { lcr_rule: [rule(7, "49@")] }, "lcr_rule", 7, /invalid character '@'/],
    ["rule prefix len", { lcr_rule: [rule(7, "1".repeat(17))] }, "lcr_rule", 7, /longer than 16/],
    ["bad from_uri", { lcr_rule: [rule(7, "1", { from_uri: "(abc" })] }, "lcr_rule", 7, /from_uri '\(abc' is not a usable PCRE/],
    ["possessive", { lcr_rule: [rule(7, "1", { request_uri: "a++" })] }, "lcr_rule", 7, /request_uri .*possessive/],
    ["stopper", { lcr_rule: [rule(7, "1", { stopper: 2 })] }, "lcr_rule", 7, /stopper 2 is above 1/],
    ["enabled", { lcr_rule: [rule(7, "1", { enabled: -1 })] }, "lcr_rule", 7, /enabled -1 is below 0/],
    ["rule lcr_id 0", { lcr_rule: [rule(7, "1", { lcr_id: 0 })] }, "lcr_rule", 7, /lcr_id 0 is below 1/],
    ["dup rule key", { lcr_rule: [rule(7, "1", { from_uri: "x" }), rule(8, "1", { from_uri: "x" })] }, "lcr_rule", 8, /duplicate \(lcr_id, prefix, from_uri\).*also rule 7/],
    ["dup rule id", { lcr_rule: [rule(7, "1"), rule(7, "2")] }, "lcr_rule", 7, /duplicate id/],
    ["unknown gw", { lcr_gw: [gw(1)], lcr_rule: [rule(1, "1")], lcr_rule_target: [target(9, 1, 2)] }, "lcr_rule_target", 9, /gw_id 2 is not in lcr_gw/],
    ["unknown rule", { lcr_gw: [gw(1)], lcr_rule: [rule(1, "1")], lcr_rule_target: [target(9, 3, 1)] }, "lcr_rule_target", 9, /rule_id 3 is not in lcr_rule/],
    [
      "gw of other instance",
      { lcr_gw: [gw(1, { lcr_id: 2 })], lcr_rule: [rule(1, "1")], lcr_rule_target: [target(9, 1, 1)] },
      "lcr_rule_target",
      9,
      /belongs to lcr_id 2/,
    ],
    [
      "lcr_id mismatch",
      { lcr_gw: [gw(1, { lcr_id: 0 })], lcr_rule: [rule(1, "1")], lcr_rule_target: [target(9, 1, 1, { lcr_id: 2 })] },
      "lcr_rule_target",
      9,
      /differs from the lcr_id 1 of rule 1/,
    ],
    ["priority", { lcr_gw: [gw(1)], lcr_rule: [rule(1, "1")], lcr_rule_target: [target(9, 1, 1, { priority: 256 })] }, "lcr_rule_target", 9, /priority 256 is above 255/],
    ["weight 0", { lcr_gw: [gw(1)], lcr_rule: [rule(1, "1")], lcr_rule_target: [target(9, 1, 1, { weight: 0 })] }, "lcr_rule_target", 9, /weight 0 is below 1/],
    ["weight 255", { lcr_gw: [gw(1)], lcr_rule: [rule(1, "1")], lcr_rule_target: [target(9, 1, 1, { weight: 255 })] }, "lcr_rule_target", 9, /weight 255 is above 254/],
    ["priority missing", { lcr_gw: [gw(1)], lcr_rule: [rule(1, "1")], lcr_rule_target: [target(9, 1, 1, { priority: null })] }, "lcr_rule_target", 9, /priority must not be NULL/],
    [
      "dup target",
      { lcr_gw: [gw(1)], lcr_rule: [rule(1, "1")], lcr_rule_target: [target(8, 1, 1), target(9, 1, 1)] },
      "lcr_rule_target",
      9,
      /duplicate \(rule_id, gw_id\)/,
    ],
  ];
  for (const [name, set, table, row, msg] of cases) {
    it(name, () => {
      const e = rejects(set);
      expect(e.table).toBe(table);
      expect(e.row).toBe(row);
      expect(e.message).toMatch(msg);
    });
  }

  it("lcr_count rejects higher instances", () => {
    const e = rejects({ lcr_rule: [rule(3, "1", { lcr_id: 3 })] }, { lcrCount: 2 });
    expect(e.row).toBe(3);
    expect(e.message).toMatch(/above lcr_count 2/);
  });

  it("a row without id is named by position", () => {
    const e = rejects({ lcr_gw: [gw(1), { lcr_id: 1, ip_addr: "10.0.0.1" }] });
    expect(e.row).toBe("#2");
  });
});
