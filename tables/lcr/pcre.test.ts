import { describe, expect, it } from "vitest";
import { PcreError, pcreToRegExp } from "./pcre.js";

describe("pcreToRegExp", () => {
  it("keeps the common syntax unchanged and searches unanchored like pcre2_match", () => {
    const re = pcreToRegExp("^sip:\\+?49(30|89)\\d*@");
    expect(re.test("sip:+4930123@x")).toBe(true);
    expect(re.test("sip:4989@x")).toBe(true);
    expect(re.test("sip:4940@x")).toBe(false);
    expect(pcreToRegExp("example\\.com").test("sip:a@example.com;user=phone")).toBe(true);
  });

  it("turns a leading (?i) into a flag", () => {
    const re = pcreToRegExp("(?i)^SIP:ALICE@");
    expect(re.flags).toBe("i");
    expect(re.test("sip:alice@x")).toBe(true);
  });

  it("rewrites named groups, \\Q..\\E, comments, anchors and POSIX classes", () => {
    expect(pcreToRegExp("(?P<cc>49)(?P=cc)").test("4949")).toBe(true);
    expect(pcreToRegExp("^\\Q1+1=2.\\E$").test("1+1=2.")).toBe(true);
    expect(pcreToRegExp("^\\Q1+1=2.\\E$").test("11=2x")).toBe(false);
    expect(pcreToRegExp("a(?#comment)b").test("ab")).toBe(true);
    expect(pcreToRegExp("\\Aab\\z").test("ab")).toBe(true);
    expect(pcreToRegExp("\\Aab\\z").test("xab")).toBe(false);
    expect(pcreToRegExp("^[[:digit:]]+$").test("0123")).toBe(true);
    expect(pcreToRegExp("^[[:digit:]]+$").test("01a")).toBe(false);
    expect(pcreToRegExp("^[]a]+$").test("]a]")).toBe(true);
    expect(pcreToRegExp("^[^]a]+$").test("bc")).toBe(true);
  });

  it("rejects what JavaScript cannot express, with the offset", () => {
    const bad = ["a++", "(?>ab)", "(?R)", "(?1)", "(?(1)a|b)", "a(?i)b", "(?x)a b", "\\Ka", "\\p{L}", "(*FAIL)", "(?|a|b)", "[[:nosuch:]]"];
    for (const p of bad) {
      expect(() => pcreToRegExp(p), p).toThrow(PcreError);
    }
    try {
      pcreToRegExp("ab(?>c)");
    } catch (e) {
      expect((e as PcreError).offset).toBe(2);
      expect((e as Error).message).toMatch(/atomic/);
    }
  });

  it("rejects syntax errors", () => {
    expect(() => pcreToRegExp("(ab")).toThrow(PcreError);
    expect(() => pcreToRegExp("[ab")).toThrow(/terminating \]/);
    expect(() => pcreToRegExp("ab\\")).toThrow(/backslash/);
    expect(() => pcreToRegExp("*a")).toThrow(PcreError);
  });
});
