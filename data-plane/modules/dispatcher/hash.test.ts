import { describe, expect, it } from "vitest";
import { dsHash, seededRandom, shuffleInPlace } from "../../../tables/dispatcher/hash.js";
import { hashUri } from "./select/hash-keys.js";

describe("dsHash (Kamailio ds_get_hash)", () => {
  // Expected values computed by a C transcription of Kamailio's ds_get_hash built with gcc on
  // x86-64 (signed char), so a migrated Kamailio list keeps its hash-to-destination mapping.
  it.each([
    ["a84b4c76e66710@pc33.atlanta.com", null, 2175018094],
    ["alice", "example.com", 1442294598],
    ["bob", "10.0.0.1:5080", 2701604707],
    ["x", null, 119],
    ["", null, 1],
    // bytes c a f 0xc3 0xa9 - 0xff as a latin1 string: high bytes hash as signed chars
    ["caf\u00c3\u00a9-\u00ff", null, 1333115885],
  ])("dsHash(%j, %j) = %d", (x, y, want) => {
    expect(dsHash(x, y)).toBe(want);
  });

  it("is never 0 and stays a uint32", () => {
    for (let i = 0; i < 2000; i++) {
      const h = dsHash(`k${i}`, i % 2 ? `h${i}` : null);
      expect(h).toBeGreaterThan(0);
      expect(h).toBeLessThanOrEqual(0xffffffff);
      expect(Number.isInteger(h)).toBe(true);
    }
  });

  it("URI keys: user + host, port only when not the scheme default; user-only flag", () => {
    expect(hashUri("sip:alice@example.com", false)).toBe(dsHash("alice", "example.com"));
    expect(hashUri("sip:alice@example.com:5060;transport=udp", false)).toBe(dsHash("alice", "example.com"));
    expect(hashUri("sip:alice@example.com:5080", false)).toBe(dsHash("alice", "example.com:5080"));
    expect(hashUri("sips:alice@example.com:5061", false)).toBe(dsHash("alice", "example.com"));
    expect(hashUri("sips:alice@example.com:5060", false)).toBe(dsHash("alice", "example.com:5060"));
    expect(hashUri("sip:alice@a.example.com", true)).toBe(hashUri("sip:alice@b.example.com:5099", true));
    expect(hashUri("sip:example.com", false)).toBe(dsHash(null, "example.com"));
    expect(hashUri("not a uri", false)).toBe(-1);
  });

  it("seeded shuffle is a deterministic permutation", () => {
    const a = Uint16Array.from({ length: 100 }, (_, i) => i);
    const b = Uint16Array.from({ length: 100 }, (_, i) => i);
    shuffleInPlace(a, seededRandom(42));
    shuffleInPlace(b, seededRandom(42));
    expect([...a]).toEqual([...b]);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...a]).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
