import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NonceManager } from "./nonce.js";
import { NonceTracker, type NonceUses } from "./nonce-tracker.js";
import { SharedNonceTracker } from "./shared-nonce-tracker.js";

describe("NonceManager", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-05-01T12:00:00.000Z"));
  });
  afterEach(() => vi.useRealTimers());

  const mk = (secret = "0123456789abcdef-shared", expireSec = 300) => new NonceManager({ secret, expireSec, maxDriftSec: 3 });

  it("issues unique 44-character nonces that check as valid with issue and expiry times", () => {
    const m = mk();
    const a = m.issue();
    const b = m.issue();
    expect(a).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(a).not.toBe(b);
    const c = m.check(a);
    const now = Math.floor(Date.now() / 1000);
    expect(c).toEqual({ status: "valid", issued: now, expires: now + 300 });
  });

  it("is stale from nonce_expire seconds on, and still recognised as ours", () => {
    const m = mk();
    const n = m.issue();
    vi.advanceTimersByTime(299_999);
    expect(m.check(n).status).toBe("valid");
    vi.advanceTimersByTime(1);
    expect(m.check(n).status).toBe("stale");
  });

  it("another node with the same secret accepts the nonce; a different secret rejects it", () => {
    const n = mk().issue();
    expect(mk().check(n).status).toBe("valid");
    expect(mk("another-secret-of-16+").check(n)).toEqual({ status: "invalid", reason: "nonce not issued with this secret" });
  });

  it("rejects edited nonces (expiry pushed out), garbage and wrong versions", () => {
    const m = mk();
    const n = m.issue();
    const buf = Buffer.from(n, "base64url");
    buf.writeUInt32BE(buf.readUInt32BE(5) + 3600, 5);
    expect(m.check(buf.toString("base64url")).status).toBe("invalid");
    const v2 = Buffer.from(n, "base64url");
    v2[0] = 2;
    expect(m.check(v2.toString("base64url"))).toMatchObject({ status: "invalid", reason: "bad nonce version" });
    for (const g of ["", "abc", "dcd98b7102dd2f0e8b11d0f600bfb0c093", n.slice(1), n + "A", n.replace(/.$/, "+"), "=".repeat(44)]) {
      expect(m.check(g).status).toBe("invalid");
    }
  });

  it("rejects nonces issued beyond the allowed clock drift", () => {
    const future = new NonceManager({ secret: "0123456789abcdef-shared", expireSec: 300, maxDriftSec: 3, now: () => Date.now() + 10_000 });
    const n = future.issue();
    expect(mk().check(n)).toMatchObject({ status: "invalid", reason: "nonce issued in the future" });
    const slight = new NonceManager({ secret: "0123456789abcdef-shared", expireSec: 300, maxDriftSec: 3, now: () => Date.now() + 2_000 });
    expect(mk().check(slight.issue()).status).toBe("valid");
  });
});

const shared = (slots: number, now?: () => number) => new SharedNonceTracker(new Int32Array(new SharedArrayBuffer(SharedNonceTracker.cells(slots) * 4)), slots, now);

describe.each([
  ["NonceTracker", (n: number, now?: () => number): NonceUses => new NonceTracker(n, now)],
  ["SharedNonceTracker (workers)", (n: number, now?: () => number): NonceUses => shared(Math.max(n, 64), now)],
])("%s", (_name, make) => {
  it("accepts each nc once, in order or reordered inside the window", () => {
    const t = make(100);
    expect(t.use("n", 1, 2e9, 1, false)).toBe("ok");
    expect(t.use("n", 1, 2e9, 1, false)).toBe("replay");
    expect(t.use("n", 1, 2e9, 3, false)).toBe("ok");
    expect(t.use("n", 1, 2e9, 2, false)).toBe("ok"); // late but inside the window
    expect(t.use("n", 1, 2e9, 2, false)).toBe("replay");
    expect(t.use("n", 1, 2e9, 40, false)).toBe("ok");
    expect(t.use("n", 1, 2e9, 8, false)).toBe("replay"); // 32 behind: outside the window
    expect(t.use("n", 1, 2e9, 9, false)).toBe("ok"); // 31 behind: inside
    expect(t.use("n", 1, 2e9, 100, false)).toBe("ok"); // jump larger than the window
    expect(t.use("n", 1, 2e9, 99, false)).toBe("ok");
    expect(t.use("n", 1, 2e9, 100, false)).toBe("replay");
    expect(t.use("other", 1, 2e9, 1, false)).toBe("ok"); // per nonce
  });

  it("one-time nonces are good once, with or without nc", () => {
    const t = make(100);
    expect(t.use("a", 1, 2e9, 1, true)).toBe("ok");
    expect(t.use("a", 1, 2e9, 2, true)).toBe("replay");
    expect(t.use("b", 1, 2e9, null, true)).toBe("ok");
    expect(t.use("b", 1, 2e9, null, true)).toBe("replay");
    const legacy = make(100);
    expect(legacy.use("c", 1, 2e9, null, false)).toBe("ok");
    expect(legacy.use("c", 1, 2e9, null, false)).toBe("ok"); // no qop, no one-time: cannot tell
  });

  it("sweeps entries of expired nonces", () => {
    let now = 1_000_000;
    const t = make(10, () => now);
    t.use("a", 900, 1_100, 1, false);
    t.use("b", 900, 1_300, 1, false);
    now = 1_200_000;
    expect(t.sweep()).toBe(1);
    expect(t.size).toBe(1);
  });
});

describe("NonceTracker", () => {
  it("stays bounded and refuses forgotten nonces issued before the eviction horizon", () => {
    const t = new NonceTracker(3);
    t.use("n1", 100, 2e9, 1, false);
    t.use("n2", 101, 2e9, 1, false);
    t.use("n3", 102, 2e9, 1, false);
    t.use("n4", 103, 2e9, 1, false); // evicts n1 (issued 100)
    expect(t.size).toBe(3);
    expect(t.use("n1", 100, 2e9, 1, false)).toBe("forgotten"); // a replay of n1 can no longer be told apart
    expect(t.use("n0", 99, 2e9, 5, false)).toBe("forgotten");
    expect(t.use("n5", 104, 2e9, 1, false)).toBe("ok");
  });
});

describe("SharedNonceTracker", () => {
  it("two workers share one window: an nc used through one is a replay through the other", () => {
    const mem = new Int32Array(new SharedArrayBuffer(SharedNonceTracker.cells(64) * 4));
    const a = new SharedNonceTracker(mem, 64);
    const b = new SharedNonceTracker(mem, 64);
    expect(a.use("n", 1, 2e9, 1, false)).toBe("ok");
    expect(b.use("n", 1, 2e9, 1, false)).toBe("replay");
    expect(b.use("n", 1, 2e9, 2, false)).toBe("ok");
    expect(a.use("n", 1, 2e9, 2, false)).toBe("replay");
    expect(a.size).toBe(1);
  });

  it("over a full window evicts the oldest and refuses what was issued before it", () => {
    const t = shared(16); // one probe window: the whole table
    for (let i = 0; i < 16; i++) expect(t.use(`n${i}`, 100 + i, 2e9, 1, false)).toBe("ok");
    expect(t.use("late", 200, 2e9, 1, false)).toBe("ok"); // evicts n0 (issued 100)
    expect(t.use("n0", 100, 2e9, 2, false)).toBe("forgotten");
    expect(t.use("n5", 105, 2e9, 2, false)).toBe("ok");
    expect(t.size).toBe(16);
  });
});
