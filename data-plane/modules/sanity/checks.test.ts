import { describe, expect, it } from "vitest";
import { DEFAULT_SIZE_LIMITS, runSanityChecks, SanityCheck, type SanityOptions } from "./checks.js";
import { fakeView, invite } from "./test-fakes.js";

const replace = (from: string | RegExp, to: string) => (lines: string[]) => lines.map((l) => l.replace(from, to));
const drop = (prefix: string) => (lines: string[]) => lines.filter((l) => !l.startsWith(prefix));
const add = (...extra: string[]) => (lines: string[]) => [...lines, ...extra];

const OPTS: SanityOptions = { proxyRequire: new Set(["sec-agree"]), sizes: DEFAULT_SIZE_LIMITS };
const ALL = (1 << 17) - 1;
const run = (raw: string, checks = ALL, uri = 15) => runSanityChecks(fakeView(raw), checks, uri, OPTS);

describe("runSanityChecks", () => {
  it("passes a well-formed request on every check", () => {
    expect(run(invite())).toBeNull();
    expect(run(invite(replace("sip:bob@example.com SIP", "tel:+15551234567 SIP")))).toBeNull();
    expect(run(invite(replace(/^Contact: .*/, "Contact: *")), ALL, 7)).toBeNull();
  });

  const cases: Array<[string, number, string, number, RegExp]> = [
    // [name, bit, raw, expected code, reason]
    ["1 R-URI SIP version", SanityCheck.RURI_SIP_VERSION, invite(replace(" SIP/2.0", " SIP/3.0")), 505, /Version Not Supported \(R-URI\)/],
    ["1 R-URI version without '/'", SanityCheck.RURI_SIP_VERSION, invite(replace("example.com SIP/2.0", "example.com SIP2.0")), 0, /no '\/'/],
    ["2 R-URI scheme", SanityCheck.RURI_SCHEME, invite(replace("INVITE sip:bob@example.com", "INVITE http://example.com/")), 416, /Unsupported URI Scheme in Request URI/],
    ["2 R-URI syntax", SanityCheck.RURI_SCHEME, invite(replace("INVITE sip:bob@example.com", "INVITE sip:bob@exa mple.com")), 400, /Bad Request URI/],
    ["2 R-URI bad port", SanityCheck.RURI_SCHEME, invite(replace("INVITE sip:bob@example.com", "INVITE sip:bob@example.com:99999")), 400, /Bad Request URI/],
    ["4 missing Call-ID", SanityCheck.REQUIRED_HEADERS, invite(drop("Call-ID")), 0, /missing Call-ID/],
    ["4 missing Via", SanityCheck.REQUIRED_HEADERS, invite(drop("Via")), 0, /missing Via/],
    ["4 duplicated From", SanityCheck.REQUIRED_HEADERS, invite(add("f: <sip:eve@example.com>;tag=9")), 0, /duplicated From/],
    ["4 duplicated CSeq", SanityCheck.REQUIRED_HEADERS, invite(add("CSeq: 1 INVITE")), 0, /duplicated CSeq/],
    ["32 CSeq method mismatch", SanityCheck.CSEQ_METHOD, invite(replace("CSeq: 314159 INVITE", "CSeq: 314159 BYE")), 400, /CSeq method does not match request method/],
    ["32 CSeq without method", SanityCheck.CSEQ_METHOD, invite(replace("CSeq: 314159 INVITE", "CSeq: 314159")), 400, /Missing method in CSeq header/],
    ["64 CSeq number too large", SanityCheck.CSEQ_VALUE, invite(replace("CSeq: 314159", "CSeq: 2147483648")), 400, /CSeq number is illegal/],
    ["64 CSeq number not numeric", SanityCheck.CSEQ_VALUE, invite(replace("CSeq: 314159", "CSeq: 31x4")), 400, /CSeq number is illegal/],
    ["64 CSeq number missing", SanityCheck.CSEQ_VALUE, invite(replace("CSeq: 314159 INVITE", "CSeq: ")), 400, /Missing number in CSeq header/],
    ["128 Content-Length too big", SanityCheck.CONTENT_LENGTH, invite(replace(/^Content-Length: .*/, "Content-Length: 50")), 400, /Content-Length mis-match/],
    ["128 Content-Length too small", SanityCheck.CONTENT_LENGTH, invite(replace(/^Content-Length: .*/, "Content-Length: 0")), 400, /Content-Length mis-match/],
    ["128 Content-Length not a number", SanityCheck.CONTENT_LENGTH, invite(replace(/^Content-Length: .*/, "Content-Length: five")), 400, /Content-Length Failure/],
    ["256 Expires not a number", SanityCheck.EXPIRES_VALUE, invite(replace("Expires: 300", "Expires: soon")), 400, /Expires value is illegal/],
    ["256 Expires beyond 32 bits", SanityCheck.EXPIRES_VALUE, invite(replace("Expires: 300", "Expires: 4294967296")), 400, /Expires value is illegal/],
    ["256 Expires empty", SanityCheck.EXPIRES_VALUE, invite(replace("Expires: 300", "Expires: ")), 400, /Missing number in Expires header/],
    ["512 Proxy-Require unsupported", SanityCheck.PROXY_REQUIRE, invite(add("Proxy-Require: sec-agree, foo, bar")), 420, /Bad Proxy Require Extension/],
    ["1024 bad R-URI", SanityCheck.PARSE_URIS, invite(replace("INVITE sip:bob@example.com", "INVITE sip:bob@[::1")), 400, /Bad Request URI/],
    ["1024 bad From URI", SanityCheck.PARSE_URIS, invite(replace("<sip:alice@example.com>", "<sip:alice@exa mple.com>")), 400, /Invalid From Header/],
    ["1024 From with broken brackets", SanityCheck.PARSE_URIS, invite(replace("<sip:alice@example.com>", "<sip:alice@example.com")), 400, /Invalid From Header/],
    ["1024 bad To URI", SanityCheck.PARSE_URIS, invite(replace("To: <sip:bob@example.com>", "To: <sip:bob@@example.com>")), 400, /Invalid To Header/],
    ["1024 bad Contact URI", SanityCheck.PARSE_URIS, invite(replace(/^Contact: .*/, "Contact: <sip:alice@192.0.2.10:70000>")), 400, /Bad Contact URI/],
    ["1024 bad Contact header", SanityCheck.PARSE_URIS, invite(replace(/^Contact: .*/, 'Contact: "unterminated <sip:a@b>')), 400, /Bad Contact Header/],
    ["1024 star with other contacts", SanityCheck.PARSE_URIS, invite(replace(/^Contact: .*/, "Contact: *, <sip:a@b>")), 400, /Bad Contact Header/],
    ["2048 malformed digest", SanityCheck.DIGEST, invite(add('Proxy-Authorization: Digest username="a", realm="r"')), 400, /Bad Auth Header/],
    ["2048 empty username", SanityCheck.DIGEST, invite(add(`Authorization: Digest username="", realm="r", nonce="n", uri="sip:r", response="${"0".repeat(32)}"`)), 400, /Auth Empty User/],
    ["2048 non-digest scheme", SanityCheck.DIGEST, invite(add("Authorization: Basic Zm9vOmJhcg==")), 0, /not Digest/],
    ["8192 malformed digest", SanityCheck.AUTHORIZATION, invite(add('Authorization: Digest username="a, realm="r"')), 400, /Bad Auth Header/],
    ["4096 duplicate From tag", SanityCheck.DUPLICATE_TAGS, invite(replace(";tag=1928301774", ";tag=1;tag=2")), 400, /Many From Tag Params/],
    ["4096 duplicate To tag", SanityCheck.DUPLICATE_TAGS, invite(replace("To: <sip:bob@example.com>", "To: <sip:bob@example.com>;TAG=a;tag=b")), 400, /Many To Tag Params/],
    ["16384 Via without branch", SanityCheck.VIA1_HEADER, invite(replace(";branch=z9hG4bK776asdhds", "")), 0, /no branch/],
    ["16384 Via unparsable", SanityCheck.VIA1_HEADER, invite(replace(/^Via: .*/, "Via: garbage")), 0, /missing or unparsable/],
    ["32768 branch without magic cookie", SanityCheck.RFC3261, invite(replace("branch=z9hG4bK776asdhds", "branch=776asdhds")), 0, /magic cookie/],
    ["32768 Route without lr", SanityCheck.RFC3261, invite(replace("<sip:proxy.example.com;lr>", "<sip:proxy.example.com>")), 0, /Route URI without lr/],
    ["32768 Record-Route without lr", SanityCheck.RFC3261, invite(add("Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com>")), 0, /Record-Route URI without lr/],
    ["65536 message size", SanityCheck.SIZES, invite((l) => l, "a".repeat(17000)), 0, /size check: message too large/],
    ["65536 header line", SanityCheck.SIZES, invite(add(`X-Long: ${"x".repeat(2100)}`)), 0, /size check: header X-Long too large/],
    ["65536 R-URI", SanityCheck.SIZES, invite(replace("INVITE sip:bob@example.com", `INVITE sip:${"b".repeat(300)}@example.com`)), 0, /size check: R-URI too large/],
    ["65536 Contact URI", SanityCheck.SIZES, invite(replace(/^Contact: .*/, `Contact: <sip:${"c".repeat(300)}@h>`)), 0, /size check: Contact URI too large/],
    ["65536 body", SanityCheck.SIZES, invite((l) => l, "b".repeat(9000)), 0, /size check: body too large/],
  ];

  for (const [name, bit, raw, code, reason] of cases) {
    it(`bit ${name}`, () => {
      const f = run(raw, bit);
      expect(f).not.toBeNull();
      expect(f!.check).toBe(bit);
      expect(f!.code).toBe(code);
      expect(f!.reason).toMatch(reason);
      // other checks do not care (except the ones sharing the broken part): the same message
      // passes when this bit is left out of a set of unrelated checks
      const unrelated = [SanityCheck.CSEQ_VALUE, SanityCheck.EXPIRES_VALUE].filter((b) => b !== bit && !name.includes("CSeq") && !name.includes("Expires"));
      for (const b of unrelated) expect(run(raw, b)).toBeNull();
    });
  }

  it("reports 420 with an Unsupported header listing the unknown option tags", () => {
    const f = run(invite(add("Proxy-Require: sec-agree, foo", "Proxy-Require: bar")), SanityCheck.PROXY_REQUIRE);
    expect(f!.headers).toEqual([["Unsupported", "foo, bar"]]);
    expect(run(invite(add("Proxy-Require: SEC-AGREE")), SanityCheck.PROXY_REQUIRE)).toBeNull();
  });

  it("the authorization check (8192) lets non-Digest schemes through, the digest check (2048) does not", () => {
    const raw = invite(add("Authorization: Basic Zm9vOmJhcg=="));
    expect(run(raw, SanityCheck.AUTHORIZATION)).toBeNull();
    expect(run(raw, SanityCheck.DIGEST)?.code).toBe(0);
  });

  it("uri_checks select R-URI / From / To / Contact", () => {
    const raw = invite(replace(/^Contact: .*/, "Contact: <sip:x@bad host>"));
    expect(run(raw, SanityCheck.PARSE_URIS, 7)).toBeNull();
    expect(run(raw, SanityCheck.PARSE_URIS, 8)?.reason).toBe("Bad Contact URI");
  });

  it("runs checks in Kamailio's order and reports the first failure", () => {
    const raw = invite((l) => replace("CSeq: 314159 INVITE", "CSeq: x BYE")(replace(" SIP/2.0", " SIP/1.0")(l)));
    expect(run(raw, 17895)?.check).toBe(SanityCheck.RURI_SIP_VERSION);
    expect(run(raw, 17895 - 1)?.check).toBe(SanityCheck.CSEQ_METHOD);
  });

  it("checks replies without request-only checks and without reply codes", () => {
    const reply = [
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds",
      "From: <sip:alice@example.com>;tag=1",
      "To: <sip:bob@example.com>;tag=2",
      "Call-ID: abc",
      "CSeq: 1 INVITE",
      "Content-Length: 0",
    ].join("\r\n") + "\r\n\r\n";
    expect(run(reply, 17604, 6)).toBeNull();
    const bad = reply.replace("Content-Length: 0", "Content-Length: 10");
    expect(run(bad, 17604, 6)).toMatchObject({ check: SanityCheck.CONTENT_LENGTH, code: 0 });
    const dupTag = reply.replace(";tag=2", ";tag=2;tag=3");
    expect(run(dupTag, SanityCheck.DUPLICATE_TAGS, 6)).toMatchObject({ code: 0, reason: "Many To Tag Params" });
  });

  it("never throws on garbage and truncated messages", () => {
    const base = invite();
    for (let cut = 0; cut < base.length; cut += 7) {
      expect(() => run(base.slice(0, cut))).not.toThrow();
    }
    expect(() => run("\r\n\r\n")).not.toThrow();
  });
});
