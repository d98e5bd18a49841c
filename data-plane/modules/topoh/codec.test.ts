import { describe, expect, it } from "vitest";
import { MaskCodec } from "./codec.js";

describe("topoh mask codec", () => {
  const c = new MaskCodec("olelo-key");
  it("round-trips Via, Contact and Call-ID values", () => {
    for (const v of [
      "SIP/2.0/UDP 10.1.2.3:5070;branch=z9hG4bK-abc;rport=5070;received=10.1.2.3",
      "<sip:alice@10.1.2.3:5070;transport=tcp>",
      "a84b4c76e66710@pc33.atlanta.example.com",
      "x".repeat(700),
      "",
    ]) {
      const m = c.encode(v);
      expect(m).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(m).not.toContain("10.1.2.3");
      if (v !== "") expect(c.decode(m)).toBe(v);
    }
  });
  it("is deterministic (retransmissions and other nodes agree)", () => {
    expect(c.encode("sip:bob@192.0.2.7")).toBe(new MaskCodec("olelo-key").encode("sip:bob@192.0.2.7"));
  });
  it("refuses a value masked with another key, damaged or not masked", () => {
    const m = c.encode("sip:bob@192.0.2.7");
    expect(new MaskCodec("other").decode(m)).toBeNull();
    const flipped = (m[6] === "A" ? "B" : "A");
    expect(c.decode(m.slice(0, 6) + flipped + m.slice(7))).toBeNull();
    expect(c.decode("plain-text@host")).toBeNull();
    expect(c.decode("abc")).toBeNull();
  });
});
