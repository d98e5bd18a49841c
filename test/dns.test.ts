/**
 * RFC 3263 resolution against a local DNS server on UDP loopback (test/helpers/dns-server.ts; no
 * outside DNS), ports from a freePortBlock(100) base P (test/kit/ports.ts): NAPTR/SRV/A/AAAA answers (cross-checked with node:dns), SRV
 * priority/weight order, the TTL cache (expiry refreshes it; caps; negative answers), and end to
 * end: a call failing over from a dead SRV target and from a 503 to the next one inside the same
 * transaction, the destination blocklist and its RPCs, TTL expiry moving calls to a new target,
 * ENUM rewriting the R-URI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resolver } from "node:dns/promises";
import { join } from "node:path";
import { TestDnsServer } from "./helpers/dns-server.js";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { runSipp } from "./helpers/sipp.js";
import { SipUa } from "./helpers/ws-client.js";
import { SipResolver, orderSrv } from "../data-plane/core/dns/sip-resolver.js";
import { DEFAULT_DNS } from "../data-plane/core/transport/gateway-config.js";
import { nextHopOf } from "../data-plane/core/tm/routing.js";
import { enumQuery, enumDomain, applyNaptrRegexp } from "../data-plane/core/dns/enum-query.js";
import { gatewayRpcMethods } from "../data-plane/core/gateway/rpc-methods.js";
import { DnsTimeoutError } from "../data-plane/core/dns/dns-client.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(100);

const SCRIPT = join(TEST_SCRIPTS, "proxy-test.ts");
let dns: TestDnsServer;

beforeAll(async () => {
  dns = await TestDnsServer.start();
});
afterAll(() => dns?.close());

function resolver(over: Partial<typeof DEFAULT_DNS> = {}, v6 = true): SipResolver {
  return new SipResolver({ ...DEFAULT_DNS, servers: [dns.address], naptr: true, timeoutMs: 300, tries: 1, ...over }, (_p, fam) => fam === 4 || v6);
}

function rpc(dp: DataPlane, name: string, args: Record<string, unknown> = {}): unknown {
  return gatewayRpcMethods(dp)
    .find((m) => m.name === name)!
    .handler(args, { transport: "internal" });
}

describe("resolver against the local DNS server", () => {
  beforeAll(() => {
    dns.set("naptr.test", [
      { type: "NAPTR", order: 20, preference: 10, flags: "s", service: "SIP+D2T", regexp: "", replacement: "_sip._tcp.naptr.test" },
      { type: "NAPTR", order: 10, preference: 10, flags: "s", service: "SIP+D2U", regexp: "", replacement: "_sip._udp.naptr.test" },
      { type: "NAPTR", order: 5, preference: 10, flags: "s", service: "SIPS+D2T", regexp: "", replacement: "_sips._tcp.naptr.test" },
    ]);
    dns.set("_sip._udp.naptr.test", [
      { type: "SRV", priority: 20, weight: 0, port: 5080, target: "b.naptr.test" },
      { type: "SRV", priority: 10, weight: 5, port: 5070, target: "a.naptr.test" },
    ]);
    dns.set("_sip._tcp.naptr.test", [{ type: "SRV", priority: 10, weight: 0, port: 5090, target: "a.naptr.test" }]);
    dns.set("a.naptr.test", [
      { type: "A", address: "127.0.0.10" },
      { type: "AAAA", address: "2001:db8::10" },
    ]);
    dns.set("b.naptr.test", [{ type: "A", address: "127.0.0.11" }]);
    dns.set("plain.test", [{ type: "A", address: "127.0.0.12", ttl: 1 }]);
  });

  it("serves records node:dns decodes the same way the resolver does", async () => {
    const nd = new Resolver();
    nd.setServers([dns.address]);
    const r = resolver();
    const srvNode = await nd.resolveSrv("_sip._udp.naptr.test");
    const srvOurs = (await r.lookup("_sip._udp.naptr.test", "SRV")).data;
    expect(srvOurs).toEqual(expect.arrayContaining(srvNode.map((s) => ({ priority: s.priority, weight: s.weight, port: s.port, target: s.name }))));
    const naptrNode = await nd.resolveNaptr("naptr.test");
    const naptrOurs = (await r.lookup("naptr.test", "NAPTR")).data;
    expect(naptrOurs).toHaveLength(naptrNode.length);
    expect(naptrOurs).toEqual(expect.arrayContaining(naptrNode.map((n) => ({ ...n, preference: n.preference }))));
    expect((await r.lookup("a.naptr.test", "AAAA")).data).toEqual(await nd.resolve6("a.naptr.test"));
    r.close();
  });

  it("follows NAPTR → SRV (priority order) → A/AAAA, skipping transports without a socket", async () => {
    // no TLS socket: SIPS+D2T (order 5) is skipped; UDP (order 10) before TCP (order 20)
    const r = new SipResolver({ ...DEFAULT_DNS, servers: [dns.address], naptr: true, timeoutMs: 300, tries: 1 }, (p) => p === "udp" || p === "tcp");
    const eps = await r.resolveHop(nextHopOf("sip:bob@naptr.test")!);
    expect(eps).toEqual([
      { proto: "udp", address: "127.0.0.10", port: 5070 },
      { proto: "udp", address: "2001:db8::10", port: 5070 },
      { proto: "udp", address: "127.0.0.11", port: 5080 },
      { proto: "tcp", address: "127.0.0.10", port: 5090 },
      { proto: "tcp", address: "2001:db8::10", port: 5090 },
    ]);
    r.close();
  });

  it("uses SRV without NAPTR, A with an explicit port, and the URI's transport", async () => {
    const r = resolver({ naptr: false }, false);
    expect(await r.resolveHop(nextHopOf("sip:bob@naptr.test")!)).toEqual([
      { proto: "udp", address: "127.0.0.10", port: 5070 },
      { proto: "udp", address: "127.0.0.11", port: 5080 },
    ]);
    expect(await r.resolveHop(nextHopOf("sip:bob@a.naptr.test:7000")!)).toEqual([{ proto: "udp", address: "127.0.0.10", port: 7000 }]);
    expect(await r.resolveHop(nextHopOf("sip:bob@plain.test;transport=tcp")!)).toEqual([{ proto: "tcp", address: "127.0.0.12", port: 5060 }]);
    r.close();
  });

  it("orders SRV by priority, then by weight (RFC 2782 weighted choice)", () => {
    const recs = [
      { priority: 20, weight: 0, port: 1, target: "z" },
      { priority: 10, weight: 1, port: 2, target: "light" },
      { priority: 10, weight: 99, port: 3, target: "heavy" },
    ];
    expect(orderSrv(recs, false).map((r) => r.target)).toEqual(["heavy", "light", "z"]);
    // the running sum picks "heavy" for any draw above 1
    expect(orderSrv(recs, true, (max) => max - 1).map((r) => r.target)).toEqual(["heavy", "light", "z"]);
    expect(orderSrv(recs, true, () => 1).map((r) => r.target)).toEqual(["light", "heavy", "z"]);
    // over many draws the split follows the weights
    let heavyFirst = 0;
    for (let i = 0; i < 2000; i++) if (orderSrv(recs, true)[0]!.target === "heavy") heavyFirst++;
    expect(heavyFirst / 2000).toBeGreaterThan(0.95);
  });

  it("caches answers for their TTL and asks again after it expires", async () => {
    const r = resolver();
    const before = dns.count("A", "plain.test");
    expect((await r.lookup("plain.test", "A")).data).toEqual(["127.0.0.12"]);
    expect((await r.lookup("plain.test", "A")).data).toEqual(["127.0.0.12"]);
    expect(dns.count("A", "plain.test")).toBe(before + 1);
    dns.set("plain.test", [{ type: "A", address: "127.0.0.13", ttl: 1 }]);
    expect((await r.lookup("plain.test", "A")).data).toEqual(["127.0.0.12"]); // still cached
    await new Promise((res) => setTimeout(res, 1100));
    expect((await r.lookup("plain.test", "A")).data).toEqual(["127.0.0.13"]);
    expect(dns.count("A", "plain.test")).toBe(before + 2);
    r.close();
  });

  it("caps TTLs (maxTtlS), caches negative answers, and times out on a silent server", async () => {
    dns.set("long.test", [{ type: "A", address: "127.0.0.14", ttl: 3600 }]);
    const r = resolver({ maxTtlS: 1, negativeTtlS: 2 });
    expect((await r.lookup("long.test", "A")).ttl).toBe(1);
    const nx = await r.lookup("missing.test", "A");
    expect(nx.negative).toBe(true);
    expect(nx.ttl).toBe(2); // min(SOA minimum 5, negativeTtlS 2)
    const n = dns.count("A", "missing.test");
    await r.lookup("missing.test", "A");
    expect(dns.count("A", "missing.test")).toBe(n);
    dns.silent.add("quiet.test");
    await expect(r.lookup("quiet.test", "A")).rejects.toBeInstanceOf(DnsTimeoutError);
    r.close();
  });

  it("builds ENUM domains and applies NAPTR substitution expressions", () => {
    expect(enumDomain("+4930123")).toBe("3.2.1.0.3.9.4.e164.arpa.");
    expect(enumDomain("+49a")).toBeNull();
    expect(applyNaptrRegexp("!^\\+49(.*)$!sip:\\1@de.example!", "+4930123")).toBe("sip:30123@de.example");
    expect(applyNaptrRegexp("!^\\+1.*$!sip:x@y!", "+4930123")).toBeNull();
  });
});

describe("DNS failover, blocklist and TTL refresh end to end (UDP)", () => {
  let dp: DataPlane;
  let uasB: SipUa;
  let busy: SipUa;
  beforeAll(async () => {
    // svc.test: SRV priority 10 → nothing listening (P + 10); priority 20 → a UAS (P + 11)
    dns.set("_sip._udp.svc.test", [
      { type: "SRV", priority: 10, weight: 0, port: P + 10, target: "dead.svc.test" },
      { type: "SRV", priority: 20, weight: 0, port: P + 11, target: "live.svc.test" },
    ]);
    dns.set("dead.svc.test", [{ type: "A", address: "127.0.0.1" }]);
    dns.set("live.svc.test", [{ type: "A", address: "127.0.0.1" }]);
    // busy.test: first target answers 503, second 200
    dns.set("_sip._udp.busy.test", [
      { type: "SRV", priority: 10, weight: 0, port: P + 12, target: "live.svc.test" },
      { type: "SRV", priority: 20, weight: 0, port: P + 11, target: "live.svc.test" },
    ]);
    uasB = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: P + 11 })).answer();
    busy = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: P + 12 })).answer({ status: 503 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P}`],
      core: { tm: { frTimer: 1000 } },
      dns: { servers: [dns.address], failover: true, timeoutMs: 500, blocklist: { enabled: true, expireS: 30 } },
      script: { file: SCRIPT, settings: { targets: ["sip:svc.test"] } },
    });
  });
  afterAll(async () => {
    uasB?.close();
    busy?.close();
    await dp?.stop();
  });

  it("fails over from a dead SRV target to the next one inside the same transaction, then skips it (blocklist)", async () => {
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P });
    try {
      const t0 = Date.now();
      expect(await ua.call("sip:bob@svc.test")).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // fr_timer on the dead target
      const bl = rpc(dp, "dst_blocklist.view") as Array<Record<string, unknown>>;
      expect(bl).toEqual([expect.objectContaining({ protocol: "udp", ip: "127.0.0.1", port: P + 10, flags: 16 })]);
      const t1 = Date.now();
      expect(await ua.call("sip:bob@svc.test")).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      expect(Date.now() - t1).toBeLessThan(800);
      expect(dp.stats.select("tmx:UAS_transactions")[0]![1]).toBe(4);
    } finally {
      ua.close();
    }
  });

  it("carries 30 sipp calls without failures once the dead target is blocklisted", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 1, remote: `127.0.0.1:${P}`, calls: 30, rate: 30, service: "bob" });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(30);
  });

  it("moves on to the next target on a 503 and blocklists the 503 sender", async () => {
    dp.script.use({
      request(req) {
        if (req.hasToTag) {
          if (req.looseRoute()) req.relay();
          return;
        }
        if (req.method === "ACK") return;
        req.recordRoute();
        req.setDst("sip:busy.test");
        req.relay();
      },
    });
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P });
    try {
      const before = busy.received.filter((m) => m.isRequest && m.method === "INVITE").length;
      expect(await ua.call("sip:bob@busy.test")).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      expect(busy.received.filter((m) => m.isRequest && m.method === "INVITE").length).toBe(before + 1);
      const bl = rpc(dp, "dst_blocklist.view") as Array<{ port: number; flags: number }>;
      expect(bl.find((e) => e.port === (P + 12))!.flags & 32).toBe(32);
    } finally {
      ua.close();
    }
  });

  it("dst_blocklist.add / delete / delete_all and dns.view / dns.lookup over the RPC registry", async () => {
    rpc(dp, "dst_blocklist.delete_all");
    expect(rpc(dp, "dst_blocklist.view")).toEqual([]);
    expect(rpc(dp, "dst_blocklist.add", { ip: "127.0.0.1", port: P + 11, proto: "1" })).toMatchObject({ protocol: "udp", port: P + 11 });
    expect(() => rpc(dp, "dst_blocklist.add", { ip: "nope", port: 1, proto: "udp" })).toThrow(/ip/);
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P });
    try {
      // every svc.test target blocked now except the dead one, which is clean again: still no answer in time
      rpc(dp, "dst_blocklist.add", { ip: "127.0.0.1", port: P + 12, proto: "udp" });
      dp.script.use({
        request(req) {
          req.setDst("sip:busy.test");
          if (!req.relay()) req.replyError();
        },
      });
      const r = await ua.call("sip:bob@busy.test");
      expect(r.inviteStatus).toBe(500); // nothing left to send to
      expect(rpc(dp, "dst_blocklist.delete", { ip: "127.0.0.1", port: P + 11, proto: "udp" })).toEqual({ deleted: 1 });
      expect(() => rpc(dp, "dst_blocklist.delete", { ip: "127.0.0.1", port: P + 11, proto: "udp" })).toThrow(/not in the blocklist/);
    } finally {
      ua.close();
    }
    const view = rpc(dp, "dns.view") as Array<{ name: string; type: string; records: string[] }>;
    expect(view.find((e) => e.name === "_sip._udp.busy.test")!.records).toContain(`10 0 ${P + 12} live.svc.test`);
    expect(await rpc(dp, "dns.lookup", { type: "A", name: "live.svc.test" })).toMatchObject({ records: ["127.0.0.1"], negative: 0 });
  });

  it("sends new calls to a new SRV target once the old answer's TTL has expired", async () => {
    rpc(dp, "dst_blocklist.delete_all");
    dns.set("_sip._udp.moving.test", [{ type: "SRV", priority: 10, weight: 0, port: P + 11, target: "live.svc.test", ttl: 1 }]);
    dp.script.use({
      request(req) {
        if (req.hasToTag) {
          if (req.looseRoute()) req.relay();
          return;
        }
        if (req.method === "ACK") return;
        req.recordRoute();
        req.setDst("sip:moving.test");
        req.relay();
      },
    });
    const other = (await SipUa.listen({ transport: "udp", host: "127.0.0.1", port: P + 13 })).answer();
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P });
    try {
      const invites = (u: SipUa) => u.received.filter((m) => m.isRequest && m.method === "INVITE").length;
      const b0 = invites(uasB);
      expect(await ua.call("sip:bob@moving.test")).toMatchObject({ inviteStatus: 200 });
      dns.set("_sip._udp.moving.test", [{ type: "SRV", priority: 10, weight: 0, port: P + 13, target: "live.svc.test", ttl: 1 }]);
      expect(await ua.call("sip:bob@moving.test")).toMatchObject({ inviteStatus: 200 });
      expect(invites(uasB)).toBe(b0 + 2);
      await letTimePass(1100, "the SRV record's TTL of 1 s runs out");
      expect(await ua.call("sip:bob@moving.test")).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      expect(invites(other)).toBe(1);
    } finally {
      ua.close();
      other.close();
    }
  });

  it("rewrites the R-URI from ENUM (enumQuery) and relays to it", async () => {
    dns.set("4.3.2.1.e164.arpa", [
      { type: "NAPTR", order: 10, preference: 20, flags: "u", service: "E2U+sip", regexp: `!^.*$!sip:second@127.0.0.1:${P + 11}!`, replacement: "" },
      { type: "NAPTR", order: 10, preference: 10, flags: "u", service: "E2U+sip", regexp: `!^\\+(.*)$!sip:\\1@127.0.0.1:${P + 11}!`, replacement: "" },
      { type: "NAPTR", order: 5, preference: 10, flags: "u", service: "E2U+email:mailto", regexp: "!^.*$!mailto:x@y!", replacement: "" },
    ]);
    dp.script.use({
      async request(req) {
        if (req.hasToTag) {
          if (req.looseRoute()) req.relay();
          return;
        }
        if (req.method === "ACK") return;
        if (!(await enumQuery(req))) {
          req.reply(404, "Not in ENUM");
          return;
        }
        req.recordRoute();
        req.relay();
      },
    });
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P });
    try {
      const mark = uasB.received.length;
      expect(await ua.call(`sip:+1234@127.0.0.1:${P}`)).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      const inv = uasB.received.slice(mark).find((m) => m.isRequest && m.method === "INVITE")!;
      expect(inv.requestUri).toBe(`sip:1234@127.0.0.1:${P + 11}`);
      expect((await ua.call(`sip:+9999@127.0.0.1:${P}`)).inviteStatus).toBe(404);
    } finally {
      ua.close();
    }
  });
  it("resolves host names for the proxy's own requests (probes) through RFC 3263", async () => {
    rpc(dp, "dst_blocklist.add", { ip: "127.0.0.1", port: P + 10, proto: "udp" });
    const r = await dp.core.uacRequest({ method: "OPTIONS", uri: "sip:svc.test", timeoutMs: 3000 });
    expect(r.code).toBe(200); // the dead priority-10 target is blocklisted, so the live one answers
    expect((await dp.core.uacRequest({ method: "OPTIONS", uri: "sip:nowhere.test", timeoutMs: 1000 })).code).toBe(478);
  });
});

describe("DNS failover over TCP: a refused connection moves on at once", () => {
  let dp: DataPlane;
  let uas: SipUa;
  beforeAll(async () => {
    dns.set("_sip._tcp.tcpfail.test", [
      { type: "SRV", priority: 10, weight: 0, port: P + 40, target: "live.svc.test" }, // nothing listens
      { type: "SRV", priority: 20, weight: 0, port: P + 41, target: "live.svc.test" },
    ]);
    uas = (await SipUa.listen({ transport: "tcp", host: "127.0.0.1", port: P + 41 })).answer();
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 45}`, `tcp:127.0.0.1:${P + 45}`],
      dns: { servers: [dns.address] },
      script: { file: SCRIPT, settings: { targets: ["sip:tcpfail.test;transport=tcp"] } },
    });
  });
  afterAll(async () => {
    uas?.close();
    await dp?.stop();
  });

  it("completes the call on the second SRV target without waiting for fr_timer (30 s)", async () => {
    const ua = await SipUa.connect({ transport: "udp", host: "127.0.0.1", port: P + 45 });
    try {
      const t0 = Date.now();
      expect(await ua.call("sip:bob@tcpfail.test")).toMatchObject({ inviteStatus: 200, byeStatus: 200 });
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(uas.byesReceived).toHaveLength(1);
    } finally {
      ua.close();
    }
  });
});
