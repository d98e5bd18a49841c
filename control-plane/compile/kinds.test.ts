import { describe, expect, it } from "vitest";
import { TableError } from "../../tables/rows.js";
import { TABLES } from "../db/catalog.js";
import { TABLE_KINDS } from "../../tables/kinds.js";
import { KINDS, kindDef, kindOfTable } from "./kinds.js";

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

describe("table kinds", () => {
  it("every kind's tables are managed tables, each in exactly one kind", () => {
    const seen = new Set<string>();
    for (const k of KINDS) {
      for (const t of k.tables) {
        expect(TABLES.has(t), t).toBe(true);
        expect(seen.has(t), t).toBe(false);
        seen.add(t);
      }
    }
    expect(new Set(KINDS.map((k) => k.kind)).size).toBe(KINDS.length);
    // runtime tables written by the data plane are not pushed
    for (const t of ["location", "location_attrs", "acc", "missed_calls", "acc_cdrs", "version"]) expect(kindOfTable(t)).toBeUndefined();
    expect(kindOfTable("lcr_rule_target")!.kind).toBe("lcr");
  });

  it("every descriptor's key column is the catalog's row identity", () => {
    for (const k of TABLE_KINDS) for (const t of k.tables) expect(t.key, t.name).toBe(TABLES.get(t.name)!.pk);
  });

  it("every kind compiles with its data-plane module's function and is named as the module registers it", () => {
    for (const k of KINDS) expect(k.validator, k.kind).toMatch(/^tables\//);
    expect(KINDS.map((k) => k.kind)).toEqual(expect.arrayContaining(["alias_db", "speed_dial", "callfwd"]));
    expect(kindDef("speeddial")).toBeUndefined();
    expect(kindDef("callfwd")!.tables).toEqual(["olelo_callfwd", "olelo_callblock"]);
    expect(kindOfTable("olelo_callblock")!.kind).toBe("callfwd");
  });

  it("dialplan and domain reject rows as their modules do (a bad regex by RE2), naming table and row", () => {
    const dp = { dpid: 1, pr: 1, match_op: 1, match_len: 0, subst_exp: "", repl_exp: "x", attrs: "" };
    expect(kindDef("dialplan")!.tables).toEqual(["dialplan"]);
    expect(failure(() => kindDef("dialplan")!.compile({ dialplan: [{ id: 5, ...dp, match_exp: "^(0" }] }))).toMatchObject({ table: "dialplan", row: 5, reason: expect.stringMatching(/not a valid regular expression/) });
    expect(() => kindDef("dialplan")!.compile({ dialplan: [{ id: 6, ...dp, match_exp: "^0" }] })).not.toThrow();
    expect(kindOfTable("domain_attrs")!.kind).toBe("domain");
    expect(failure(() => kindDef("domain")!.compile({ domain: [{ id: 1, domain: "a.com", did: null }, { id: 2, domain: "A.COM", did: null }], domain_attrs: [] }))).toMatchObject({ table: "domain", row: 2 });
  });

  it("alias_db, speed_dial and callfwd reject rows as their modules do, naming table and row", () => {
    const cf = (rows: Record<string, unknown>[], block: Record<string, unknown>[] = []) => () =>
      kindDef("callfwd")!.compile({ olelo_callfwd: rows as never, olelo_callblock: block as never });
    const fwd = { username: "carol", domain: "", target: "sip:bob@example.com", timeout: 0, enabled: 1, description: "" };
    expect(failure(cf([{ id: 7, ...fwd, cf_type: "often" }]))).toMatchObject({ table: "olelo_callfwd", row: 7, reason: expect.stringMatching(/cf_type/) });
    expect(failure(cf([{ id: 8, ...fwd, cf_type: "busy", target: "bob" }]))).toMatchObject({ table: "olelo_callfwd", row: 8, reason: expect.stringMatching(/target/) });
    expect(failure(cf([], [{ id: 9, username: "bob", domain: "", list_type: "maybe", caller: "x", description: "" }]))).toMatchObject({
      table: "olelo_callblock",
      row: 9,
      reason: expect.stringMatching(/list_type/),
    });
    expect(failure(cf([], [{ id: 10, username: "bob", domain: "", list_type: "deny", caller: "a*b", description: "" }]))).toMatchObject({ table: "olelo_callblock", row: 10 });
    // good rows compile (and a disabled second rule of a type is not a duplicate)
    expect(() => cf([{ id: 1, ...fwd, cf_type: "busy" }, { id: 2, ...fwd, cf_type: "busy", enabled: 0 }], [{ id: 1, username: "bob", domain: "", list_type: "allow", caller: "*", description: "" }])()).not.toThrow();

    expect(failure(() => kindDef("alias_db")!.compile({ dbaliases: [{ id: 3, alias_username: "sales", alias_domain: "", username: "bo b", domain: "" }] }))).toMatchObject({
      table: "dbaliases",
      row: 3,
    });
    // one alias of several users is fine (append_branches), as in the module
    const two = [1, 2].map((id) => ({ id, alias_username: "team", alias_domain: "", username: `u${id}`, domain: "" }));
    expect(() => kindDef("alias_db")!.compile({ dbaliases: two })).not.toThrow();

    expect(failure(() => kindDef("speed_dial")!.compile({ speed_dial: [{ id: 4, username: "alice", domain: "", sd_username: "", sd_domain: "", new_uri: "sip:b@x" }] }))).toMatchObject({
      table: "speed_dial",
      row: 4,
      reason: expect.stringMatching(/sd_username/),
    });
    // a new_uri without a scheme is accepted (the module prefixes sip:, as Kamailio)
    expect(() => kindDef("speed_dial")!.compile({ speed_dial: [{ id: 5, username: "alice", domain: "", sd_username: "12", sd_domain: "", new_uri: "bob@example.com" }] })).not.toThrow();
  });

  it("prefix_route errors name the row by its prefix (the table has no id column)", () => {
    const set = { prefix_route: [{ prefix: "49", route: "DE", comment: "" }, { prefix: "4a", route: "X", comment: "" }] };
    expect(failure(() => kindDef("prefix_route")!.compile(set))).toMatchObject({ table: "prefix_route", row: "4a" });
    const dup = { prefix_route: [{ prefix: "49", route: "DE", comment: "" }, { prefix: "49", route: "AT", comment: "" }] };
    expect(failure(() => kindDef("prefix_route")!.compile(dup))).toMatchObject({ table: "prefix_route", row: "49" });
  });

  it("module compiles reject what the data plane would NACK", () => {
    expect(failure(() => kindDef("subscriber")!.compile({ subscriber: [{ id: 3, username: "a b", domain: "d", password: "p", ha1: "", ha1b: "" }] }))).toMatchObject({
      table: "subscriber",
      row: 3,
    });
    expect(failure(() => kindDef("address")!.compile({ address: [{ id: 4, grp: 1, ip_addr: "10.0.0.1", mask: 33, port: 0, tag: null }] }))).toMatchObject({
      table: "address",
      row: 4,
    });
    expect(failure(() => kindDef("mtree")!.compile({ mtree: [{ id: 5, tprefix: "12x", tvalue: "v" }], mtrees: [] }))).toMatchObject({ table: "mtree", row: 5 });
  });
});
