import { describe, expect, it } from "vitest";
import { decodeReplaced, encodeReplaced, replacedAddr, splitAddr } from "./rr-state.js";
import { grantedExpires } from "./reg/registration.js";
import { parseMessage } from "../../core/sip/parse.js";

describe("uac Record-Route state", () => {
  it("masks both values with the password; another password does not decode them", () => {
    const v = { orig: '"Alice" <sip:alice@caller.test>', repl: '"Trunk" <sip:+4930123@carrier.test>' };
    const enc = encodeReplaced(v, "fleet-secret");
    expect(enc).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(enc).not.toContain("alice");
    expect(decodeReplaced(enc, "fleet-secret")).toEqual(v);
    expect(decodeReplaced(enc, "other")).not.toEqual(v);
    expect(decodeReplaced("not base64!", "fleet-secret")).toBeNull();
  });

  it("splits a From/To value into the name-addr and its parameters", () => {
    expect(splitAddr('"Bob" <sip:b@x;lr>;tag=1')).toEqual(['"Bob" <sip:b@x;lr>', ";tag=1"]);
    expect(splitAddr("sip:b@x;tag=2")).toEqual(["sip:b@x", ";tag=2"]);
  });

  it("builds the replacement like uac_replace_from(display, uri)", () => {
    expect(replacedAddr('"A" <sip:a@x>', null, "sip:b@y")).toBe('"A" <sip:b@y>');
    expect(replacedAddr('"A" <sip:a@x>', "", "sip:b@y")).toBe("<sip:b@y>");
    expect(replacedAddr('"A" <sip:a@x>', '"B"', "")).toBe('"B" <sip:a@x>');
    expect(replacedAddr("sip:a@x", "batman", "")).toBe("batman <sip:a@x>");
  });
});

describe("granted registration lifetime (RFC 3261 §10.2.4)", () => {
  const reply = (headers: string) => {
    const r = parseMessage(Buffer.from(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:a@x>;tag=2\r\nCall-ID: c\r\nCSeq: 2 REGISTER\r\n${headers}Content-Length: 0\r\n\r\n`));
    if (!r.ok) throw new Error(r.reason);
    return r.msg;
  };
  it("takes our Contact's expires, else Expires, else what was asked; 0 when our binding is missing", () => {
    expect(grantedExpires(reply("Contact: <sip:other@h>;expires=99, <sip:t1@h>;expires=120\r\nExpires: 300\r\n"), "t1", 600)).toBe(120);
    expect(grantedExpires(reply("Contact: <sip:t1@h>\r\nExpires: 300\r\n"), "t1", 600)).toBe(300);
    expect(grantedExpires(reply(""), "t1", 600)).toBe(600);
    expect(grantedExpires(reply("Contact: <sip:other@h>;expires=99\r\n"), "t1", 600)).toBe(0);
  });
});
