import { describe, expect, it } from "vitest";
import type { SipMessage } from "./message.js";
import { parseMessage } from "./parse.js";
import { parseUri, formatSipUri, rewriteUri } from "../../../lib/sip/uri.js";
import { parseNameAddr, parseVia, parseCSeq, splitList } from "./header-values.js";
import { canonicalName, canonicalNameAt } from "./header-names.js";

const msg = (t: string): SipMessage => {
  const r = parseMessage(Buffer.from(t.replace(/\r?\n/g, "\r\n"), "latin1"));
  if (!r.ok) throw new Error(r.reason);
  return r.msg;
};

describe("URIs (RFC 3261 §19.1)", () => {
  it("parses user, password, host, port, params and headers", () => {
    const u = parseUri("sip:alice:secret@Example.COM:5070;transport=TCP;lr;maddr=10.0.0.1?subject=hi&x=1")!;
    expect(u).toMatchObject({ scheme: "sip", user: "alice", password: "secret", host: "example.com", port: 5070, headers: "subject=hi&x=1" });
    expect([...u.params]).toEqual([
      ["transport", "TCP"],
      ["lr", ""],
      ["maddr", "10.0.0.1"],
    ]);
  });
  it("handles IPv6 references, sips and tel", () => {
    expect(parseUri("sips:[2001:DB8::1]:5061")).toMatchObject({ scheme: "sips", host: "2001:db8::1", ipv6: true, port: 5061 });
    expect(parseUri("tel:+1-201-555-0123;phone-context=example.com")).toMatchObject({ scheme: "tel", user: "+1-201-555-0123" });
  });
  it("keeps escapes in the user part and accepts ; and ? there", () => {
    expect(parseUri("sip:sips%3Auser%40example.com@example.net")!.user).toBe("sips%3Auser%40example.com");
    expect(parseUri("sip:user;par=u%40example.net@example.com")!.user).toBe("user;par=u%40example.net");
  });
  it("rejects malformed URIs", () => {
    for (const bad of ["sip:", "sip:user@", "sip:host:99999", "sip:[::1", "sip:us er@host", "sip:host;;lr", "sip:a@b%zz", "http://x", "sip:host:", "sip:..host"]) {
      expect(parseUri(bad), bad).toBeNull();
    }
  });
  it("formats and rewrites", () => {
    const u = parseUri("sip:bob@10.0.0.1:5060;transport=udp")!;
    expect(rewriteUri(u, { host: "::1", port: 5070 })).toBe("sip:bob@[::1]:5070;transport=udp");
    expect(rewriteUri(u, { user: null })).toBe("sip:10.0.0.1:5060;transport=udp");
    expect(formatSipUri({ host: "example.com", params: [["lr", ""]] })).toBe("sip:example.com;lr");
  });
});

describe("header values", () => {
  it("name-addr with quoted display name, escapes and tag", () => {
    const a = parseNameAddr('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>;tag=98asjd8;x=y')!;
    expect(a.displayName).toBe('J Rosenberg \\"');
    expect(a.uri!.user).toBe("jdrosen");
    expect(a.tag).toBe("98asjd8");
    expect(a.params.get("x")).toBe("y");
  });
  it("addr-spec: parameters belong to the header, not the URI", () => {
    const a = parseNameAddr("sip:alice@example.com;tag=1234")!;
    expect(a.uriText).toBe("sip:alice@example.com");
    expect(a.tag).toBe("1234");
  });
  it("rejects unbalanced quotes, spaces inside <>, unenclosed URIs with ? and token-less display names", () => {
    for (const bad of ['"Bob <sip:b@x>', "< sip:b@x >", "sip:b@x?Route=y", "Bell, Alexander <sip:a@x>", "<sip:b@x>;;", "<>"]) {
      expect(parseNameAddr(bad), bad).toBeNull();
    }
  });
  it("accepts other URI schemes in headers", () => {
    expect(parseNameAddr("<http://example.com/x>")!.uri).toBeNull();
    expect(parseNameAddr("isbn:2983792873")!.uriText).toBe("isbn:2983792873");
  });
  it("Via with LWS around slashes, IPv6 sent-by, received and rport", () => {
    const v = parseVia("SIP  /   2.0 / UDP [2001:db8::9]:5070 ; branch = z9hG4bK1 ;received=10.0.0.1;rport")!;
    expect(v).toMatchObject({ protocol: "SIP/2.0", transport: "UDP", host: "2001:db8::9", ipv6: true, port: 5070, branch: "z9hG4bK1", received: "10.0.0.1", rport: "" });
    expect(parseVia("SIP/2.0/TCP h;rport=5061")!.rport).toBe("5061");
    expect(parseVia("SIP/2.0/UDP 192.0.2.15;;")).toBeNull();
    expect(parseVia("SIP/2.0/UDP")).toBeNull();
    expect(parseVia("SIP/2.0/UDP host;rport=abc")).toBeNull();
  });
  it("CSeq bounds", () => {
    expect(parseCSeq("0009\r\n  INVITE".replace("\r\n  ", " "))).toEqual({ seq: 9, method: "INVITE" });
    expect(parseCSeq("2147483648 INVITE")).toBeNull();
    expect(parseCSeq("1INVITE")).toBeNull();
  });
  it("splits lists outside quotes and angle brackets", () => {
    expect(splitList('"a, b" <sip:x@y;p=1,2>, <sip:z@w> , sip:q@r')).toEqual(['"a, b" <sip:x@y;p=1,2>', "<sip:z@w>", "sip:q@r"]);
  });
  it("header names: compact forms, case, interned well-known names", () => {
    expect(canonicalName("V")).toBe("via");
    expect(canonicalName("i")).toBe("call-id");
    expect(canonicalName("MaX-fOrWaRdS")).toBe("max-forwards");
    const s = "xxRecord-Routeyy";
    expect(canonicalNameAt(s, 2, 14)).toBe("record-route");
    expect(canonicalNameAt("X-Custom", 0, 8)).toBe("x-custom");
  });
});

describe("messages", () => {
  const invite = `INVITE sip:bob@example.com SIP/2.0
v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1, SIP/2.0/TCP 10.0.0.2;branch=z9hG4bK2
Via: SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK3
f: Alice <sip:alice@example.com>;tag=a
t: <sip:bob@example.com>
i: c1@x
CSeq: 1 INVITE
Subject: a long
 folded
\tsubject
l: 4

v=0
`;
  it("locates headers once, expands compact names, joins folded lines", () => {
    const m = msg(invite);
    expect(m.method).toBe("INVITE");
    expect(m.callId).toBe("c1@x");
    expect(m.vias.map((v) => v.branch)).toEqual(["z9hG4bK1", "z9hG4bK2", "z9hG4bK3"]);
    expect(m.topVia.host).toBe("10.0.0.1");
    expect(m.header("subject")).toBe("a long folded subject");
    expect(m.headerValues("via")).toHaveLength(3);
    expect(m.fromTag).toBe("a");
    expect(m.toTag).toBeNull();
    expect(m.body).toBe("v=0\r");
  });
  it("serializes untouched messages byte-exact", () => {
    const text = invite.replace(/\r?\n/g, "\r\n");
    expect(msg(invite).serialize()).toBe(text.slice(0, text.indexOf("\r\n\r\n") + 4 + 4));
  });
  it("applies patches in offset order, leaving unknown bytes intact", () => {
    const m = msg(invite);
    m.addPatch(m.ruriStart, m.ruriEnd, "sip:bob@10.9.9.9:5070");
    m.addPatch(m.startLineEnd, m.startLineEnd, "Via: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKnew\r\n");
    const sf = m.field("subject")!;
    m.addPatch(sf.start, sf.end, "");
    const out = m.serialize();
    expect(out.startsWith("INVITE sip:bob@10.9.9.9:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKnew\r\nv: SIP/2.0/UDP")).toBe(true);
    expect(out).not.toContain("Subject");
    expect(msg(out).callId).toBe("c1@x");
  });
  it("adds Content-Length for streams when missing", () => {
    const m = msg("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: a\r\n\r\n");
    expect(m.serialize(null, true)).toContain("Content-Length: 0\r\n\r\n");
  });
  it("responses", () => {
    const m = msg("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    expect(m.isRequest).toBe(false);
    expect(m.status).toBe(180);
    expect(m.reason).toBe("Ringing");
    expect(m.method).toBe("");
    expect(m.cseq.method).toBe("INVITE");
  });
  it("limits: oversized, too many headers, over-long lines, missing blank line", () => {
    expect(parseMessage(Buffer.alloc(70_000, 65)).ok).toBe(false);
    const many = "OPTIONS sip:x SIP/2.0\r\n" + "X-A: 1\r\n".repeat(300) + "\r\n";
    expect(parseMessage(Buffer.from(many))).toMatchObject({ ok: false, reason: "too many headers" });
    const long = "OPTIONS sip:x SIP/2.0\r\nX-A: " + "a".repeat(20_000) + "\r\n\r\n";
    expect(parseMessage(Buffer.from(long))).toMatchObject({ ok: false, reason: "header line too long" });
    expect(parseMessage(Buffer.from("OPTIONS sip:x SIP/2.0\r\nVia: x\r\n")).ok).toBe(false);
  });
  it("never throws on random or mutated input", () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const base = Buffer.from(invite.replace(/\r?\n/g, "\r\n"));
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.from(base);
      const n = 1 + Math.floor(rnd() * 8);
      for (let k = 0; k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const r = parseMessage(b);
      if (r.ok) {
        // lazily parsed values must not throw either
        void r.msg.vias;
        void r.msg.from;
        void r.msg.to;
        void r.msg.cseq;
        void r.msg.contacts();
        void r.msg.ruriParsed;
        void r.msg.maxForwards;
      }
    }
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(Math.floor(rnd() * 600));
      for (let k = 0; k < b.length; k++) b[k] = Math.floor(rnd() * 256);
      parseMessage(b);
    }
  });
});
