import { describe, expect, it } from "vitest";
import { TableError, type TableRow } from "../rows.js";
import { compileDialplan, globToRe2 } from "./dialplan-table.js";

let nextId = 1;
const rule = (r: Partial<Record<string, unknown>>): TableRow => ({ id: nextId++, dpid: 1, pr: 1, match_op: 1, match_exp: "", match_len: 0, subst_exp: "", repl_exp: "", attrs: "", ...r });
const compile = (rows: TableRow[]) => compileDialplan({ dialplan: rows });

function refusal(rows: TableRow[]): TableError {
  try {
    compile(rows);
  } catch (e) {
    if (e instanceof TableError) return e;
    throw e;
  }
  throw new Error("compiled");
}

describe("dialplan compile", () => {
  it("translates with back-references: the output is repl_exp with \\N from subst_exp's match", () => {
    const t = compile([rule({ match_exp: "^0[1-9]", subst_exp: "^0(.*)$", repl_exp: "+49\\1", attrs: "national" })]);
    expect(t.translate(1, "03012345")).toEqual({ output: "+493012345", attrs: "national", id: expect.any(Number) });
    expect(t.translate(1, "+4930")).toBeNull();
    expect(t.translate(2, "03012345")).toBeNull();
    const t2 = compile([rule({ match_exp: "^00(\\d\\d)(\\d+)$", subst_exp: "^00(\\d\\d)(\\d+)$", repl_exp: "+\\1-\\2 (\\0) \\\\" })]);
    expect(t2.translate(1, "004930123")?.output).toBe("+49-30123 (004930123) \\");
  });

  it("tries rules by pr ascending, ties in row order", () => {
    const t = compile([
      rule({ pr: 5, match_exp: "^1", repl_exp: "five" }),
      rule({ pr: 2, match_exp: "^1", repl_exp: "two-a" }),
      rule({ pr: 2, match_exp: "^1", repl_exp: "two-b" }),
      rule({ pr: 9, match_exp: "^2", repl_exp: "nine" }),
    ]);
    expect(t.translate(1, "123")?.output).toBe("two-a");
    expect(t.translate(1, "2")?.output).toBe("nine");
    expect(t.rules(1).map((r) => r.pr)).toEqual([2, 2, 5, 9]);
  });

  it("equal (0) compares the whole input exactly; no subst_exp gives repl_exp as it is; empty repl_exp keeps the input", () => {
    const t = compile([
      rule({ match_op: 0, match_exp: "911", repl_exp: "sos" }),
      rule({ dpid: 2, match_op: 0, match_exp: "411", repl_exp: "", attrs: "info" }),
    ]);
    expect(t.translate(1, "911")?.output).toBe("sos");
    expect(t.translate(1, "9110")).toBeNull();
    expect(t.translate(1, "91")).toBeNull();
    expect(t.translate(2, "411")).toMatchObject({ output: "411", attrs: "info" });
  });

  it("fnmatch (2): *, ?, [set], [!set] over the whole input", () => {
    const t = compile([
      rule({ match_op: 2, match_exp: "49*", repl_exp: "de" }),
      rule({ match_op: 2, match_exp: "1??", repl_exp: "short" }),
      rule({ match_op: 2, match_exp: "[78][!0]*", repl_exp: "set" }),
    ]);
    expect(t.translate(1, "4930")?.output).toBe("de");
    expect(t.translate(1, "149")?.output).toBe("short");
    expect(t.translate(1, "1490")).toBeNull();
    expect(t.translate(1, "712")?.output).toBe("set");
    expect(t.translate(1, "702")).toBeNull();
    expect(globToRe2("a.b*")).toBe("^a\\.b(?s:.*)$");
  });

  it("match_len: rules for the input's length first, then the any-length rules (0)", () => {
    const t = compile([
      rule({ pr: 1, match_exp: "^1", match_len: 0, repl_exp: "any" }),
      rule({ pr: 9, match_exp: "^1", match_len: 3, repl_exp: "three" }),
    ]);
    expect(t.translate(1, "123")?.output).toBe("three"); // length 3 list first, despite pr 9
    expect(t.translate(1, "1234")?.output).toBe("any");
    expect(t.translate(1, "12")?.output).toBe("any");
  });

  it("a matched rule whose subst_exp does not match fails the translation", () => {
    const t = compile([rule({ match_exp: "^1", subst_exp: "^9(.*)", repl_exp: "\\1" })]);
    expect(t.match(1, "123")).not.toBeNull();
    expect(t.translate(1, "123")).toBeNull();
  });

  it("refuses a bad regex naming table, key and reason", () => {
    const e = refusal([rule({ id: 41, match_exp: "^(0[1-9" })]);
    expect(e).toMatchObject({ table: "dialplan", row: 41, reason: expect.stringMatching(/match_exp '\^\(0\[1-9' is not a valid regular expression/) });
    expect(refusal([rule({ id: 42, match_exp: "^1", subst_exp: "(a" })])).toMatchObject({ row: 42, reason: expect.stringMatching(/^subst_exp/) });
    // PCRE features RE2 does not have (backtracking-only) are refused, not run
    expect(refusal([rule({ id: 43, match_exp: "^(a)\\1$" })])).toMatchObject({ row: 43, reason: expect.stringMatching(/match_exp/) });
    expect(refusal([rule({ id: 44, match_exp: "(?=1)" })])).toMatchObject({ row: 44 });
  });

  it("refuses other bad rows: match_op, back-reference past the groups, NULL, unsupported escape", () => {
    expect(refusal([rule({ id: 51, match_op: 3, match_exp: "x" })])).toMatchObject({ row: 51, reason: expect.stringMatching(/match_op 3 is above 2/) });
    expect(refusal([rule({ id: 52, match_exp: "^1", subst_exp: "^(1)", repl_exp: "\\2" })])).toMatchObject({ row: 52, reason: expect.stringMatching(/uses \\2 but subst_exp '\^\(1\)' has 1 group/) });
    expect(refusal([rule({ id: 53, match_exp: "^1", repl_exp: "\\1" })])).toMatchObject({ row: 53, reason: expect.stringMatching(/subst_exp is empty/) });
    expect(refusal([rule({ id: 54, dpid: null })])).toMatchObject({ row: 54, reason: "dpid must not be NULL" });
    expect(refusal([rule({ id: 55, match_exp: "^1", subst_exp: "^(1)", repl_exp: "\\u" })])).toMatchObject({ row: 55, reason: expect.stringMatching(/unsupported escape/) });
    expect(refusal([rule({ id: 56, match_exp: "" })])).toMatchObject({ row: 56, reason: expect.stringMatching(/must not be empty/) });
  });

  it("pathological regex and input finish quickly under RE2 (no catastrophic backtracking)", () => {
    const t = compile([
      rule({ match_exp: "^(a+)+$", subst_exp: "^((a|aa)+)+b$", repl_exp: "x\\1" }),
      rule({ dpid: 2, match_exp: "^(\\d+)*(\\d+)*(\\d+)*x$", repl_exp: "y" }),
    ]);
    const evil = `${"a".repeat(200)}!`;
    const digits = `${"1".repeat(200)}!`;
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      expect(t.translate(1, evil)).toBeNull();
      expect(t.translate(2, digits)).toBeNull();
    }
    // backtracking RegExp needs ~2^200 steps for one of these; RE2 is linear
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(t.translate(1, "aaaa")).toBeNull(); // subst needs the trailing b
    expect(t.translate(1, "a".repeat(300))).toBeNull(); // longer than DP_MAX_INPUT: not translated
  });
});
