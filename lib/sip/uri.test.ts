import { describe, expect, it } from "vitest";
import { parseUri } from "./uri.js";
import { checkSipUri, lexUri, splitUri, splitUriRaw } from "./uri-split.js";

/**
 * One lexer (`cutUri`/`lexUri`) under the strict parser (`parseUri`) and the lenient views. Where
 * the old lexer (last '@' before the first '?') and the old parseUri (first '@') disagreed, the
 * RFC 3261 §19.1.1/§25.1 reading wins: `user` may hold ';' and '?' (user-unreserved), and no other
 * piece may hold an unescaped '@', so the first '@' ends the userinfo and a second one is an error.
 */
describe("parseUri and lexUri cut a URI the same way", () => {
  it.each([
    "sip:alice@example.com",
    "sips:alice:secret@[2001:db8::1]:5071;transport=tcp;lr?subject=hi&priority=urgent",
    "sip:example.com:5060;maddr=[2001:db8::9]",
    "sip:user;par=u%40example.net@example.com", // RFC 4475 §3.1.2.? style: escaped '@' in the user
    "sip:+4930123;phone-context=+49@gw.example.com;user=phone",
    "sip:a?b@example.com",
    "sip:a;b=c?d@example.com;x=1?h=v",
    "tel:+1-201-555-0123;ext=1234",
  ])("%s", (text) => {
    const u = parseUri(text)!;
    const p = lexUri(text)!;
    expect(u).not.toBeNull();
    if (u.scheme === "tel") {
      expect([p.userinfo, p.hostport]).toEqual([null, u.user]);
      return;
    }
    expect(p.userinfo).toBe(u.user === null ? null : u.password === null ? u.user : `${u.user}:${u.password}`);
    expect(p.hostport.toLowerCase()).toBe((u.ipv6 ? `[${u.host}]` : u.host) + (u.port === null ? "" : `:${u.port}`));
    expect(p.headers).toBe(u.headers);
    expect(p.params === null ? 0 : p.params.split(";").length).toBe(u.params.size);
  });
});

describe("RFC 3261 where the two readings differed", () => {
  it("'?' and ';' before the '@' belong to the user (user-unreserved), in every view", () => {
    expect(parseUri("sip:a?b@example.com")).toMatchObject({ user: "a?b", host: "example.com", headers: null });
    // the old lexer cut at '?' first: host "a", headers "b@example.com"
    expect(lexUri("sip:a?b@example.com")).toEqual({ scheme: "sip", userinfo: "a?b", hostport: "example.com", params: null, headers: null });
    expect(splitUri("sip:a?b@example.com")).toMatchObject({ user: "a?b", host: "example.com", headers: null });
    expect(splitUriRaw("sip:a?b@example.com")).toMatchObject({ user: "a?b", host: "example.com", headers: "" });
    expect(checkSipUri("sip:a?b@example.com")).toMatchObject({ user: "a?b", host: "example.com" });
  });

  it("a second '@' is no URI: the first ends the userinfo, the rest is a bad host", () => {
    expect(lexUri("sip:a@b@example.com")).toMatchObject({ userinfo: "a", hostport: "b@example.com" });
    expect(parseUri("sip:a@b@example.com")).toBeNull();
    // the old lexer took the last '@': user "a@b"
    expect(splitUri("sip:a@b@example.com")).toBeNull();
    expect(splitUriRaw("sip:a@b@example.com")).toBeNull();
    expect(checkSipUri("sip:a@b@example.com")).toBe("bad host 'b@example.com'");
  });

  it("an escaped '@' (%40) stays in the piece it is in", () => {
    expect(parseUri("sip:example.com?Replaces=1%40h")).toMatchObject({ user: null, host: "example.com", headers: "Replaces=1%40h" });
    expect(lexUri("sip:example.com?Replaces=1%40h")).toMatchObject({ userinfo: null, hostport: "example.com", headers: "Replaces=1%40h" });
  });

  it("tel: has no userinfo and no headers", () => {
    expect(lexUri("tel:+49@x;a=b")).toMatchObject({ userinfo: null, hostport: "+49@x", params: "a=b" });
    expect(parseUri("tel:+49;a=b?c")).toBeNull();
  });
});
