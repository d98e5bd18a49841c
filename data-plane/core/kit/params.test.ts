import { describe, expect, it } from "vitest";
import { z } from "zod";
import { bool, custom, defineParams, flag01, int, issue, optStr, paramsMarkdown, str } from "./params.js";

const demo = defineParams("demo", {
  size: int({ min: 1, max: 10, default: 4, coerce: "digits", doc: "Size" }),
  offset: int({ min: -5, max: 5, default: 0, coerce: "signed-bool", doc: "Offset" }),
  on: bool({ default: false, doc: "Switch" }),
  flag: flag01({ default: true, doc: "0/1 flag" }),
  name: str({ default: "x", doc: "Name", check: (s) => (s === "" ? "must be a non-empty string" : null) }),
  url: optStr({ doc: "URL" }),
  list: custom<readonly string[]>({
    type: "names",
    default: [],
    doc: "List",
    schema: z.unknown().transform((v, ctx) => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : issue(ctx, "must be a list"))),
    fail: () => "must be a list",
  }),
});

describe("defineParams", () => {
  it("fills defaults and coerces Kamailio's text forms", () => {
    expect(demo.parse({})).toEqual({ size: 4, offset: 0, on: false, flag: true, name: "x", url: null, list: [] });
    expect(demo.parse({ size: "7", offset: " -3 ", on: "yes", flag: "0", url: "", list: ["a"] })).toMatchObject({
      size: 7,
      offset: -3,
      on: true,
      flag: false,
      url: null,
      list: ["a"],
    });
    expect(demo.parse({ offset: true }).offset).toBe(1);
  });

  it("keeps the modules' error wording", () => {
    expect(() => demo.parse({ size: 11 })).toThrow("demo: parameter 'size' must be an integer in 1..10, got 11");
    expect(() => demo.parse({ size: " 3" })).toThrow("demo: parameter 'size' must be an integer in 1..10, got \" 3\"");
    expect(() => demo.parse({ on: "maybe" })).toThrow("demo: parameter 'on' must be 0/1 or a boolean, got \"maybe\"");
    expect(() => demo.parse({ name: "" })).toThrow("demo: parameter 'name' must be a non-empty string");
    expect(() => demo.parse({ list: 3 })).toThrow("demo: parameter 'list' must be a list");
    expect(() => demo.parse({ nope: 1 })).toThrow("demo: unknown parameter 'nope'");
  });

  it("prints bare names, aliases and custom errors when asked", () => {
    const bare = defineParams("bare", { n: int({ min: 0, max: 1, doc: "n", default: 0 }) }, { quote: false });
    expect(() => bare.parse({ n: 2 })).toThrow("bare: parameter n must be an integer in 0..1, got 2");
    const aliased = defineParams(
      "al",
      { n: int({ min: 0, max: 9, doc: "n", default: 1 }) },
      { alias: (k) => k.replace(/^x_/, ""), error: (k, t) => new RangeError(`${k}: ${t}`) },
    );
    expect(aliased.parse({ x_n: 3 }).n).toBe(3);
    expect(() => aliased.parse({ x_n: 30 })).toThrow(RangeError);
  });

  it("checks across parameters in finish", () => {
    const p = defineParams("f", { a: int({ min: 0, max: 9, default: 1, doc: "a" }), b: int({ min: 0, max: 9, default: 2, doc: "b" }) }, {
      finish: (v) => {
        if (v.a > v.b) throw new Error("f: a is larger than b");
        return { ...v, sum: v.a + v.b };
      },
    });
    expect(p.parse({}).sum).toBe(3);
    expect(() => p.parse({ a: 5 })).toThrow("f: a is larger than b");
  });

  it("describes the parameters for generated docs", () => {
    const rows = demo.docs();
    expect(rows[0]).toEqual({ name: "size", type: "integer 1..10", default: "4", doc: "Size" });
    expect(paramsMarkdown(rows)).toContain("| `size` | integer 1..10 | `4` | Size |");
  });
});
