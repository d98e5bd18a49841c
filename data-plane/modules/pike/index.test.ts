import { afterEach, describe, expect, it, vi } from "vitest";
import type { RequestContext } from "../../core/api.js";
import { createTestHost } from "../../testing/test-host.js";
import pikeModule, { type PikeApi } from "./index.js";
import { sipRequest, testRequest } from "../../testing/sip-harness.js";

/** The real request context of an OPTIONS from `address` (pike reads the source). */
const req = (address: string): RequestContext => testRequest(sipRequest("OPTIONS", "sip:bob@example.com"), { source: { proto: "udp", address, port: 5060 } }).req;

describe("pike module", () => {
  afterEach(async () => {
    await pikeModule.destroy?.();
    vi.useRealTimers();
  });

  it("checkReq / checkIp, pike.top and pike.list shapes, counters, and idle removal on the timer", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-01-01T00:00:00.000Z"));
    const host = createTestHost("pike", { sampling_time_unit: 2, reqs_density_per_unit: 4, remove_latency: 6 });
    const api = (await pikeModule.init(host)) as PikeApi;
    expect([1, 2, 3, 4, 5].map(() => api.checkReq(req("192.0.2.1")))).toEqual([1, 1, 1, -2, -1]);
    expect(api.checkIp("2001:db8::1")).toBe(1);

    const top = await host.rpc.call("pike.top", ["HOT"], { transport: "internal" });
    expect(top).toEqual({
      max_hits: 4,
      list: [{ ip_addr: "192.0.2.1", leaf_hits_prev: 0, leaf_hits_curr: 5, expires: 6, status: "HOT" }],
      number_of_rows: 1,
    });
    const all = (await host.rpc.call("pike.list", ["all"], { transport: "internal" })) as { number_of_rows: number };
    expect(all.number_of_rows).toBe(2);
    const dflt = (await host.rpc.call("pike.top", [], { transport: "internal" })) as { number_of_rows: number };
    expect(dflt.number_of_rows).toBe(1);
    await expect(host.rpc.call("pike.top", ["COLD"], { transport: "internal" })).rejects.toMatchObject({
      code: 500,
      message: "Bad argument. Select: ALL, HOT or WARM",
    });
    expect(host.stats.select("pike:blocked")).toEqual([["pike:blocked", 1]]);
    expect(host.stats.select("pike:tracked")).toEqual([["pike:tracked", 2]]);

    vi.advanceTimersByTime(6_000); // sweep every 2 s; both idle for 6 s now
    expect(host.stats.select("pike:tracked")).toEqual([["pike:tracked", 0]]);

    await pikeModule.destroy?.();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("the default guard bans, lists and unbans through RPC", async () => {
    const host = createTestHost("pike", { reqs_density_per_unit: 2, ban_time: 60 });
    const api = (await pikeModule.init(host)) as PikeApi;
    expect([api.guard.check("198.51.100.5"), api.guard.check("198.51.100.5")]).toEqual(["ok", "flood"]);
    const bans = (await host.rpc.call("pike.bans", [], { transport: "internal" })) as Array<{ ip: string; until: string }>;
    expect(bans.map((b) => b.ip)).toEqual(["198.51.100.5"]);
    expect(Date.parse(bans[0]!.until) - Date.now()).toBeGreaterThan(58_000);
    await expect(host.rpc.call("pike.unban", ["198.51.100.5"], { transport: "internal" })).resolves.toBe("Ok");
    await expect(host.rpc.call("pike.unban", ["198.51.100.5"], { transport: "internal" })).rejects.toMatchObject({ code: 404 });
    expect(api.guard.isBanned("198.51.100.5")).toBe(false);
    expect(host.events.since(0, ["security.banned"]).events).toHaveLength(1);
    expect(host.stats.select("pike:banned")).toEqual([["pike:banned", 1]]);
  });

  it("ipban: registers guard.isBanned as the core's pre-parse receive filter and removes it on destroy", async () => {
    const base = createTestHost("pike", { reqs_density_per_unit: 2, ban_time: 60, ipban: true });
    let filter: ((src: { proto: string; address: string; port: number }) => boolean) | null = null;
    const host = {
      ...base,
      sip: {
        ...base.sip,
        addReceiveFilter(f: (src: { proto: string; address: string; port: number }) => boolean) {
          filter = f;
          return () => {
            filter = null;
          };
        },
      },
    };
    const api = (await pikeModule.init(host)) as PikeApi;
    expect(api.preParse).toBe(true);
    const src = { proto: "udp", address: "203.0.113.9", port: 5060 };
    expect(filter!(src)).toBe(false);
    expect([api.guard.check("203.0.113.9"), api.guard.check("203.0.113.9")]).toEqual(["ok", "flood"]);
    expect(filter!(src)).toBe(true);
    expect(filter!({ ...src, address: "203.0.113.10" })).toBe(false);
    expect(base.stats.select("pike:dropped")).toEqual([["pike:dropped", 1]]);
    await pikeModule.destroy?.();
    expect(filter).toBeNull();
  });

  it("destroy(api) stops only that instance (two data planes in one process)", async () => {
    vi.useFakeTimers();
    const filters = new Set<string>();
    const mk = (name: string) => {
      const base = createTestHost("pike", { ipban: 1, sampling_time_unit: 1 });
      return {
        ...base,
        sip: {
          ...base.sip,
          addReceiveFilter() {
            filters.add(name);
            return () => filters.delete(name);
          },
        },
      };
    };
    const a = (await pikeModule.init(mk("a"))) as PikeApi;
    await pikeModule.init(mk("b"));
    expect(vi.getTimerCount()).toBe(2);
    await pikeModule.destroy?.(a);
    expect([...filters]).toEqual(["b"]);
    expect(vi.getTimerCount()).toBe(1);
    await pikeModule.destroy?.();
    expect(filters.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("ipban off (default) or a core without the hook: no pre-parse filter", async () => {
    const api = (await pikeModule.init(createTestHost("pike", { ipban: 1 }))) as PikeApi;
    expect(api.preParse).toBe(false); // the test host's SipUac has no addReceiveFilter
    const off = (await pikeModule.init(createTestHost("pike", {}))) as PikeApi;
    expect(off.preParse).toBe(false);
  });

  it("validates parameters at init", async () => {
    expect(() => pikeModule.init(createTestHost("pike", { sampling_time_unit: 0 }))).toThrow(/sampling_time_unit/);
    expect(() => pikeModule.init(createTestHost("pike", { reqs_density_per_unit: "lots" }))).toThrow(/reqs_density_per_unit/);
    expect(() => pikeModule.init(createTestHost("pike", { pike_log_levl: 1 }))).toThrow(/unknown parameter 'pike_log_levl'/);
    expect(() => pikeModule.init(createTestHost("pike", { ipv6_prefix: 8 }))).toThrow(/ipv6_prefix/);
    expect(() => pikeModule.init(createTestHost("pike", { ipban: "maybe" }))).toThrow(/ipban/);
  });
});
