import { describe, expect, it } from "vitest";
import { TableError } from "../../data-plane/core/tables/registry.js";
import { TABLES } from "../db/catalog.js";
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

  it("uses the data-plane modules' compile functions where they exist", () => {
    for (const k of ["dispatcher", "lcr", "drouting", "carrierroute", "address", "trusted", "htable", "subscriber", "mtree", "prefix_route"]) {
      expect(kindDef(k)!.validator, k).toMatch(/^data-plane\/modules\//);
    }
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
