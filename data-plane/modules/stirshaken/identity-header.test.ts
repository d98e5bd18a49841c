import { describe, expect, it } from "vitest";
import { canonicalTn, formatIdentity, parseIdentity, uriUser, withVerstat } from "./identity-header.js";

const JWT = "eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ.c2ln";

describe("Identity header (RFC 8224 §4.1)", () => {
  it("parses token, info, alg and ppt (quoted, spaced, any order, unknown params kept)", () => {
    const v = parseIdentity(`${JWT};info=<https://cert.example.org/passport.cer>;alg=ES256;ppt=shaken`);
    expect(v).toMatchObject({ token: JWT, info: "https://cert.example.org/passport.cer", alg: "ES256", ppt: "shaken" });
    const w = parseIdentity(` ${JWT} ; ppt="shaken" ;info=<https://a.example/x;y> ; alg=ES256;foo=bar;flag`);
    expect(w).toMatchObject({ token: JWT, info: "https://a.example/x;y", alg: "ES256", ppt: "shaken" });
    expect(typeof w !== "string" && w.params.get("flag")).toBe("");
    expect(parseIdentity(JWT)).toMatchObject({ token: JWT, info: null, alg: null, ppt: null });
  });

  it("refuses values that are not of its form", () => {
    expect(parseIdentity("")).toBe("Identity has no signed-identity-digest");
    expect(parseIdentity("<x>;info=<https://a>")).toBe("Identity has no signed-identity-digest");
    expect(parseIdentity(`${JWT};info=https://a.example/x`)).toBe("Identity info must be <URI>");
    expect(parseIdentity(`${JWT};=x`)).toBe("Identity has a malformed parameter");
  });

  it("formats the full form as secsipid and ATIS-1000074 write it", () => {
    expect(formatIdentity(JWT, "https://c.example/a.pem")).toBe(`${JWT};info=<https://c.example/a.pem>;alg=ES256;ppt=shaken`);
  });
});

describe("telephone numbers and verstat", () => {
  it("canonical tn: digits only, '+' and visual separators dropped, user params cut", () => {
    expect(canonicalTn("+1-(215)-555.0121")).toBe("12155550121");
    expect(canonicalTn("%2B12155550121;npdi")).toBe("12155550121");
    expect(canonicalTn("alice")).toBeNull();
    expect(canonicalTn("")).toBeNull();
    expect(uriUser("<sip:+12155550121@a.example;user=phone>")).toBe("+12155550121");
    expect(uriUser("tel:+12155550121;verstat=x")).toBe("+12155550121");
    expect(uriUser("sip:a.example")).toBeNull();
  });

  it("sets ;verstat= on the user part, replacing an old one, keeping tag and params", () => {
    expect(withVerstat('"A" <sip:+12155550121@a.example;user=phone>;tag=1', "TN-Validation-Passed")).toBe('"A" <sip:+12155550121;verstat=TN-Validation-Passed@a.example;user=phone>;tag=1');
    expect(withVerstat("<sip:+12155550121;verstat=No-TN-Validation;npdi@a.example>", "TN-Validation-Failed")).toBe("<sip:+12155550121;npdi;verstat=TN-Validation-Failed@a.example>");
    expect(withVerstat("<tel:+12155550121>", "TN-Validation-Passed")).toBe("<tel:+12155550121;verstat=TN-Validation-Passed>");
    expect(withVerstat("sip:12155550121@a.example;tag=9", "No-TN-Validation")).toBe("sip:12155550121;verstat=No-TN-Validation@a.example;tag=9");
    expect(withVerstat("<sip:a.example>", "No-TN-Validation")).toBeNull();
  });
});
