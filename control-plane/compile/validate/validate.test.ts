import { describe, expect, it } from "vitest";
import { TableError, type TableSet } from "../../../data-plane/core/tables/registry.js";
import { validateCarrierroute } from "./carrierroute.js";
import { validateDrouting } from "./drouting.js";
import { validateAliasDb, validateSpeedDial } from "./routing-misc.js";

/** Runs `fn` and returns the TableError it throws as {table,row,reason}. */
function failure(fn: () => unknown): { table: string; row: string | number | null; reason: string } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TableError);
    const t = e as TableError;
    return { table: t.table, row: t.row, reason: t.reason };
  }
  throw new Error("expected a TableError");
}

describe("drouting validator", () => {
  const dr = (): TableSet => ({
    dr_gateways: [{ gwid: 1, type: 0, address: "10.0.0.1", strip: 0 }, { gwid: 2, type: 0, address: "gw2:5060", strip: 1 }],
    dr_gw_lists: [{ id: 5, gwlist: "1,2" }],
    dr_rules: [
      { ruleid: 1, groupid: "1,2", prefix: "+49", timerec: "20040101T083000|10H|weekly|||MO,TU,WE,TH,FR", priority: 1, routeid: "", gwlist: "1;2" },
      { ruleid: 2, groupid: "1", prefix: "", timerec: "", priority: 0, routeid: "", gwlist: "#5|2" },
    ],
    dr_groups: [{ id: 1, username: "alice", domain: "", groupid: 1 }],
  });
  it("accepts gwlist with , | ; and #list references", () => {
    expect(validateDrouting(dr())).toEqual({ gateways: 2, rules: 2 });
  });
  it("rejects unknown gateways and lists, bad prefixes and timerecs", () => {
    const a = dr();
    a.dr_rules![1]!.gwlist = "#6";
    expect(failure(() => validateDrouting(a))).toEqual({ table: "dr_rules", row: 2, reason: "gwlist item '#6' is not a dr_gw_lists id" });
    const b = dr();
    b.dr_gw_lists![0]!.gwlist = "1,#5";
    expect(failure(() => validateDrouting(b))).toMatchObject({ table: "dr_gw_lists", row: 5 });
    const c = dr();
    c.dr_rules![0]!.prefix = "49a";
    expect(failure(() => validateDrouting(c))).toMatchObject({ table: "dr_rules", row: 1, reason: expect.stringContaining("prefix") });
    const e = dr();
    e.dr_rules![0]!.timerec = "2004|10H|weekly";
    expect(failure(() => validateDrouting(e))).toMatchObject({ row: 1, reason: expect.stringContaining("dtstart") });
    const f = dr();
    f.dr_rules![0]!.groupid = "one";
    expect(failure(() => validateDrouting(f))).toMatchObject({ row: 1, reason: expect.stringContaining("groupid") });
  });
});

describe("carrierroute validator", () => {
  const cr = (): TableSet => ({
    carrier_name: [{ id: 1, carrier: "default" }],
    domain_name: [{ id: 1, domain: "proxy" }, { id: 2, domain: "fallback" }],
    carrierroute: [{ id: 1, carrier: 1, domain: 1, scan_prefix: "49", flags: 0, mask: 0, prob: 0.5, strip: 0, rewrite_host: "gw1" }],
    carrierfailureroute: [{ id: 1, carrier: 1, domain: 1, scan_prefix: "49", host_name: "gw1", reply_code: "5..", flags: 0, mask: 0, next_domain: 2 }],
  });
  it("accepts references to carrier_name/domain_name", () => {
    expect(validateCarrierroute(cr())).toEqual({ routes: 1, failureRoutes: 1 });
  });
  it("rejects bad references, prob and reply codes", () => {
    const a = cr();
    a.carrierroute![0]!.domain = 9;
    expect(failure(() => validateCarrierroute(a))).toEqual({ table: "carrierroute", row: 1, reason: "domain 9 is not in domain_name" });
    const b = cr();
    b.carrierroute![0]!.prob = 1.5;
    expect(failure(() => validateCarrierroute(b))).toMatchObject({ reason: "prob 1.5 is outside 0..1" });
    const c = cr();
    c.carrierfailureroute![0]!.reply_code = "5x";
    expect(failure(() => validateCarrierroute(c))).toMatchObject({ table: "carrierfailureroute", reason: expect.stringContaining("reply_code") });
    const e = cr();
    e.carrier_name!.push({ id: 2, carrier: "DEFAULT" });
    expect(failure(() => validateCarrierroute(e))).toMatchObject({ table: "carrier_name", row: 2, reason: "carrier name already used by row 1" });
  });
});

describe("small kinds", () => {
  it("dbaliases, speed_dial", () => {
    expect(
      failure(() =>
        validateAliasDb({
          dbaliases: [
            { id: 1, alias_username: "100", alias_domain: "a", username: "u", domain: "a" },
            { id: 2, alias_username: "100", alias_domain: "A", username: "v", domain: "a" },
          ],
        }),
      ),
    ).toMatchObject({ table: "dbaliases", row: 2 });
    expect(failure(() => validateSpeedDial({ speed_dial: [{ id: 1, username: "u", sd_username: "11", new_uri: "bob" }] }))).toMatchObject({ row: 1 });
  });
});
