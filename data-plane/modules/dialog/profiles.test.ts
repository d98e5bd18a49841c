import { describe, expect, it } from "vitest";
import { ProfileTable } from "./profiles.js";
import type { Dialog } from "./dialog.js";

const dlg = (): Dialog => ({ profiles: [] }) as unknown as Dialog;

describe("ProfileTable", () => {
  it("counts members per value and in total, once per profile/value", () => {
    const p = new ProfileTable(["trunk"], ["inbound"]);
    const a = dlg();
    const b = dlg();
    p.set(a, "trunk", "gw1");
    p.set(a, "trunk", "gw1");
    p.set(b, "trunk", "gw1");
    p.set(b, "trunk", "gw2");
    p.set(a, "inbound");
    expect(p.size("trunk", "gw1")).toBe(2);
    expect(p.size("trunk", "gw2")).toBe(1);
    expect(p.size("trunk", "gw3")).toBe(0);
    expect(p.size("trunk")).toBe(3);
    expect(p.size("inbound")).toBe(1);
    expect(p.size("inbound", "ignored")).toBe(1);
    expect(p.isIn(a, "trunk")).toBe(true);
    expect(p.isIn(a, "trunk", "gw2")).toBe(false);
    expect(p.members("trunk", "gw1")).toEqual([a, b]);
    expect(p.members("trunk")).toHaveLength(3);
  });

  it("unset and unlinkAll release memberships", () => {
    const p = new ProfileTable(["trunk"], ["inbound"]);
    const a = dlg();
    p.set(a, "trunk", "gw1");
    p.set(a, "inbound");
    expect(p.unset(a, "trunk", "gw2")).toBe(false);
    expect(p.unset(a, "trunk", "gw1")).toBe(true);
    expect(p.size("trunk")).toBe(0);
    p.set(a, "trunk", "gw1");
    p.unlinkAll(a);
    expect(p.size("trunk")).toBe(0);
    expect(p.size("inbound")).toBe(0);
    expect(a.profiles).toEqual([]);
  });

  it("throws for undeclared profiles and missing values", () => {
    const p = new ProfileTable(["trunk"], []);
    expect(() => p.size("nosuch")).toThrow(/unknown profile 'nosuch'/);
    expect(() => p.set(dlg(), "trunk")).toThrow(/needs a value/);
  });
});
