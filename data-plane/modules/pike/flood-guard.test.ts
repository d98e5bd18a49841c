import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EventBus, type OleloEvent } from "../../core/api.js";
import { compileAddressRows, compileTrustedRows, createPermissionsApi, HashTable, parseHtableDefinition, PermissionsState } from "../../testing/module-internals.js";
import { FloodGuard, htableBanStore, MemoryBanStore } from "./flood-guard.js";
import { PikeDetector } from "./pike-detector.js";

function detector(density = 5) {
  return new PikeDetector({ samplingTimeUnit: 2, reqsDensityPerUnit: density, removeLatency: 120, maxEntries: 10_000, ipv6Prefix: 128 });
}

describe("FloodGuard", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-03-01T10:00:00.000Z"));
  });
  afterEach(() => vi.useRealTimers());

  it("bans a flooder for ban_time, publishes security.banned, and lifts the ban when the TTL ends", () => {
    const events = new EventBus("t");
    const seen: OleloEvent[] = [];
    events.subscribe(["security.*"], (e) => seen.push(e));
    const counts: Record<string, number> = {};
    const guard = new FloodGuard({ detector: detector(), banSeconds: 300, events, stats: { inc: (n) => (counts[n] = (counts[n] ?? 0) + 1) } });
    const v = Array.from({ length: 6 }, () => guard.check("192.0.2.9"));
    expect(v).toEqual(["ok", "ok", "ok", "ok", "flood", "banned"]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.kind).toBe("security.banned");
    expect(seen[0]!.data).toEqual({ ip: "192.0.2.9", reason: "pike", until: "2026-03-01T10:05:00.000Z" });
    expect(guard.isBanned("192.0.2.9")).toBe(true);
    expect(guard.isBanned("192.0.2.10")).toBe(false);

    vi.advanceTimersByTime(299_999);
    expect(guard.isBanned("192.0.2.9")).toBe(true);
    vi.advanceTimersByTime(1);
    expect(guard.isBanned("192.0.2.9")).toBe(false);
    // pike forgot the flood long ago (windows of 2 s): the source is welcome again
    expect(guard.check("192.0.2.9")).toBe("ok");
    expect(counts).toEqual({ banned: 1, dropped: 3 }); // the 6th check + two isBanned calls while banned
  });

  it("re-bans a source that is still red when its ban ends", () => {
    const guard = new FloodGuard({ detector: detector(), banSeconds: 1 });
    for (let i = 0; i < 5; i++) guard.check("192.0.2.20");
    expect(guard.isBanned("192.0.2.20")).toBe(true);
    vi.advanceTimersByTime(1000); // ban over, but still in the window after the flood: pike says -1
    expect(guard.check("192.0.2.20")).toBe("flood");
    expect(guard.isBanned("192.0.2.20")).toBe(true);
  });

  it("finds bans whatever the IPv6 spelling, and for IPv4-mapped sources", () => {
    const guard = new FloodGuard({ detector: detector(1), banSeconds: 60 });
    expect(guard.check("2001:DB8:0::7")).toBe("flood");
    expect(guard.isBanned("2001:db8::7")).toBe(true);
    expect(guard.isBanned("2001:0db8:0000::0007")).toBe(true);
    expect(guard.check("::ffff:192.0.2.77")).toBe("flood");
    expect(guard.isBanned("192.0.2.77")).toBe(true);
    expect(guard.isBanned("::ffff:192.0.2.77")).toBe(true);
    expect(guard.bans().map((b) => b.key).sort()).toEqual(["192.0.2.77", "2001:db8::7"]);
  });

  it("bans a whole IPv6 prefix when sources are grouped", () => {
    const d = new PikeDetector({ samplingTimeUnit: 2, reqsDensityPerUnit: 3, removeLatency: 120, maxEntries: 100, ipv6Prefix: 64 });
    const guard = new FloodGuard({ detector: d, banSeconds: 60, ipv6Prefix: 64 });
    expect(["2001:db8:5:5::1", "2001:db8:5:5::2", "2001:db8:5:5::3"].map((ip) => guard.check(ip))).toEqual(["ok", "ok", "flood"]);
    expect(guard.isBanned("2001:db8:5:5::ffff")).toBe(true);
    expect(guard.isBanned("2001:db8:5:6::1")).toBe(false);
    expect(guard.unban("2001:db8:5:5::42")).toBe(true);
    expect(guard.isBanned("2001:db8:5:5::1")).toBe(false);
  });

  it("never counts nor bans trusted peers (permissions.isTrusted)", () => {
    const state = new PermissionsState();
    state.address = compileAddressRows([{ id: 1, grp: 1, ip_addr: "10.20.0.0", mask: 16, port: 0 }]);
    state.trusted = compileTrustedRows([{ id: 1, src_ip: "203.0.113.1", proto: "any" }]);
    const perms = createPermissionsApi(state, { peerTagVar: "permissions:tag", trustedGroups: [1] });
    const d = detector(2);
    const guard = new FloodGuard({ detector: d, banSeconds: 60, isTrusted: perms.isTrusted });
    for (let i = 0; i < 1000; i++) {
      expect(guard.check("10.20.30.40")).toBe("ok");
      expect(guard.check("203.0.113.1")).toBe("ok");
    }
    expect(d.size).toBe(0);
    expect(guard.ban("10.20.30.40", 60)).toBe(false);
    expect(guard.isBanned("10.20.30.40")).toBe(false);
    // an untrusted neighbour is banned as usual
    expect([guard.check("10.21.0.1"), guard.check("10.21.0.1")]).toEqual(["ok", "flood"]);
    // trust can be wired after construction
    const g2 = new FloodGuard({ detector: detector(1), banSeconds: 60 });
    g2.setTrustCheck(perms.isTrusted);
    expect(g2.check("10.20.1.1")).toBe("ok");
  });

  it("can keep bans in an htable (ipban=>autoexpire=300), visible to htable RPCs", () => {
    const ipban = new HashTable(parseHtableDefinition("ipban=>size=8;autoexpire=300"));
    const guard = new FloodGuard({ detector: detector(1), banSeconds: 120, store: htableBanStore(ipban) });
    expect(guard.check("198.51.100.1")).toBe("flood");
    expect(ipban.get("198.51.100.1")).toBe(1);
    expect(ipban.expiresIn("198.51.100.1")).toBe(120);
    expect(guard.isBanned("198.51.100.1")).toBe(true);
    ipban.delete("198.51.100.1"); // htable.delete ipban 198.51.100.1
    expect(guard.isBanned("198.51.100.1")).toBe(false);
    guard.ban("198.51.100.2", 10);
    vi.advanceTimersByTime(10_000);
    expect(guard.isBanned("198.51.100.2")).toBe(false);
  });

  it("MemoryBanStore sweeps expired bans", () => {
    const s = new MemoryBanStore();
    s.ban("a", Date.now() + 1000);
    s.ban("b", Date.now() + 5000);
    vi.advanceTimersByTime(1000);
    expect(s.sweep()).toBe(1);
    expect(s.list().map((b) => b.key)).toEqual(["b"]);
  });
});
