import { describe, expect, it } from "vitest";
import { matchAllValues, matchTree } from "./match.js";
import { compileMtreeTables } from "./table.js";

const c = compileMtreeTables(
  {
    mtrees: [
      { id: 1, tname: "s", tprefix: "4", tvalue: "four" },
      { id: 2, tname: "s", tprefix: "49", tvalue: "de" },
      { id: 3, tname: "s", tprefix: "4930", tvalue: "berlin" },
      { id: 4, tname: "i", tprefix: "1", tvalue: "10" },
      { id: 5, tname: "i", tprefix: "12", tvalue: "-12" },
      { id: 6, tname: "dw", tprefix: "4", tvalue: "1:10;2:50" },
      { id: 7, tname: "dw", tprefix: "49", tvalue: "2:5;3:30" },
      { id: 8, tname: "dw", tprefix: "4930", tvalue: "4:30" },
    ],
  },
  { treeTypes: { i: 2, dw: 1 } },
);
const s = c.trees.get("s")!;
const i = c.trees.get("i")!;
const dw = c.trees.get("dw")!;

describe("mt_match mode 0 (and any mode but 2)", () => {
  it("returns the value of the longest matching prefix", () => {
    expect(matchTree(s, "4930555", 0)).toEqual({ kind: "value", prefix: "4930", value: "berlin" });
    expect(matchTree(s, "4931", 0)).toEqual({ kind: "value", prefix: "49", value: "de" });
    expect(matchTree(s, "4931", 1)).toEqual({ kind: "value", prefix: "49", value: "de" });
    expect(matchTree(s, "5", 0)).toBeNull();
  });

  it("gives integers for type 2 trees", () => {
    expect(matchTree(i, "129", 0)).toEqual({ kind: "value", prefix: "12", value: -12 });
  });

  it("stops at a character outside char_list and keeps what matched before it", () => {
    expect(matchTree(s, "49x30", 0)).toEqual({ kind: "value", prefix: "49", value: "de" });
  });
});

describe("mt_match mode 2", () => {
  it("returns every matching prefix, longest first", () => {
    expect(matchTree(s, "49301", 2)).toEqual({
      kind: "values",
      items: [
        { prefix: "4930", value: "berlin" },
        { prefix: "49", value: "de" },
        { prefix: "4", value: "four" },
      ],
    });
    expect(matchTree(i, "123", 2)).toEqual({
      kind: "values",
      items: [
        { prefix: "12", value: -12 },
        { prefix: "1", value: 10 },
      ],
    });
    expect(matchTree(s, "7", 2)).toBeNull();
  });

  it("keeps several values of one prefix in row order (allowDuplicates)", () => {
    const d = compileMtreeTables(
      {
        mtrees: [
          { id: 1, tname: "t", tprefix: "1", tvalue: "a" },
          { id: 2, tname: "t", tprefix: "12", tvalue: "b" },
          { id: 3, tname: "t", tprefix: "12", tvalue: "c" },
        ],
      },
      { allowDuplicates: true },
    ).trees.get("t")!;
    expect(matchTree(d, "123", 2)).toEqual({
      kind: "values",
      items: [
        { prefix: "12", value: "b" },
        { prefix: "12", value: "c" },
        { prefix: "1", value: "a" },
      ],
    });
    // mode 0 takes the most recently added value, as Kamailio's list head
    expect(matchTree(d, "123", 0)).toEqual({ kind: "value", prefix: "12", value: "c" });
    expect(matchAllValues(d, "123")).toEqual(["b", "c", "a"]);
  });
});

describe("type 1 (dstid:weight) trees", () => {
  it("collects pairs of every matching prefix, one per dstid from the longest prefix, by weight", () => {
    // prefixes 4 (1:10, 2:50), 49 (2:5, 3:30), 4930 (4:30): dstid 2 keeps weight 5 from "49"
    const m = matchTree(dw, "493012", 0);
    expect(m).toEqual({ kind: "dw", prefix: "4930", dstid: [4, 3, 1, 2], weight: [30, 30, 10, 5], count: 4 });
    // the mode does not matter for type 1 trees
    expect(matchTree(dw, "493012", 2)).toEqual(m);
  });

  it("on a shorter match only the shorter prefixes count", () => {
    expect(matchTree(dw, "41", 0)).toEqual({ kind: "dw", prefix: "4", dstid: [2, 1], weight: [50, 10], count: 2 });
    expect(matchTree(dw, "5", 0)).toBeNull();
  });
});
