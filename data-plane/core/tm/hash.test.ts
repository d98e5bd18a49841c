import { describe, expect, it } from "vitest";
import { fnvHex, hex8 } from "./hash.js";
import { seededRandom } from "../../../lib/random/seeded.js";

describe("hex8", () => {
  it("equals toString(16) padded to 8 digits", () => {
    const rnd = seededRandom(3);
    const values = [0, 1, 15, 16, 0xdeadbeef, 0xffffffff, 0x80000000, 0xabcd, ...Array.from({ length: 10_000 }, () => Math.floor(rnd() * 2 ** 32))];
    for (const h of values) expect(hex8(h)).toBe(h.toString(16).padStart(8, "0"));
  });

  it("fnvHex keeps its values (branch and tag ids stay stable across versions)", () => {
    // the values of the toString(16) version
    expect([fnvHex("a"), fnvHex("call-1", "INVITE", "sip:b@x"), fnvHex("x", "y", "z", "w")]).toEqual(["4f2508f0", "ab1008a0", "7abfbc01"]);
  });
});
