import { describe, expect, it } from "vitest";
import { TableError, type TableRow, type TableSet } from "../rows.js";
import { compileDroutingTables } from "./table.js";

const gw = (gwid: number, over: TableRow = {}): TableRow => ({ gwid, type: 1, address: `10.0.0.${gwid}:5060`, strip: 0, pri_prefix: "", attrs: "", ...over });
const rule = (ruleid: number, over: TableRow = {}): TableRow => ({ ruleid, groupid: "1", prefix: "49", timerec: "", priority: 0, routeid: "", gwlist: "1", ...over });

function rejects(set: TableSet): TableError {
  try {
    compileDroutingTables(set);
  } catch (e) {
    expect(e).toBeInstanceOf(TableError);
    return e as TableError;
  }
  throw new Error("expected a TableError");
}

describe("compileDroutingTables", () => {
  it("resolves gwlists with serial groups and #list references", () => {
    const c = compileDroutingTables({
      dr_gateways: [gw(1), gw(2), gw(3), gw(4, { address: "sip:gw4.example.com" })],
      dr_gw_lists: [{ id: 7, gwlist: "3|4" }],
      dr_rules: [rule(1, { gwlist: "1,2;3 ; 4" }), rule(2, { prefix: "33", gwlist: "#7" })],
    });
    const g = c.groups.get(1)!;
    expect(g.tree.get("49")![0]!.gwGroups.map((x) => x.map((y) => y.gwid))).toEqual([[1, 2], [3], [4]]);
    expect(g.tree.get("33")![0]!.gwGroups.map((x) => x.map((y) => y.gwid))).toEqual([[3, 4]]);
    expect(c.gateways.get(4)).toMatchObject({ address: "gw4.example.com", ipCanon: null, port: 0 });
    expect(c.gateways.get(1)).toMatchObject({ address: "10.0.0.1:5060", ipCanon: "10.0.0.1", port: 5060 });
  });

  it("puts a rule into every group it lists and orders each prefix by priority (highest first, table order among equals)", () => {
    const c = compileDroutingTables({
      dr_gateways: [gw(1)],
      dr_rules: [rule(1, { groupid: "1,2", priority: 1 }), rule(2, { priority: 5 }), rule(3, { priority: 1 }), rule(4, { prefix: "", groupid: "2" })],
    });
    expect(c.groups.get(1)!.tree.get("49")!.map((r) => r.ruleId)).toEqual([2, 1, 3]);
    expect(c.groups.get(2)!.tree.get("49")!.map((r) => r.ruleId)).toEqual([1]);
    expect(c.groups.get(2)!.noPrefix.map((r) => r.ruleId)).toEqual([4]);
  });

  it("maps callers to groups with and without the domain", () => {
    const c = compileDroutingTables({
      dr_groups: [
        { id: 1, username: "alice", domain: "Example.COM", groupid: 3 },
        { id: 2, username: "alice", domain: "other.net", groupid: 4 },
      ],
    });
    expect(c.userDomainGroups.get("alice@example.com")).toBe(3);
    expect(c.userGroups.get("alice")).toBe(3);
  });

  it("accepts strings from CSV for numbers and '0' as no route", () => {
    const c = compileDroutingTables({ dr_gateways: [gw(1, { gwid: "1", strip: "2", type: "3" })], dr_rules: [rule(1, { ruleid: "1", priority: "-2", routeid: "0" })] });
    const r = c.groups.get(1)!.tree.get("49")![0]!;
    expect(r).toMatchObject({ priority: -2, routeId: null });
    expect(c.gateways.get(1)).toMatchObject({ strip: 2, type: 3 });
  });

  const cases: Array<[string, TableSet, string, string | number, RegExp]> = [
    ["dup gwid", { dr_gateways: [gw(1), gw(1)] }, "dr_gateways", 1, /duplicate gwid/],
    ["bad address", { dr_gateways: [gw(2, { address: "sip:user@host" })] }, "dr_gateways", 2, /not host\[:port\]/],
    ["bad port", { dr_gateways: [gw(2, { address: "10.0.0.1:99999" })] }, "dr_gateways", 2, /bad port/],
    ["empty address", { dr_gateways: [gw(2, { address: "" })] }, "dr_gateways", 2, /address must not be empty/],
    ["negative strip", { dr_gateways: [gw(2, { strip: -1 })] }, "dr_gateways", 2, /strip -1 is below 0/],
    ["pri_prefix", { dr_gateways: [gw(2, { pri_prefix: "0@" })] }, "dr_gateways", 2, /pri_prefix/],
    ["prefix char", { dr_gateways: [gw(1)], dr_rules: [rule(5, { prefix: "49a" })] }, "dr_rules", 5, /invalid character 'a'/],
    ["timerec", { dr_gateways: [gw(1)], dr_rules: [rule(5, { timerec: "20240101T000000|1H|hourly" })] }, "dr_rules", 5, /timerec freq: 'hourly'/],
    ["groupid", { dr_gateways: [gw(1)], dr_rules: [rule(5, { groupid: "1,x" })] }, "dr_rules", 5, /groupid '1,x'/],
    ["unknown gw", { dr_gateways: [gw(1)], dr_rules: [rule(5, { gwlist: "1,9" })] }, "dr_rules", 5, /gateway 9 is not in dr_gateways/],
    ["unknown list", { dr_gateways: [gw(1)], dr_rules: [rule(5, { gwlist: "#3" })] }, "dr_rules", 5, /refers to no dr_gw_lists row/],
    ["bad gwlist token", { dr_gateways: [gw(1)], dr_rules: [rule(5, { gwlist: "1,,2" })] }, "dr_rules", 5, /empty entry/],
    ["gwlist words", { dr_gateways: [gw(1)], dr_rules: [rule(5, { gwlist: "gw1" })] }, "dr_rules", 5, /'gw1' is not a gateway id/],
    ["empty gwlist", { dr_gateways: [gw(1)], dr_rules: [rule(5, { gwlist: "" })] }, "dr_rules", 5, /gwlist must not be empty/],
    ["list with unknown gw", { dr_gateways: [gw(1)], dr_gw_lists: [{ id: 3, gwlist: "1;8" }] }, "dr_gw_lists", 3, /gateway 8/],
    ["too many gws", { dr_gateways: [gw(1)], dr_rules: [rule(5, { gwlist: Array(33).fill("1").join(",") })] }, "dr_rules", 5, /33 gateways, at most 32/],
    ["dup ruleid", { dr_gateways: [gw(1)], dr_rules: [rule(5), rule(5)] }, "dr_rules", 5, /duplicate ruleid/],
    ["dup group member", { dr_groups: [{ id: 1, username: "a", domain: "x", groupid: 1 }, { id: 2, username: "a", domain: "X", groupid: 2 }] }, "dr_groups", 2, /duplicate \(username, domain\)/],
    ["group id", { dr_groups: [{ id: 1, username: "a", domain: "x", groupid: "one" }] }, "dr_groups", 1, /groupid 'one' is not an integer/],
  ];
  for (const [name, set, table, row, msg] of cases) {
    it(`rejects: ${name}`, () => {
      const e = rejects(set);
      expect(e.table).toBe(table);
      expect(e.row).toBe(row);
      expect(e.message).toMatch(msg);
    });
  }
});
