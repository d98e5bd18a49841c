import { describe, expect, it } from "vitest";
import { callerMatches, compileCallFwd } from "./callfwd-table.js";

describe("callfwd tables", () => {
  const set = {
    olelo_callfwd: [
      { id: 1, username: "bob", domain: "", cf_type: "busy", target: "sip:voicemail@vm.example.com", timeout: 0, enabled: 1 },
      { id: 2, username: "bob", domain: "a.com", cf_type: "busy", target: "sip:alice@a.com", timeout: 0, enabled: 1 },
      { id: 3, username: "bob", domain: "", cf_type: "noanswer", target: "sip:carol@a.com", timeout: 15, enabled: 1 },
      { id: 4, username: "bob", domain: "", cf_type: "unconditional", target: "sip:dan@a.com", timeout: 0, enabled: 0 },
    ],
    olelo_callblock: [
      { id: 1, username: "bob", domain: "", list_type: "deny", caller: "spam@evil.com" },
      { id: 2, username: "bob", domain: "", list_type: "deny", caller: "+1900*" },
      { id: 3, username: "eve", domain: "", list_type: "allow", caller: "sip:boss" },
    ],
  };

  it("finds the domain-specific rule first, then the any-domain one; disabled rows are skipped", () => {
    const t = compileCallFwd(set);
    expect(t.forwarding("Bob", "a.com", "busy")?.target).toBe("sip:alice@a.com");
    expect(t.forwarding("bob", "b.com", "busy")?.target).toBe("sip:voicemail@vm.example.com");
    expect(t.forwarding("bob", "b.com", "noanswer")).toEqual({ type: "noanswer", target: "sip:carol@a.com", timeout: 15 });
    expect(t.forwarding("bob", "b.com", "unconditional")).toBeNull();
  });

  it("matches callers exactly, by user@domain, by prefix and '*'", () => {
    const t = compileCallFwd(set);
    const l = t.lists("bob", "x")!;
    expect(l.deny.some((p) => callerMatches(p, "spam", "spam@evil.com"))).toBe(true);
    expect(l.deny.some((p) => callerMatches(p, "spam", "spam@good.com"))).toBe(false);
    expect(l.deny.some((p) => callerMatches(p, "+19005551", "+19005551@gw"))).toBe(true);
    expect(t.lists("eve", "")!.allow.some((p) => callerMatches(p, "boss", "boss@a.com"))).toBe(true);
    expect(callerMatches({ value: "", prefix: true }, "anyone", "anyone@x")).toBe(true);
  });

  it("names the table and row of bad rows", () => {
    expect(() => compileCallFwd({ olelo_callfwd: [{ id: 7, username: "a", cf_type: "sometimes", target: "sip:x@y" }] })).toThrow(/olelo_callfwd row 7: cf_type/);
    expect(() => compileCallFwd({ olelo_callfwd: [{ id: 8, username: "a", cf_type: "busy", target: "mailto:x@y" }] })).toThrow(/row 8: target/);
    expect(() =>
      compileCallFwd({
        olelo_callfwd: [
          { id: 1, username: "a", cf_type: "busy", target: "sip:x@y" },
          { id: 2, username: "a", cf_type: "busy", target: "sip:z@y" },
        ],
      }),
    ).toThrow(/row 2: a second busy/);
    expect(() => compileCallFwd({ olelo_callblock: [{ id: 5, username: "a", list_type: "maybe", caller: "x" }] })).toThrow(/olelo_callblock row 5: list_type/);
    expect(() => compileCallFwd({ olelo_callblock: [{ id: 6, username: "a", list_type: "deny", caller: "a*b" }] })).toThrow(/row 6/);
  });
});
