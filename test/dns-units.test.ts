/**
 * Unit checks of the DNS pieces with a fake clock and hand-made packets: the answer cache (TTL,
 * LRU bound, zero TTL), the destination blocklist (expiry, port 0, permanent entries, bound),
 * and the wire decoder on hostile input (compression loops, truncation, overlong RDLENGTH).
 */
import { describe, expect, it } from "vitest";
import { DnsCache } from "../data-plane/core/dns/dns-cache.js";
import { DstBlocklist, BLST } from "../data-plane/core/dns/dst-blocklist.js";
import { decodeResponse, encodeQuery, encodeName, RR } from "../data-plane/core/dns/dns-wire.js";
import { parseServer } from "../data-plane/core/dns/dns-client.js";

describe("DnsCache", () => {
  it("expires entries after their TTL and keeps at most maxEntries (least recently used out)", () => {
    let now = 1_000_000;
    const c = new DnsCache(2, () => now);
    c.set({ name: "a.test", type: "A", data: ["1.1.1.1"], ttl: 10, negative: false });
    c.set({ name: "b.test", type: "A", data: ["2.2.2.2"], ttl: 10, negative: false });
    expect(c.get("A.TEST.", "A")!.data).toEqual(["1.1.1.1"]); // case and trailing dot ignored; a is now recent
    c.set({ name: "c.test", type: "A", data: ["3.3.3.3"], ttl: 10, negative: false });
    expect(c.get("b.test", "A")).toBeUndefined(); // evicted
    expect(c.get("a.test", "A")).toBeDefined();
    now += 10_001;
    expect(c.get("a.test", "A")).toBeUndefined();
    expect(c.size).toBe(1);
    c.set({ name: "z.test", type: "A", data: [], ttl: 0, negative: true });
    expect(c.get("z.test", "A")).toBeUndefined(); // TTL 0 is never cached
  });
});

describe("DstBlocklist", () => {
  it("blocks until expiry, matches port 0 as any port, keeps permanent entries on clear, and is bounded", () => {
    let now = 0;
    const b = new DstBlocklist(60, 3, () => now);
    b.add({ proto: "udp", address: "10.0.0.1", port: 5060 }, BLST.ERR_TIMEOUT);
    expect(b.has({ proto: "udp", address: "10.0.0.1", port: 5060 })).toBe(true);
    expect(b.has({ proto: "tcp", address: "10.0.0.1", port: 5060 })).toBe(false);
    b.add({ proto: "udp", address: "10.0.0.1", port: 5060 }, BLST.ERR_503);
    expect(b.entries()[0]!.flags).toBe(BLST.ERR_TIMEOUT | BLST.ERR_503);
    b.add({ proto: "tls", address: "2001:db8::1", port: 0 }, BLST.ADM_PROHIBITED | BLST.PERMANENT);
    expect(b.has({ proto: "tls", address: "2001:db8::1", port: 5061 })).toBe(true);
    expect(b.entries().find((e) => e.proto === "tls")!.flags & BLST.IS_IPV6).toBe(BLST.IS_IPV6);
    now += 60_001;
    expect(b.has({ proto: "udp", address: "10.0.0.1", port: 5060 })).toBe(false);
    expect(b.has({ proto: "tls", address: "2001:db8::1", port: 5061 })).toBe(true);
    b.add({ proto: "udp", address: "10.0.0.2", port: 1 }, BLST.ERR_SEND);
    expect(b.clear()).toBe(1);
    expect(b.size).toBe(1);
    for (let i = 0; i < 5; i++) b.add({ proto: "udp", address: `10.0.1.${i}`, port: 1 }, BLST.ERR_SEND);
    expect(b.size).toBe(3);
  });
});

describe("DNS wire", () => {
  const header = (an: number) => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(7, 0);
    h.writeUInt16BE(0x8180, 2);
    h.writeUInt16BE(1, 4);
    h.writeUInt16BE(an, 6);
    return h;
  };
  const question = Buffer.concat([encodeName("x.test"), Buffer.from([0, 1, 0, 1])]);

  it("encodes a query with EDNS0 and decodes compressed answers", () => {
    const q = encodeQuery(0x1234, "x.test", RR.A);
    expect(q.readUInt16BE(0)).toBe(0x1234);
    expect(q.readUInt16BE(10)).toBe(1); // ARCOUNT: OPT
    const rr = Buffer.concat([Buffer.from([0xc0, 12]), Buffer.from([0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 1])]);
    const r = decodeResponse(Buffer.concat([header(1), question, rr]));
    expect(r.question).toEqual({ name: "x.test", type: 1 });
    expect(r.answers).toEqual([{ name: "x.test", type: 1, ttl: 30, data: "192.0.2.1" }]);
  });

  it("rejects compression loops, truncated records and records overrunning RDLENGTH", () => {
    const loop = Buffer.concat([header(1), question, Buffer.from([0xc0, 29]), Buffer.from([0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4])]);
    loop[29] = 0xc0;
    loop[30] = 29; // pointer to itself
    expect(() => decodeResponse(loop)).toThrow(/loop|truncated/);
    const trunc = Buffer.concat([header(1), question, Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0])]);
    expect(() => decodeResponse(trunc)).toThrow(/truncated/);
    // SRV whose target name runs past RDLENGTH
    const srv = Buffer.concat([Buffer.from([0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 1, 0, 7, 0, 1, 0, 1, 0x13, 0xc4]), encodeName("far.test")]);
    expect(() => decodeResponse(Buffer.concat([header(1), question, srv]))).toThrow(/RDLENGTH/);
  });

  it("parses server strings", () => {
    expect(parseServer("10.0.0.53")).toEqual({ address: "10.0.0.53", port: 53 });
    expect(parseServer("127.0.0.1:5353")).toEqual({ address: "127.0.0.1", port: 5353 });
    expect(parseServer("[::1]:5353")).toEqual({ address: "::1", port: 5353 });
    expect(parseServer("2001:db8::53")).toEqual({ address: "2001:db8::53", port: 53 });
    expect(() => parseServer("dns.example")).toThrow(/bad DNS server/);
  });
});
