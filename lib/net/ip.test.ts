import { isIP } from "node:net";
import { describe, expect, it } from "vitest";
import { canonicalIp, formatIp, isLoopbackAddress, maskBytes, parseIpInto, v4ToNumber } from "./ip.js";

describe("parseIpInto / canonicalIp", () => {
  const good: Array<[string, string]> = [
    ["10.0.0.1", "10.0.0.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["2001:db8::1", "2001:db8::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["[2001:db8::5]", "2001:db8::5"],
    ["fe80::1%eth0", "fe80::1"],
    ["::ffff:192.0.2.7", "192.0.2.7"],
    ["::FFFF:c000:0207", "192.0.2.7"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // first longest run wins on tie? runs: [1,2] len2 vs [4..6] len3
    ["1:0:0:2:0:0:3:4", "1::2:0:0:3:4"], // tie → first run
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"], // a single zero group is not compressed
  ];
  for (const [input, want] of good) {
    it(`parses ${input}`, () => {
      expect(canonicalIp(input)).toBe(want);
    });
  }

  const bad = [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "1.2.3.04a",
    "1..2.3",
    "1.2.3.4 ",
    "a.b.c.d",
    ":::",
    "1:::2",
    "1::2::3",
    "12345::1",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    "::1.2.3",
    "[1.2.3.4]",
    "[::1",
    "g::1",
    "example.com",
  ];
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      expect(canonicalIp(input)).toBeNull();
    });
  }

  it("agrees with node:net on random addresses", () => {
    const buf = new Uint8Array(16);
    for (let n = 0; n < 2000; n++) {
      const groups = Array.from({ length: 8 }, () => (Math.random() < 0.4 ? 0 : Math.floor(Math.random() * 65536)));
      const text = groups.map((g) => g.toString(16)).join(":");
      expect(isIP(text)).toBe(6);
      const fam = parseIpInto(text, buf);
      if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
        expect(fam).toBe(4);
        continue;
      }
      expect(fam).toBe(6);
      const back = formatIp(6, buf);
      expect(isIP(back)).toBe(6);
      // round trip through the canonical form gives the same bytes
      const again = new Uint8Array(16);
      parseIpInto(back, again);
      expect([...again]).toEqual([...buf]);
    }
  });

  it("v4ToNumber and maskBytes", () => {
    const b = new Uint8Array(16);
    parseIpInto("192.168.77.200", b);
    expect(v4ToNumber(b)).toBe(0xc0a84dc8);
    maskBytes(b, 4, 20);
    expect(formatIp(4, b)).toBe("192.168.64.0");
    parseIpInto("2001:db8:abcd:1234::1", b);
    maskBytes(b, 6, 36);
    expect(formatIp(6, b)).toBe("2001:db8:a000::");
  });
});

describe("isLoopbackAddress", () => {
  it("only this machine", () => {
    for (const h of ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1"]) expect(isLoopbackAddress(h), h).toBe(true);
    for (const h of ["0.0.0.0", "10.0.0.1", "::", "cp.example.net", "128.0.0.1", "::ffff:10.0.0.1", "127.example.com"]) expect(isLoopbackAddress(h), h).toBe(false);
  });
});
