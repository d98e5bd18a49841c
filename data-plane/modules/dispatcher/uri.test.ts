import { describe, expect, it } from "vitest";
import { parseAttrs } from "../../../tables/dispatcher/attrs.js";
import { isAcceptedReply, parseReplyCodes } from "./params.js";
import { normalizeIp } from "./state.js";
import { effectiveTransport, checkSipUri as parseSipUri, uriOfNameAddr } from "../../core/kit/index.js";

describe("parseSipUri", () => {
  it("reads scheme, user, host as written, port and transport", () => {
    expect(parseSipUri("sip:Alice@GW.Example.com:5080;transport=TCP;lr?subject=x")).toEqual({
      scheme: "sip",
      user: "Alice",
      host: "GW.Example.com",
      ipv6: false,
      portText: "5080",
      port: 5080,
      transport: "tcp",
      hostport: "GW.Example.com:5080",
    });
    expect(parseSipUri("sips:[2001:db8::1]")).toMatchObject({ scheme: "sips", host: "2001:db8::1", ipv6: true, port: 0, hostport: "[2001:db8::1]" });
    expect(parseSipUri("sip:user:secret@10.0.0.1")).toMatchObject({ user: "user", host: "10.0.0.1" });
  });

  it.each([
    ["10.0.0.1", "missing scheme"],
    ["tel:+123", "unsupported scheme"],
    ["sip:@host", "bad user part"],
    ["sip:[2001:db8::1", "unterminated IPv6"],
    ["sip:[zz::1]", "bad IPv6"],
    ["sip:host_with_underscore", "bad host"],
    ["sip:host:", "bad port"],
    ["sip:host:0", "out of range"],
    ["sip:host;transport=foo", "unknown transport"],
  ])("rejects %j", (uri, reason) => {
    expect(parseSipUri(uri)).toContain(reason);
  });

  it("default transports and name-addr stripping", () => {
    expect(effectiveTransport(parseSipUri("sip:a.example.com") as never)).toBe("udp");
    expect(effectiveTransport(parseSipUri("sips:a.example.com") as never)).toBe("tls");
    expect(effectiveTransport(parseSipUri("sip:a.example.com;transport=ws") as never)).toBe("ws");
    expect(uriOfNameAddr('"Bob" <sip:bob@b.example.com;x=1>;tag=9')).toBe("sip:bob@b.example.com;x=1");
    expect(uriOfNameAddr("sip:bob@b.example.com;tag=9")).toBe("sip:bob@b.example.com");
  });
});

describe("normalizeIp", () => {
  it("canonicalises IPv6 and IPv4-mapped addresses", () => {
    expect(normalizeIp("2001:DB8:0:0:0:0:0:1")).toBe("2001:db8:0:0:0:0:0:1");
    expect(normalizeIp("2001:db8::1")).toBe("2001:db8:0:0:0:0:0:1");
    expect(normalizeIp("[::1]")).toBe("0:0:0:0:0:0:0:1");
    expect(normalizeIp("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(normalizeIp("64:ff9b::192.0.2.1")).toBe("64:ff9b:0:0:0:0:c000:201");
    expect(normalizeIp(" 192.0.2.1 ")).toBe("192.0.2.1");
  });
});

describe("attrs and reply codes", () => {
  it("normalises the overload-control trio as Kamailio", () => {
    expect(parseAttrs("ocmin=50;ocmax=40;ocrate=90")).toMatchObject({ ocmin: 0, ocmax: 40, ocrate: 40 });
    expect(parseAttrs("ocmin=20;ocrate=10")).toMatchObject({ ocmin: 20, ocmax: 100, ocrate: 20 });
    expect(parseAttrs(";;")).toMatchObject({ body: "" });
    expect(() => parseAttrs("=x")).toThrow("empty key");
  });

  it("parses ping_reply_codes and accepts 2xx always", () => {
    const rc = parseReplyCodes("class=4; code=503 ;");
    expect(rc).toEqual({ classes: [4], codes: [503] });
    expect([200, 299, 404, 486, 503, 500, 302, 408].map((c) => isAcceptedReply(c, rc))).toEqual([true, true, true, true, true, false, false, true]);
    expect(isAcceptedReply(404, parseReplyCodes(""))).toBe(false);
    expect(() => parseReplyCodes("codes=4")).toThrow("bad entry 'codes=4'");
    expect(() => parseReplyCodes("code=99")).toThrow("out of range");
  });
});
