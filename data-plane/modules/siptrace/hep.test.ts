import { describe, expect, it } from "vitest";
import { callIdOf, decodeHep3, encodeHep3 } from "./hep.js";
import { parseDuplicateUri } from "./params.js";

describe("HEP v3 encoding", () => {
  it("IPv6 uses chunks 5/6 with family 10; auth key 14 and TCP proto 6 are set", () => {
    const b = encodeHep3({ proto: "tcp", srcAddress: "::1", srcPort: 5060, dstAddress: "2001:db8::7", dstPort: 5070, timeMs: 1_700_000_000_123.456, captureId: 9, payload: Buffer.from("x"), correlationId: "c1", authKey: "k" });
    const c = decodeHep3(b)!;
    expect(b.readUInt16BE(4)).toBe(b.length);
    expect(c.get(1)![0]).toBe(10);
    expect(c.get(2)![0]).toBe(6);
    expect(c.get(5)!.toString("hex")).toBe("00000000000000000000000000000001");
    expect(c.get(6)!.toString("hex")).toBe("20010db8000000000000000000000007");
    expect(c.get(9)!.readUInt32BE()).toBe(1_700_000_000);
    expect(c.get(10)!.readUInt32BE()).toBe(123_456);
    expect(c.get(14)!.toString()).toBe("k");
    expect(c.get(17)!.toString()).toBe("c1");
    expect(c.has(3)).toBe(false);
  });
  it("no auth key and no Call-ID leave chunks 14 and 17 out; non-HEP input decodes to null", () => {
    const c = decodeHep3(encodeHep3({ proto: "udp", srcAddress: "10.0.0.1", srcPort: 1, dstAddress: "10.0.0.2", dstPort: 2, timeMs: 0, captureId: 1, payload: Buffer.from("p") }))!;
    expect([...c.get(3)!]).toEqual([10, 0, 0, 1]);
    expect(c.has(14) || c.has(17)).toBe(false);
    expect(decodeHep3(Buffer.from("HEP2xxxxxx"))).toBeNull();
  });
  it("Call-ID from full and compact headers", () => {
    expect(callIdOf(Buffer.from("OPTIONS sip:a SIP/2.0\r\ni: abc@x \r\n\r\n"))).toBe("abc@x");
    expect(callIdOf(Buffer.from("SIP/2.0 200 OK\r\nCALL-ID:q\r\n\r\n"))).toBe("q");
    expect(callIdOf(Buffer.from("\r\n\r\n"))).toBeNull();
  });
  it("duplicate_uri parsing and one-line errors", () => {
    expect(parseDuplicateUri("sip:127.0.0.1:9060")).toEqual({ host: "127.0.0.1", port: 9060, proto: "udp" });
    expect(parseDuplicateUri("sip:[::1]:9061;transport=tcp")).toEqual({ host: "::1", port: 9061, proto: "tcp" });
    expect(() => parseDuplicateUri("sip:h:9060;transport=sctp")).toThrow(/transport must be udp or tcp/);
    expect(() => parseDuplicateUri("sip:h:99999")).toThrow(/bad port/);
  });
});
