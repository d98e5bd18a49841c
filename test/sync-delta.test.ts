import { describe, expect, it } from "vitest";

import { setLogSink } from "../lib/log/logger.js";
import type { TableRow } from "../data-plane/core/tables/registry.js";
import { createMemorySource, type MemorySource } from "../control-plane/push/push-source.js";
import type { PushServer } from "../control-plane/push/server.js";
import { createSyncClient, type DeltaBase, type SyncClient } from "../data-plane/sync/client.js";
import { BAD_ROW_MARKER, createFakeTables } from "../data-plane/sync/testing/fake-sinks.js";
import { prefixRouteRows } from "../tables/testing/sample-rows.js";
import { freePort } from "./kit/ports.js";
import { useSyncFixture } from "./helpers/sync-fixture.js";
import { waitUntil, letTimePass } from "./kit/wait.js";

setLogSink(() => {});

const fx = useSyncFixture("olelo-delta-");

const until = (cond: () => boolean, ms = 20_000, what = "condition") => waitUntil(cond, { timeoutMs: ms, intervalMs: 10, what });

async function serve(source: MemorySource, port: number): Promise<PushServer> {
  return fx.serve({ source, host: "127.0.0.1", port });
}

async function node(url: string, nodeId: string, cacheDir: string | null = null, deltaBase?: DeltaBase) {
  const { tables, live } = createFakeTables(["prefix_route"]);
  const sync = await fx.client({ url, nodeId, tables, cacheDir, deltaBase, backoff: { initialMs: 50, maxMs: 300 } });
  return { tables, live, sync };
}

const tempDir = fx.tempDir;

const kindOf = (srv: PushServer, id: string) => srv.nodes().find((n) => n.nodeId === id)?.tables.find((t) => t.kind === "prefix_route");
const prefix = (i: number) => String(4_900_000_000 + i);
const withRoute = (rows: TableRow[], i: number, route: string) => rows.map((r, j) => (j === i ? { ...r, route } : r));
/** Both sides agree the node runs `version`, and the data plane's sink has it live. */
const converged = (srv: PushServer, dp: { live: Map<string, { version: string }> }, id: string, version: string) => () =>
  dp.live.get("prefix_route")?.version === version && kindOf(srv, id)?.appliedVersion === version;

describe("delta push: sync client ⇄ push server over gRPC (loopback)", () => {
  it("a one-row change to a 300k-row kind goes as a one-row delta, is applied, and costs a tiny fraction of a full push", async () => {
    const source = createMemorySource();
    const rows = prefixRouteRows(300_000);
    source.set("prefix_route", { prefix_route: rows }, "p1");
    const srv = await serve(source, 21_501);
    const dp = await node(srv.address, "dp-big");
    await until(converged(srv, dp, "dp-big", "p1"), 30_000, "p1");
    const full = srv.pushStats();
    expect(full).toMatchObject({ fullSends: 1, deltaSends: 0 });
    expect(dp.sync.status().lastReceived.prefix_route).toMatchObject({ mode: "full", rows: 300_000 });

    source.set("prefix_route", { prefix_route: withRoute(rows, 123_456, "route_changed") }, "p2");
    await until(converged(srv, dp, "dp-big", "p2"), 30_000, "p2");
    expect(source.current("prefix_route")!.version).toBe(dp.sync.status().versions.prefix_route);
    const live = dp.live.get("prefix_route")!;
    expect(live.rows).toBe(300_000);
    expect(live.maps.get("prefix_route")!.get(prefix(123_456))).toEqual({ prefix: prefix(123_456), route: "route_changed", comment: "" });
    expect(live.maps.get("prefix_route")!.get(prefix(123_457))).toEqual({ prefix: prefix(123_457), route: "route_7", comment: "" });
    expect(dp.tables.statusOf("prefix_route")).toMatchObject({ version: "p2", rows: 300_000, source: "control-plane" });
    const st = dp.sync.status();
    expect(st.lastReceived.prefix_route).toMatchObject({ mode: "delta", baseVersion: "p1", rows: 1, removed: 0, chunks: 1, ok: true });
    expect(st.deltas).toEqual({ base: "memory", applied: 1, incremental: 0, baseMismatches: 0, resultMismatches: 0 });
    const stats = srv.pushStats();
    expect(stats).toMatchObject({ fullSends: 1, deltaSends: 1, deltaFallbacks: 0 });
    expect(full.fullBytes).toBeGreaterThan(300_000 * 20);
    expect(stats.deltaBytes).toBeLessThan(300);
    expect(kindOf(srv, "dp-big")).toMatchObject({ sentMode: "delta", sentBaseVersion: "p1", deltaPushes: 1, fullPushes: 1 });
  });

  it("removed and inserted rows: the data plane ends with exactly the control plane's rows", async () => {
    const source = createMemorySource();
    const rows = prefixRouteRows(20_000);
    source.set("prefix_route", { prefix_route: rows }, "p1");
    const srv = await serve(source, 0);
    const dp = await node(srv.address, "dp-rm");
    await until(converged(srv, dp, "dp-rm", "p1"));
    // 300 rows removed, 120 new prefixes, one changed.
    const next = rows.filter((_, i) => i % 50 !== 7).concat(Array.from({ length: 120 }, (_, i) => ({ prefix: `1${i}`, route: "new", comment: "" })));
    next[0] = { ...next[0]!, comment: "changed" };
    source.set("prefix_route", { prefix_route: next }, "p2");
    await until(converged(srv, dp, "dp-rm", "p2"));
    const m = dp.live.get("prefix_route")!.maps.get("prefix_route")!;
    expect(m.size).toBe(20_000 - 400 + 120);
    expect(m.has(prefix(7))).toBe(false);
    expect(m.has(prefix(57))).toBe(false);
    expect(m.get("1119")).toEqual({ prefix: "1119", route: "new", comment: "" });
    expect(m.get(prefix(0))!.comment).toBe("changed");
    expect(dp.sync.status().lastReceived.prefix_route).toMatchObject({ mode: "delta", rows: 121, removed: 400 });
    expect(srv.pushStats()).toMatchObject({ deltaSends: 1, deltaFallbacks: 0 });
  });

  it("base mismatch (the table was replaced locally): NACK BASE_MISMATCH, then the whole version", async () => {
    const source = createMemorySource();
    const rows = prefixRouteRows(10_000);
    source.set("prefix_route", { prefix_route: rows }, "p1");
    const srv = await serve(source, 0);
    const dp = await node(srv.address, "dp-bm");
    await until(converged(srv, dp, "dp-bm", "p1"));
    // An operator reloads the kind from elsewhere: the node no longer runs p1, the control plane does not know.
    const local = await dp.tables.loadAsync("prefix_route", { prefix_route: rows.slice(0, 10) }, "local-1", "rpc");
    expect(local.ok).toBe(true);
    source.set("prefix_route", { prefix_route: withRoute(rows, 5, "r") }, "p2");
    await until(converged(srv, dp, "dp-bm", "p2"));
    expect(dp.live.get("prefix_route")!.rows).toBe(10_000);
    expect(dp.live.get("prefix_route")!.maps.get("prefix_route")!.get(prefix(5))!.route).toBe("r");
    expect(dp.sync.status().deltas).toMatchObject({ applied: 0, baseMismatches: 1 });
    expect(dp.sync.status().lastReceived.prefix_route).toMatchObject({ mode: "full", rows: 10_000 });
    expect(kindOf(srv, "dp-bm")).toMatchObject({ deltaFallbacks: 1, lastDeltaFallback: { version: "p2", baseVersion: "p1", reason: "BASE_MISMATCH" }, lastNackVersion: null });
    expect(srv.pushStats()).toMatchObject({ fullSends: 2, deltaSends: 1, deltaFallbacks: 1 });
  });

  it("the result digest catches a base whose rows are not the control plane's: NACK DELTA_MISMATCH, then the whole version", async () => {
    const source = createMemorySource();
    const rows = prefixRouteRows(10_000);
    source.set("prefix_route", { prefix_route: rows }, "p1");
    const srv = await serve(source, 0);
    const dp = await node(srv.address, "dp-dg");
    await until(converged(srv, dp, "dp-dg", "p1"));
    // The control plane's idea of "p1" changes under the same label (only a hand-fed source can do
    // this; real versions are content hashes): one comment differs from what the node runs.
    const drifted = withRoute(rows, 4000, "drifted");
    source.set("prefix_route", { prefix_route: drifted }, "p1");
    source.set("prefix_route", { prefix_route: withRoute(drifted, 9, "r9") }, "p2");
    await until(converged(srv, dp, "dp-dg", "p2"));
    const m = dp.live.get("prefix_route")!.maps.get("prefix_route")!;
    expect(m.get(prefix(4000))!.route).toBe("drifted"); // the whole p2, not base + delta
    expect(m.get(prefix(9))!.route).toBe("r9");
    expect(dp.sync.status().deltas).toMatchObject({ applied: 0, resultMismatches: 1 });
    expect(kindOf(srv, "dp-dg")!.lastDeltaFallback).toMatchObject({ reason: "DELTA_MISMATCH", message: expect.stringMatching(/result digest/) });
  });

  it("a restarted data plane with its cache gets a delta from its cached version, and caches the result whole", async () => {
    const cacheDir = tempDir();
    const source = createMemorySource();
    const rows = prefixRouteRows(30_000);
    source.set("prefix_route", { prefix_route: rows }, "p1");
    const srv = await serve(source, 21_502);
    const first = await node(srv.address, "dp-cache", cacheDir);
    await until(converged(srv, first, "dp-cache", "p1"));
    await first.sync.close();
    await until(() => srv.nodes()[0]?.connected === false);

    source.set("prefix_route", { prefix_route: withRoute(rows, 77, "while_down") }, "p2");
    const second = await node(srv.address, "dp-cache", cacheDir);
    expect(second.sync.status().cache.loaded).toEqual([{ kind: "prefix_route", version: "p1", rows: 30_000 }]);
    await until(converged(srv, second, "dp-cache", "p2"));
    expect(second.sync.status().lastReceived.prefix_route).toMatchObject({ mode: "delta", baseVersion: "p1", rows: 1 });
    expect(kindOf(srv, "dp-cache")).toMatchObject({ sentMode: "delta", sentBaseVersion: "p1" });
    await second.sync.close(); // flushes the cache write of the merged result

    // Offline restart: the cache holds p2 in full (nothing listens on a fresh free port).
    const third = await node(`127.0.0.1:${await freePort()}`, "dp-cache-offline", cacheDir);
    expect(third.sync.status().cache).toMatchObject({ loaded: [{ kind: "prefix_route", version: "p2", rows: 30_000 }], errors: [] });
    expect(third.live.get("prefix_route")!.maps.get("prefix_route")!.get(prefix(77))!.route).toBe("while_down");
  });

  it("a NACKed delta (bad row) keeps the old table; the next version is again a delta from the version still running", async () => {
    const source = createMemorySource();
    const rows = prefixRouteRows(5_000);
    source.set("prefix_route", { prefix_route: rows }, "p1");
    const srv = await serve(source, 0);
    const dp = await node(srv.address, "dp-bad");
    await until(converged(srv, dp, "dp-bad", "p1"));
    source.set("prefix_route", { prefix_route: withRoute(rows, 42, `x${BAD_ROW_MARKER}`) }, "p2");
    await until(() => kindOf(srv, "dp-bad")?.lastNackVersion === "p2");
    expect(dp.live.get("prefix_route")).toMatchObject({ version: "p1", applies: 1 });
    expect(dp.live.get("prefix_route")!.maps.get("prefix_route")!.get(prefix(42))!.route).toBe("route_42");
    expect(kindOf(srv, "dp-bad")).toMatchObject({
      appliedVersion: "p1",
      sentMode: "delta",
      deltaFallbacks: 0,
      lastNackError: { reason: "INVALID_ROW", table: "prefix_route", row: prefix(42) },
    });
    expect(dp.tables.statusOf("prefix_route")).toMatchObject({ version: "p1", lastErrorVersion: "p2" });
    await letTimePass(300, "a resend or full push would come within this");
    expect(srv.pushStats()).toMatchObject({ fullSends: 1, deltaSends: 1 }); // not resent, no full push

    source.set("prefix_route", { prefix_route: withRoute(rows, 43, "fixed") }, "p3");
    await until(converged(srv, dp, "dp-bad", "p3"));
    expect(dp.sync.status().lastReceived.prefix_route).toMatchObject({ mode: "delta", baseVersion: "p1" });
    expect(dp.live.get("prefix_route")!.maps.get("prefix_route")!.get(prefix(43))!.route).toBe("fixed");
  });

  it("deltaBase 'cache' rebuilds the base from the cache file; deltaBase 'off' gets whole versions", async () => {
    const source = createMemorySource();
    const rows = prefixRouteRows(8_000);
    source.set("prefix_route", { prefix_route: rows }, "p1");
    const srv = await serve(source, 0);
    const fromCache = await node(srv.address, "dp-cb", tempDir(), "cache");
    const off = await node(srv.address, "dp-off", null, "off");
    await until(() => converged(srv, fromCache, "dp-cb", "p1")() && converged(srv, off, "dp-off", "p1")());
    source.set("prefix_route", { prefix_route: withRoute(rows, 1, "one") }, "p2");
    await until(() => converged(srv, fromCache, "dp-cb", "p2")() && converged(srv, off, "dp-off", "p2")());
    source.set("prefix_route", { prefix_route: withRoute(rows, 2, "two") }, "p3");
    await until(() => converged(srv, fromCache, "dp-cb", "p3")() && converged(srv, off, "dp-off", "p3")());
    expect(fromCache.sync.status().deltas).toMatchObject({ base: "cache", applied: 2, baseMismatches: 0, resultMismatches: 0 });
    expect(fromCache.live.get("prefix_route")!.maps.get("prefix_route")!.get(prefix(1))!.route).toBe("route_1");
    expect(fromCache.live.get("prefix_route")!.maps.get("prefix_route")!.get(prefix(2))!.route).toBe("two");
    expect(off.sync.status().lastReceived.prefix_route).toMatchObject({ mode: "full", rows: 8_000 });
    expect(kindOf(srv, "dp-off")).toMatchObject({ deltaPushes: 0, fullPushes: 3 });
    await expect(createSyncClient({ url: srv.address, nodeId: "x", tables: createFakeTables(["prefix_route"]).tables, cacheDir: null, deltaBase: "cache" })).rejects.toThrow(/needs a cacheDir/);
  });
});
