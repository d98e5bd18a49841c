import { describe, expect, it } from "vitest";
import { TableError } from "../rows.js";
import { compileAliasTable } from "./alias-table.js";

describe("dbaliases compile", () => {
  const set = {
    dbaliases: [
      { id: 1, alias_username: "Sales", alias_domain: "Example.com", username: "bob", domain: "example.com" },
      { id: 2, alias_username: "sales", alias_domain: "example.com", username: "carol", domain: "example.com" },
      { id: 3, alias_username: "help", alias_domain: "other.net", username: "bob", domain: "example.com" },
    ],
  };

  it("maps aliases to users (in table order) and back, by user@domain and by user", () => {
    const t = compileAliasTable(set);
    expect(t.find("SALES", "example.com").map((x) => x.username)).toEqual(["bob", "carol"]);
    expect(t.find("sales", "other.net")).toEqual([]);
    expect(t.find("help", null).map((x) => x.username)).toEqual(["bob"]);
    expect(t.find("bob", "example.com", true).map((x) => `${x.username}@${x.domain}`)).toEqual(["Sales@example.com", "help@other.net"]);
    expect(t.rows).toBe(3);
  });

  it("names the table and row of a bad row", () => {
    expect(() => compileAliasTable({ dbaliases: [{ id: 9, alias_username: "", alias_domain: "", username: "x", domain: "" }] })).toThrow(TableError);
    expect(() => compileAliasTable({ dbaliases: [{ id: 9, alias_username: "", alias_domain: "", username: "x", domain: "" }] })).toThrow(/dbaliases row 9: alias_username/);
    expect(() => compileAliasTable({ dbaliases: [{ id: 4, alias_username: "a b", alias_domain: "", username: "x", domain: "" }] })).toThrow(/row 4/);
    expect(() => compileAliasTable({ dbaliases: "nope" as unknown as [] })).toThrow(/dbaliases/);
  });
});
