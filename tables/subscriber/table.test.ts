import { describe, expect, it } from "vitest";
import { TableError } from "../rows.js";
import { compileSubscriberRows, compileSubscriberSet } from "./table.js";

const H32 = "0123456789abcdef0123456789ABCDEF";

describe("compileSubscriberRows", () => {
  it("indexes by user+domain and by user (first row wins)", () => {
    const t = compileSubscriberRows([
      { id: 1, username: "alice", domain: "Example.COM", password: "pw", ha1: "", ha1b: "" },
      { id: 2, username: "alice", domain: "other.net", password: "", ha1: H32, ha1b: null },
      { id: 3, username: "bob", domain: "", password: null, ha1: H32, ha1b: H32 },
    ]);
    expect(t.find("alice", "example.com")?.id).toBe(1);
    expect(t.find("alice", "OTHER.net")?.ha1).toBe(H32.toLowerCase());
    expect(t.find("alice", null)?.id).toBe(1);
    expect(t.find("Alice", null)).toBeNull(); // usernames are case-sensitive
    expect(t.find("bob", "")?.password).toBeNull();
    expect(t.find("carol", null)).toBeNull();
    expect(t.rows).toHaveLength(3);
  });

  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ id: 7, username: "", domain: "d", password: "p" }, /subscriber row 7: username is empty/],
    [{ id: 8, username: "a b", domain: "d", password: "p" }, /subscriber row 8: username 'a b' contains whitespace/],
    [{ id: 9, username: "a", domain: "d", password: "", ha1: "", ha1b: "" }, /subscriber row 9: subscriber a@d has neither password nor ha1/],
    [{ id: 10, username: "a", domain: "d", ha1: "xyz" }, /subscriber row 10: column ha1 must be a 32 or 64 digit hex hash/],
    [{ id: 11, username: "a", domain: "d", ha1b: "00" }, /column ha1b must be/],
    [{ id: 12, username: "a", domain: "d", password: { x: 1 } }, /column password must be text/],
  ];
  for (const [row, re] of bad) {
    it(`rejects ${JSON.stringify(row)}`, () => {
      expect(() => compileSubscriberRows([row])).toThrow(TableError);
      expect(() => compileSubscriberRows([row])).toThrow(re);
    });
  }

  it("rejects duplicate user@domain (the table's unique key), case-insensitive on the domain", () => {
    expect(() =>
      compileSubscriberRows([
        { id: 1, username: "a", domain: "d.com", password: "x" },
        { id: 2, username: "a", domain: "D.com", password: "y" },
      ]),
    ).toThrow(/subscriber row 2: duplicate subscriber a@d\.com/);
  });

  it("the sink compile needs the subscriber table", () => {
    expect(() => compileSubscriberSet({})).toThrow(/subscriber: table missing/);
  });
});
