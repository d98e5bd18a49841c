import { describe, expect, it } from "vitest";
import { TableError } from "../rows.js";
import { compileMtreeTables, parsePairs } from "./table.js";

function rejects(fn: () => unknown): TableError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TableError);
    return e as TableError;
  }
  throw new Error("expected a TableError");
}

describe("compileMtreeTables", () => {
  it("puts the mtree table under the configured single-tree name and mtrees under tname", () => {
    const c = compileMtreeTables(
      {
        mtree: [{ id: 1, tprefix: "49", tvalue: "de" }],
        mtrees: [
          { id: 1, tname: "b", tprefix: "1", tvalue: "x" },
          { id: 2, tname: "a", tprefix: "1", tvalue: "y" },
        ],
      },
      { singleTreeName: "lcr" },
    );
    expect([...c.trees.keys()]).toEqual(["a", "b", "lcr"]);
    expect(c.trees.get("lcr")!.tree.longest("4930")!.values).toEqual(["de"]);
    expect(c.rows).toBe(3);
  });

  it("accepts numbers and strings from different sources alike", () => {
    const c = compileMtreeTables({ mtrees: [{ id: "7", tname: "t", tprefix: 4930, tvalue: 12 }] }, { defaultType: 2 });
    expect(c.trees.get("t")!.tree.get("4930")!.ints).toEqual([12]);
  });

  it("rejects a prefix character outside char_list, naming table and row", () => {
    const e = rejects(() => compileMtreeTables({ mtrees: [{ id: 9, tname: "t", tprefix: "49+", tvalue: "x" }] }));
    expect(e.table).toBe("mtrees");
    expect(e.row).toBe(9);
    expect(e.message).toMatch(/invalid character '\+'/);
    // allowed once char_list has it
    expect(compileMtreeTables({ mtrees: [{ id: 9, tname: "t", tprefix: "49+", tvalue: "x" }] }, { charList: "0123456789+" }).rows).toBe(1);
  });

  it("rejects prefixes longer than 63 characters and empty prefixes", () => {
    expect(rejects(() => compileMtreeTables({ mtree: [{ id: 3, tprefix: "1".repeat(64), tvalue: "x" }] })).message).toMatch(/longer than 63/);
    expect(compileMtreeTables({ mtree: [{ id: 3, tprefix: "1".repeat(63), tvalue: "x" }] }).rows).toBe(1);
    expect(rejects(() => compileMtreeTables({ mtree: [{ id: 4, tprefix: "", tvalue: "x" }] })).message).toMatch(/empty/);
  });

  it("rejects a repeated prefix unless duplicates are allowed or ignored", () => {
    const set = {
      mtrees: [
        { id: 1, tname: "t", tprefix: "12", tvalue: "a" },
        { id: 2, tname: "t", tprefix: "12", tvalue: "b" },
      ],
    };
    const e = rejects(() => compileMtreeTables(set));
    expect(e.row).toBe(2);
    expect(e.message).toMatch(/already set by row 1/);
    expect(compileMtreeTables(set, { allowDuplicates: true }).trees.get("t")!.tree.get("12")!.values).toEqual(["a", "b"]);
    expect(compileMtreeTables(set, { ignoreDuplicates: true }).trees.get("t")!.tree.get("12")!.values).toEqual(["a"]);
  });

  it("the same prefix in two different trees is not a duplicate", () => {
    const c = compileMtreeTables({
      mtrees: [
        { id: 1, tname: "a", tprefix: "12", tvalue: "a" },
        { id: 2, tname: "b", tprefix: "12", tvalue: "b" },
      ],
    });
    expect(c.trees.size).toBe(2);
  });

  it("type 2 trees need integer values", () => {
    const e = rejects(() => compileMtreeTables({ mtrees: [{ id: 5, tname: "n", tprefix: "1", tvalue: "12a" }] }, { treeTypes: { n: 2 } }));
    expect(e.message).toMatch(/not an integer/);
  });

  it("type 1 trees need dstid:weight pairs", () => {
    const ok = compileMtreeTables({ mtrees: [{ id: 1, tname: "dw", tprefix: "1", tvalue: "1:10;2:20" }] }, { treeTypes: { dw: 1 } });
    expect(ok.trees.get("dw")!.tree.get("1")!.pairs).toEqual([
      { dstid: 1, weight: 10 },
      { dstid: 2, weight: 20 },
    ]);
    const e = rejects(() => compileMtreeTables({ mtrees: [{ id: 6, tname: "dw", tprefix: "1", tvalue: "1:x" }] }, { treeTypes: { dw: 1 } }));
    expect(e.row).toBe(6);
    expect(e.message).toMatch(/dstid:weight/);
  });

  it("rejects missing tname, a non-string value and a non-array table", () => {
    expect(rejects(() => compileMtreeTables({ mtrees: [{ id: 1, tprefix: "1", tvalue: "x" }] })).message).toMatch(/tname/);
    expect(rejects(() => compileMtreeTables({ mtree: [{ id: 2, tprefix: "1", tvalue: { a: 1 } }] })).message).toMatch(/tvalue/);
    expect(rejects(() => compileMtreeTables({ mtree: "x" } as never)).table).toBe("mtree");
  });
});

describe("parsePairs", () => {
  it("takes ':' or '=' between and ';' or ',' after pairs", () => {
    const id = { table: "mtrees", id: 1 };
    expect(parsePairs({ ...id, value: "3=5,4=6;" })).toEqual([
      { dstid: 3, weight: 5 },
      { dstid: 4, weight: 6 },
    ]);
    expect(() => parsePairs({ ...id, value: "0:5" })).toThrow(/dstid 0/);
    expect(() => parsePairs({ ...id, value: "" })).toThrow(/empty/);
  });
});
