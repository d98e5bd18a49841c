import { describe, expect, it } from "vitest";
import { compileStirAttest } from "./attest-table.js";

const row = (id: number, match_type: string, match_value: string, attest = "A", extra: Record<string, unknown> = {}) => ({ id, match_type, match_value, attest, origid: "", credential: "", description: "", ...extra });

describe("olelo_stir_attest", () => {
  it("looks up account (user@domain, then user), then trunk, then the longest source prefix", () => {
    const t = compileStirAttest({
      olelo_stir_attest: [
        row(1, "account", "alice@a.example", "A", { origid: "123E4567-E89B-12D3-A456-426655440000" }),
        row(2, "account", "alice", "B"),
        row(3, "trunk", "PBX-1", "B", { credential: "east" }),
        row(4, "source", "10.0.0.0/8", "C"),
        row(5, "source", "10.1.0.0/16", "B"),
        row(6, "source", "2001:db8::/32", "C"),
      ],
    });
    expect(t.rows).toBe(6);
    expect(t.lookup({ user: "Alice", domain: "A.example" })).toMatchObject({ id: 1, attest: "A", origid: "123e4567-e89b-12d3-a456-426655440000" });
    expect(t.lookup({ user: "alice", domain: "b.example" })).toMatchObject({ id: 2, attest: "B" });
    expect(t.lookup({ user: "bob", trunk: "pbx-1", source: "10.1.2.3" })).toMatchObject({ id: 3, credential: "east" });
    expect(t.lookup({ user: "bob", source: "10.1.2.3" })?.id).toBe(5);
    expect(t.lookup({ source: "10.9.2.3" })?.id).toBe(4);
    expect(t.lookup({ source: "2001:db8::7" })?.id).toBe(6);
    expect(t.lookup({ source: "192.0.2.1" })).toBeNull();
  });

  it("refuses a bad row naming table, key and reason", () => {
    const bad = (r: Record<string, unknown>, reason: string) => expect(() => compileStirAttest({ olelo_stir_attest: [r] })).toThrow(reason);
    bad(row(7, "customer", "x"), "olelo_stir_attest");
    bad(row(7, "customer", "x"), "match_type must be one of account, trunk, source, got 'customer'");
    bad(row(8, "account", "bob", "D"), "attest must be A, B or C, got 'D'");
    bad(row(9, "account", "bob", "A", { origid: "nope" }), "origid 'nope' is not a UUID");
    bad(row(10, "source", "10.0.0.0/40"), "bad prefix length");
    bad(row(11, "source", "pbx.example"), "is not an address or CIDR prefix");
    bad(row(12, "account", ""), "match_value must not be empty");
    expect(() => compileStirAttest({ olelo_stir_attest: [row(1, "trunk", "t"), row(2, "trunk", "T")] })).toThrow("a second row for trunk 't'");
    try {
      compileStirAttest({ olelo_stir_attest: [row(8, "account", "bob", "D")] });
    } catch (e) {
      expect(e).toMatchObject({ table: "olelo_stir_attest" });
      expect(String((e as Error).message)).toContain("8");
    }
  });
});
