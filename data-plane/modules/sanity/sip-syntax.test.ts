import { describe, expect, it } from "vitest";
import { checkUri } from "./sip-syntax.js";

// sanity's URI check cuts with the one lexer (lib/sip/uri-split.ts lexUri): RFC 3261 §19.1.1 reading
describe("checkUri", () => {
  it.each([
    ["sip:alice@example.com:5060;transport=tcp?subject=x", "ok"],
    ["sip:a?b@example.com", "ok"], // '?' is user-unreserved: user "a?b"
    ["sip:user;par=u%40example.net@example.com", "ok"],
    ["sip:a@b@example.com", "bad"], // a second '@' is a bad host
    ["sip:@example.com", "bad"],
    ["sip:example.com;=x", "bad"],
    ["sip:[2001:db8::1]:5061", "ok"],
    ["mailto:a@example.com", "scheme"],
    ["tel:+4930", "ok"],
  ])("%s → %s", (uri, want) => {
    expect(checkUri(uri)).toBe(want);
  });
});
