import { describe, expect, it } from "vitest";
import { TableError } from "../rows.js";
import { compileDomain } from "./domain-table.js";

function refusal(f: () => unknown): TableError {
  try {
    f();
  } catch (e) {
    if (e instanceof TableError) return e;
    throw e;
  }
  throw new Error("compiled");
}

describe("domain compile", () => {
  it("domains are case-insensitive; did defaults to the domain; attrs by did with their types", () => {
    const t = compileDomain({
      domain: [
        { id: 1, domain: "Example.COM", did: "ex", last_modified: "2000-01-01 00:00:01" },
        { id: 2, domain: "alias.example.com", did: "ex" },
        { id: 3, domain: "other.org", did: null },
      ],
      domain_attrs: [
        { id: 1, did: "ex", name: "tier", type: 2, value: "gold" },
        { id: 2, did: "ex", name: "max_calls", type: 0, value: "12" },
      ],
    });
    expect(t.lookup("example.com")).toEqual({ domain: "example.com", did: "ex", attrs: [{ name: "tier", type: 2, value: "gold" }, { name: "max_calls", type: 0, value: 12 }] });
    expect(t.lookup("ALIAS.example.com")?.did).toBe("ex");
    expect(t.lookup("other.org")).toEqual({ domain: "other.org", did: "other.org", attrs: [] });
    expect(t.isLocal("nowhere.net")).toBe(false);
    expect(t.list().map((d) => d.domain)).toEqual(["alias.example.com", "example.com", "other.org"]);
  });

  it("refuses bad rows naming table, key and reason", () => {
    expect(refusal(() => compileDomain({ domain: [{ id: 1, domain: "a.com" }, { id: 2, domain: "A.com" }] }))).toMatchObject({ table: "domain", row: 2, reason: expect.stringMatching(/appears twice/) });
    expect(refusal(() => compileDomain({ domain: [{ id: 3, domain: "bad host" }] }))).toMatchObject({ table: "domain", row: 3, reason: expect.stringMatching(/not a host/) });
    expect(refusal(() => compileDomain({ domain: [{ id: 4, domain: null }] }))).toMatchObject({ table: "domain", row: 4 });
    expect(refusal(() => compileDomain({ domain_attrs: [{ id: 5, did: "x", name: "n", type: 0, value: "abc" }] }))).toMatchObject({ table: "domain_attrs", row: 5, reason: expect.stringMatching(/not an integer/) });
    expect(refusal(() => compileDomain({ domain_attrs: [{ id: 6, did: "x", name: "n", type: 1, value: "1" }] }))).toMatchObject({ table: "domain_attrs", row: 6, reason: expect.stringMatching(/type must be 0/) });
  });
});
