import { describe, expect, it } from "vitest";
import { StreamTablesResponseSchema } from "../gen/olelo/control/v1/control_pb.js";
import { TABLE_KINDS, tableKind, tableNamesOf } from "./kinds.js";
import { kindPlan } from "./wire/table-kinds.js";

describe("table kind descriptors", () => {
  it("every descriptor kind has its proto message and vice versa, with the same tables", () => {
    const oneof = StreamTablesResponseSchema.oneofs.find((o) => o.name === "tables")!;
    expect(TABLE_KINDS.map((k) => k.kind).sort()).toEqual(oneof.fields.map((f) => f.name).sort());
    for (const k of TABLE_KINDS) {
      const plan = kindPlan(k.kind)!;
      expect(k.tables.map((t) => t.name).sort(), k.kind).toEqual(plan.tables.map((t) => t.name).sort());
    }
  });

  it("names each table once and looks kinds up by name", () => {
    const all = TABLE_KINDS.flatMap((k) => k.tables.map((t) => t.name));
    expect(new Set(all).size).toBe(all.length);
    expect(tableKind("lcr")!.tables.map((t) => t.name)).toEqual(["lcr_gw", "lcr_rule", "lcr_rule_target"]);
    expect(tableNamesOf("prefix_route")).toEqual(["prefix_route"]);
    expect(tableKind("prefix_route")!.tables[0]!.key).toBe("prefix");
    expect(tableKind("speeddial")).toBeUndefined();
    expect(() => tableNamesOf("nope")).toThrow(/unknown table kind/);
  });
});
