import { describe, expect, it } from "vitest";
import { TableError } from "../../core/api.js";
import { HashTable } from "./hash-table.js";
import { parseHtableDefinition, parseHtableParams } from "./params.js";
import { compileHtableRows, compileHtableSet } from "../../../tables/htable/table.js";
import { itemsToRows, rowsToItems } from "./items.js";

describe("parseHtableDefinition", () => {
  it("parses Kamailio definition strings", () => {
    expect(parseHtableDefinition("ipban=>size=8;autoexpire=300;")).toEqual({
      name: "ipban",
      size: 8,
      autoexpire: 300,
      updateexpire: true,
      initval: null,
      dbtable: null,
      dbmode: 0,
      dmqreplicate: 0,
    });
    expect(parseHtableDefinition("a=>size=4;dbtable=htable;dbmode=1;initval=0;updateexpire=0")).toMatchObject({
      dbtable: "htable",
      dbmode: 1,
      initval: 0,
      updateexpire: false,
    });
    expect(parseHtableDefinition({ name: "b", autoexpire: 60 })).toMatchObject({ name: "b", size: 4, autoexpire: 60 });
  });

  const bad: Array<[unknown, RegExp]> = [
    ["ipban", /expected 'name=>attr=value/],
    ["x y=>size=8", /name 'x y' is not valid/],
    ["t=>size=0", /size must be an integer in 1\.\.31/],
    ["t=>size=abc", /size must be an integer/],
    ["t=>autoexpire=-1", /autoexpire/],
    ["t=>foo=1", /unknown attribute foo/],
    ["t=>cols='a,b'", /cols is not supported/],
    ["t=>dbmode=1", /dbmode=1 needs a dbtable/],
    ["t=>dbtable=bad-name", /dbtable must be a plain SQL table name/],
    ["t=>size=8;size=9", /given twice/],
    ["t=>size", /bad attribute 'size'/],
    [42, /must be a string or an object/],
  ];
  for (const [spec, re] of bad) {
    it(`rejects ${JSON.stringify(spec)}`, () => expect(() => parseHtableDefinition(spec)).toThrow(re));
  }

  it("validates module parameters", () => {
    expect(parseHtableParams({}).timer_interval).toBe(20);
    expect(() => parseHtableParams({ htable: ["a=>size=2", "a=>size=3"] })).toThrow(/defined twice/);
    expect(() => parseHtableParams({ htable: "a=>dbtable=x;dbmode=1" })).toThrow(/needs the 'db_url'/);
    expect(() => parseHtableParams({ timer_interval: 0 })).toThrow(/timer_interval/);
    expect(() => parseHtableParams({ htable: "a=>dmqreplicate=1" })).toThrow(/not supported/);
    expect(() => parseHtableParams({ bogus: true })).toThrow(/unknown parameter 'bogus'/);
  });
});

describe("compileHtableRows", () => {
  it("compiles scalars, integers and arrays (name[n] + name::size)", () => {
    const rows = compileHtableRows([
      { id: 1, key_name: "gw", key_type: 1, value_type: 0, key_value: "10.0.0.1", expires: 0 },
      { id: 2, key_name: "gw", key_type: 1, value_type: 0, key_value: "10.0.0.2", expires: 0 },
      { id: 3, key_name: "limit", key_type: 0, value_type: 1, key_value: "30", expires: 0 },
      { id: 4, key_name: "name", key_type: 0, value_type: 0, key_value: "olelo", expires: 1900000000 },
    ]);
    expect(rows).toEqual([
      { key: "gw[0]", value: "10.0.0.1", expires: 0 },
      { key: "gw[1]", value: "10.0.0.2", expires: 0 },
      { key: "limit", value: 30, expires: 0 },
      { key: "name", value: "olelo", expires: 1900000000 },
      { key: "gw::size", value: 2, expires: 0 },
    ]);
  });

  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ id: 7, key_name: "", key_value: "x" }, /htable row 7: key_name is empty/],
    [{ id: 8, key_name: "k", key_type: 2, key_value: "x" }, /htable row 8: key_type 2/],
    [{ id: 9, key_name: "k", value_type: 3, key_value: "x" }, /htable row 9: value_type 3/],
    [{ id: 10, key_name: "k", value_type: 1, key_value: "12abc" }, /htable row 10: key_value '12abc' is not an integer/],
    [{ id: 11, key_name: "k", key_value: "x", expires: -5 }, /htable row 11: expires -5 is negative/],
    [{ id: 12, key_name: "k", key_value: "x", expires: "soon" }, /htable row 12: column expires must be an integer/],
  ];
  for (const [row, re] of bad) {
    it(`rejects ${JSON.stringify(row)}`, () => {
      expect(() => compileHtableRows([row])).toThrow(TableError);
      expect(() => compileHtableRows([row])).toThrow(re);
    });
  }

  it("compileHtableSet only accepts dbtables that some htable uses", () => {
    expect(() => compileHtableSet({ other: [] }, new Set(["htable"]))).toThrow(/no htable is defined with dbtable=other/);
    expect(compileHtableSet({ htable: [{ key_name: "a", key_value: "1" }] }, new Set(["htable"])).get("htable")).toHaveLength(1);
  });

  it("rowsToItems applies db expires or autoexpire, and itemsToRows writes live items back", () => {
    const t = new HashTable(parseHtableDefinition("a=>autoexpire=60;dbtable=htable"));
    const now = 1_800_000_000_000;
    const rows = compileHtableRows([
      { key_name: "past", key_value: "x", expires: 1_700_000_000 },
      { key_name: "future", key_value: "y", expires: 1_800_000_100 },
      { key_name: "plain", value_type: 1, key_value: "5", expires: 0 },
    ]);
    const withExp = rowsToItems(rows, t, now, true);
    expect([...withExp.keys()]).toEqual(["future", "plain"]);
    expect(withExp.get("future")!.expires).toBe(1_800_000_100_000);
    expect(withExp.get("plain")!.expires).toBe(now + 60_000);
    const noExp = rowsToItems(rows, t, now, false);
    expect(noExp.get("past")!.expires).toBe(now + 60_000);
  });

  it("itemsToRows formats integers as value_type 1", () => {
    const t = new HashTable(parseHtableDefinition("a=>size=4"));
    t.set("i", -12);
    t.set("s", "text");
    expect(itemsToRows(t, false)).toEqual([
      ["i", 0, 1, "-12", 0],
      ["s", 0, 0, "text", 0],
    ]);
  });
});
