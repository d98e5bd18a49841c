import { describe, expect, it } from "vitest";
import { ConfigError, parseControlPlaneConfig } from "../config.js";
import { kindDef } from "./kinds.js";
import { MAX_REFUSED_ROWS, compileIsolated, parseRowPolicies, withDeletionsAndDisables } from "./row-isolation.js";
import { toCompileError } from "./source.js";

const sub = kindDef("subscriber")!;
const lcr = kindDef("lcr")!;
const pr = kindDef("prefix_route")!;
const isolate = (def: typeof sub, set: Record<string, Array<Record<string, unknown>>>, policy: "skip" | "hold" = "skip") =>
  compileIsolated(def, set, policy, (e) => toCompileError(def, e));

describe("compileIsolated", () => {
  it("skip: drops each bad row with its key and reason, keeps the others, leaves the input alone", () => {
    const rows = [
      { id: 1, username: "alice", domain: "d", password: "a" },
      { id: 2, username: "", domain: "d", password: "x" },
      { id: 3, username: "bob", domain: "d", password: "b" },
      { id: 4, username: "carol", domain: "d", password: "", ha1: "", ha1b: "" },
    ];
    const r = isolate(sub, { subscriber: rows });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.set.subscriber!.map((x) => x.id)).toEqual([1, 3]);
    expect(r.refused).toEqual([
      { kind: "subscriber", table: "subscriber", key: "2", row: 2, reason: "username is empty" },
      { kind: "subscriber", table: "subscriber", key: "4", row: 4, reason: "subscriber carol@d has neither password nor ha1" },
    ]);
    expect(rows).toHaveLength(4);
  });

  it("skip: a row that fails only through a refused row is refused in turn; keys other than id (prefix_route)", () => {
    const r = isolate(lcr, {
      lcr_gw: [{ id: 1, lcr_id: 1, gw_name: "a", ip_addr: "10.0.0.999" }, { id: 2, lcr_id: 1, gw_name: "b", ip_addr: "10.0.0.2" }],
      lcr_rule: [{ id: 1, lcr_id: 1, prefix: "49" }],
      lcr_rule_target: [{ id: 1, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 1 }, { id: 2, lcr_id: 1, rule_id: 1, gw_id: 2, priority: 1 }],
    });
    expect(r.ok && r.refused.map((x) => `${x.table} ${x.key}`)).toEqual(["lcr_gw 1", "lcr_rule_target 1"]);
    expect(r.ok && r.set.lcr_rule_target!.map((x) => x.id)).toEqual([2]);
    const p = isolate(pr, { prefix_route: [{ prefix: "49", route: "A" }, { prefix: "4x", route: "B" }] });
    expect(p.ok && p.refused.map((x) => x.key)).toEqual(["4x"]);
    expect(p.ok && p.set.prefix_route).toEqual([{ prefix: "49", route: "A" }]);
  });

  it("hold: fails at the first bad row; too many bad rows or an error naming no row hold under skip too", () => {
    const h = isolate(sub, { subscriber: [{ id: 1, username: "", password: "x" }, { id: 2, username: "a", password: "y" }] }, "hold");
    expect(h).toMatchObject({ ok: false, error: { table: "subscriber", row: 1, reason: "username is empty" }, refused: [{ key: "1" }] });
    const many = Array.from({ length: MAX_REFUSED_ROWS + 5 }, (_, i) => ({ id: i + 1, username: "", password: "x" }));
    const m = isolate(sub, { subscriber: many });
    expect(m).toMatchObject({ ok: false, error: { row: null, reason: expect.stringMatching(new RegExp(`^more than ${MAX_REFUSED_ROWS} bad rows`)) } });
    expect(isolate(sub, {})).toMatchObject({ ok: false, error: { table: "subscriber", row: null, reason: expect.stringContaining("table missing") } });
  });

  it("withDeletionsAndDisables: the held set without the rows deleted from the database since", () => {
    const good = { subscriber: [{ id: 1, username: "a", password: "x" }, { id: 2, username: "b", password: "y" }] };
    expect(withDeletionsAndDisables(sub, good, { subscriber: [{ id: 2, username: "b2", password: "y" }, { id: 9, username: "" }] })).toEqual({ subscriber: [good.subscriber[1]] });
    expect(withDeletionsAndDisables(sub, good, good)).toBeNull();
  });

  it("withDeletionsAndDisables: a disable (dispatcher flags inactive/disabled, lcr_rule enabled=0) is taken; other changes are not", () => {
    const ds = kindDef("dispatcher")!;
    const good = { dispatcher: [{ id: 1, setid: 1, destination: "sip:a", flags: 0 }, { id: 2, setid: 1, destination: "sip:b", flags: 8 }] };
    const db = { dispatcher: [{ id: 1, setid: 1, destination: "sip:a", flags: 4 }, { id: 2, setid: 1, destination: "sip:c", flags: 9 }, { id: 3, setid: 1, destination: "sip:bad host" }] };
    expect(withDeletionsAndDisables(ds, good, db)).toEqual({ dispatcher: [{ ...good.dispatcher[0], flags: 4 }, good.dispatcher[1]] });
    // re-enabling is not a disable
    expect(withDeletionsAndDisables(ds, { dispatcher: [{ id: 1, flags: 1 }] }, { dispatcher: [{ id: 1, flags: 0 }] })).toBeNull();
    const rule = { lcr_gw: [], lcr_rule: [{ id: 1, lcr_id: 1, prefix: "49", enabled: 1 }], lcr_rule_target: [] };
    expect(withDeletionsAndDisables(lcr, rule, { ...rule, lcr_rule: [{ ...rule.lcr_rule[0], enabled: 0 }] })!.lcr_rule).toEqual([{ ...rule.lcr_rule[0], enabled: 0 }]);
  });
});

describe("row policy settings", () => {
  it("parses KIND=skip|hold lists and names what is wrong", () => {
    expect(parseRowPolicies("dispatcher=hold, lcr=skip", ["dispatcher", "lcr"])).toEqual({ dispatcher: "hold", lcr: "skip" });
    expect(() => parseRowPolicies("dispatcher", ["dispatcher"])).toThrow("'dispatcher' is not KIND=skip|hold");
    expect(() => parseRowPolicies("nope=hold", ["dispatcher"])).toThrow("unknown kind 'nope'");
    expect(() => parseRowPolicies("dispatcher=maybe", ["dispatcher"])).toThrow("policy 'maybe' for dispatcher is not skip or hold");
  });

  it("--row-policy and OLELO_CP_ROW_POLICY (flags add to the environment's list)", () => {
    expect(parseControlPlaneConfig(["--push-insecure-loopback"], {}).rowPolicy).toEqual({});
    expect(parseControlPlaneConfig(["--push-insecure-loopback", "--row-policy", "lcr=hold"], { OLELO_CP_ROW_POLICY: "dispatcher=hold" }).rowPolicy).toEqual({ dispatcher: "hold", lcr: "hold" });
    expect(() => parseControlPlaneConfig(["--row-policy=dispatcher=sometimes"], {})).toThrow(ConfigError);
    expect(() => parseControlPlaneConfig([], { OLELO_CP_ROW_POLICY: "x=hold" })).toThrow(/^OLELO_CP_ROW_POLICY: unknown kind 'x'/);
  });
});
