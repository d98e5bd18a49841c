import { describe, expect, it } from "vitest";
import { testRequest } from "../../testing/sip-harness.js";
import { createTestHost } from "../../testing/test-host.js";
import { fakeView, invite } from "./test-fakes.js";
import sanityModule, { SANITY_RESULT_VAR, type SanityApi, type SanityFailure } from "./index.js";

/** The real request context of `raw`, from 192.0.2.99 (sanity reads msg, method, ruri, source, vars and replies). */
function fakeReq(raw: string) {
  const { req, replies } = testRequest(raw, { source: { proto: "udp", address: "192.0.2.99", port: 5060 } });
  return { req, replies };
}

async function api(config: Record<string, unknown> = {}) {
  const host = createTestHost("sanity", config);
  return { host, sanity: (await sanityModule.init(host)) as SanityApi };
}

describe("sanity module", () => {
  it("check() passes good requests and replies with the failed check's code (autodrop)", async () => {
    const { sanity, host } = await api();
    const ok = fakeReq(invite());
    expect(sanity.check(ok.req)).toBe(true);
    expect(ok.replies).toEqual([]);

    const bad = fakeReq(invite((l) => l.map((x) => x.replace("CSeq: 314159 INVITE", "CSeq: 314159 BYE"))));
    expect(sanity.check(bad.req)).toBe(false);
    expect(bad.replies).toEqual([{ code: 400, reason: "CSeq method does not match request method", headers: [] }]);
    expect((bad.req.vars.get(SANITY_RESULT_VAR) as SanityFailure).check).toBe(32);

    // default 17895 does not include 32768: a missing lr is fine; explicitly asked, it fails silently
    const noLr = fakeReq(invite((l) => l.map((x) => x.replace(";lr>", ">"))));
    expect(sanity.check(noLr.req)).toBe(true);
    expect(sanity.check(noLr.req, 32768, 1)).toBe(false);
    expect(noLr.replies).toEqual([]);
    expect(host.stats.select("sanity:failed")).toEqual([["sanity:failed", 2]]);
  });

  it("does not reply to messages it cannot answer, nor to ACK", async () => {
    const { sanity } = await api();
    const noVia = fakeReq(invite((l) => l.filter((x) => !x.startsWith("Via"))));
    expect(sanity.check(noVia.req)).toBe(false);
    expect(noVia.replies).toEqual([]);
    const ack = fakeReq(invite((l) => l.map((x) => x.replace("INVITE sip", "ACK sip").replace("314159 INVITE", "314159 ACK").replace("Expires: 300", "Expires: x"))));
    expect(sanity.check(ack.req)).toBe(false);
    expect(ack.replies).toEqual([]);
  });

  it("replies 420 with Unsupported for unknown Proxy-Require tags", async () => {
    const { sanity } = await api({ proxy_require: "sec-agree" });
    const r = fakeReq(invite((l) => [...l, "Proxy-Require: sec-agree, 100rel"]));
    expect(sanity.check(r.req, 512, 1)).toBe(false);
    expect(r.replies).toEqual([{ code: 420, reason: "Bad Proxy Require Extension", headers: [["Unsupported", "100rel"]] }]);
  });

  it("noreply mode reports without replying; sanity.reply() sends it later", async () => {
    const { sanity } = await api({ noreply: 1 });
    const r = fakeReq(invite((l) => l.map((x) => x.replace("Expires: 300", "Expires: never"))));
    expect(sanity.check(r.req)).toBe(false);
    expect(r.replies).toEqual([]);
    expect(sanity.reply(r.req)).toBe(true);
    expect(r.replies).toEqual([{ code: 400, reason: "Expires value is illegal", headers: [] }]);
    expect(sanity.reply(fakeReq(invite()).req)).toBe(false);
  });

  it("rejects out-of-range bitmasks like Kamailio", async () => {
    const { sanity } = await api();
    const r = fakeReq(invite());
    expect(() => sanity.check(r.req, 0)).toThrow(/msg_checks 0/);
    expect(() => sanity.check(r.req, 1 << 17)).toThrow(/msg_checks/);
    expect(() => sanity.check(r.req, 1, 16)).toThrow(/uri_checks 16/);
  });

  it("checkReply: 17604/6 on replies plus the message size limit, never replies", async () => {
    const { sanity } = await api();
    const reply = ["SIP/2.0 180 Ringing", "Via: SIP/2.0/UDP h;branch=z9hG4bKx", "From: <sip:a@h>;tag=1", "To: <sip:b@h>;tag=2", "Call-ID: c", "CSeq: 1 INVITE", "Content-Length: 0"].join("\r\n") + "\r\n\r\n";
    expect(sanity.checkReply(fakeView(reply))).toBe(true);
    expect(sanity.checkReply(fakeView(reply.replace("From: <sip:a@h>", "From: <sip:a@h")))).toBe(false);
    expect(sanity.checkReply(fakeView(reply.replace("Content-Length: 0", "Content-Length: 17000") + "x".repeat(17000)))).toBe(false);
  });

  it("reqinit: drops scanners silently, 403 for oversized messages and R-URIs", async () => {
    const { sanity, host } = await api();
    for (const ua of ["friendly-scanner", "sipvicious 0.3", "VaxSIPUserAgent/3.1", "pplsip", "sipcli/v1.8"]) {
      const r = fakeReq(invite((l) => [...l, `User-Agent: ${ua}`]));
      expect(sanity.reqinit(r.req)).toBe(false);
      expect(r.replies).toEqual([]);
    }
    const phone = fakeReq(invite((l) => [...l, "User-Agent: Linphone/5.2"]));
    expect(sanity.reqinit(phone.req)).toBe(true);
    const big = fakeReq(invite((l) => l, "x".repeat(16384)));
    expect(sanity.reqinit(big.req)).toBe(false);
    expect(big.replies).toEqual([{ code: 403, reason: "Message too large", headers: [] }]);
    const longRuri = fakeReq(invite((l) => l.map((x) => x.replace("INVITE sip:bob@example.com", `INVITE sip:${"b".repeat(520)}@example.com`))));
    expect(sanity.reqinitVerdict(longRuri.req)).toBe("ruri-too-large");
    expect(sanity.reqinit(longRuri.req)).toBe(false);
    expect(longRuri.replies[0]).toMatchObject({ code: 403, reason: "R-URI too large" });
    expect(host.stats.select("sanity:scanners_dropped")).toEqual([["sanity:scanners_dropped", 5]]);
    expect(host.stats.select("sanity:too_large")).toEqual([["sanity:too_large", 2]]);
  });

  it("REQINIT limits and the scanner pattern are configurable", async () => {
    const { sanity } = await api({ scanner_ua: "^evil", msg_max_size: 0 });
    expect(sanity.reqinitVerdict(fakeReq(invite((l) => [...l, "User-Agent: friendly-scanner"])).req)).toBe("ok");
    expect(sanity.reqinitVerdict(fakeReq(invite((l) => [...l, "User-Agent: evil bot"])).req)).toBe("scanner");
    expect(sanity.reqinitVerdict(fakeReq(invite((l) => l, "x".repeat(100_000))).req)).toBe("ok"); // 0 = no size limit
    const { sanity: tight } = await api({ ruri_max_size: 10 });
    expect(tight.reqinitVerdict(fakeReq(invite()).req)).toBe("ruri-too-large");
    const { sanity: none } = await api({ scanner_ua: null });
    expect(none.isScanner(fakeView(invite((l) => [...l, "User-Agent: friendly-scanner"])))).toBe(false);
  });

  it("validates parameters at init", async () => {
    await expect(api({ default_checks: 0 })).rejects.toThrow(/default_checks/);
    await expect(api({ uri_checks: 99 })).rejects.toThrow(/uri_checks/);
    await expect(api({ scanner_ua: "(" })).rejects.toThrow(/scanner_ua/);
    await expect(api({ proxy_require: 5 })).rejects.toThrow(/proxy_require/);
    await expect(api({ size_headerz: 5 })).rejects.toThrow(/unknown parameter 'size_headerz'/);
  });
});
