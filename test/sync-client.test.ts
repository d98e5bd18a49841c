import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { setLogSink } from "../lib/log/logger.js";
import { createMemorySource, type MemorySource } from "../control-plane/push/push-source.js";
import type { PushServer } from "../control-plane/push/server.js";
import type { SyncClient } from "../data-plane/sync/client.js";
import { BAD_ROW_MARKER, createFakeTables } from "../data-plane/sync/testing/fake-sinks.js";
import { dispatcherRows, lcrGwRows, prefixRouteRows } from "../tables/testing/sample-rows.js";
import { freePort } from "./kit/ports.js";
import { useSyncFixture } from "./helpers/sync-fixture.js";
import { waitUpTo, waitUntil, letTimePass } from "./kit/wait.js";

setLogSink(() => {});

const fx = useSyncFixture("olelo-sync-");

const until = (cond: () => boolean, ms = 5000, what = "condition") => waitUntil(cond, { timeoutMs: ms, intervalMs: 10, what });

async function serve(source: MemorySource, port = 0, chunkBytes?: number): Promise<PushServer> {
  return fx.serve({ source, host: "127.0.0.1", port, chunk: chunkBytes ? { chunkBytes } : undefined });
}

async function node(url: string, nodeId: string, kinds: string[], cacheDir: string | null = null, backoff = { initialMs: 50, maxMs: 400 }) {
  const { tables, live } = createFakeTables(kinds);
  const sync = await fx.client({ url, nodeId, tables, cacheDir, backoff });
  return { tables, live, sync };
}

const tempDir = fx.tempDir;

const kindOf = (srv: PushServer, id: string, kind: string) => srv.nodes().find((n) => n.nodeId === id)?.tables.find((t) => t.kind === kind);

describe("sync client ⇄ push server over gRPC", () => {
  it("hello → tables applied through TableRegistry → ACK visible on both sides", async () => {
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(3) }, "d1");
    source.set("lcr", { lcr_gw: lcrGwRows(4), lcr_rule: [], lcr_rule_target: [] }, "l1");
    const srv = await serve(source);
    const dp = await node(srv.address, "dp-1", ["dispatcher", "lcr"]);
    await until(() => kindOf(srv, "dp-1", "lcr")?.appliedVersion === "l1" && kindOf(srv, "dp-1", "dispatcher")?.appliedVersion === "d1");
    expect(dp.live.get("dispatcher")!.maps.get("dispatcher")!.get(2)).toMatchObject({ id: 2, destination: "sip:10.0.0.2:5060" });
    expect(dp.live.get("lcr")!.rows).toBe(4);
    expect(dp.tables.statusOf("lcr")).toMatchObject({ version: "l1", rows: 4, source: "control-plane", lastError: null });
    expect(dp.sync.status()).toMatchObject({ state: "connected", connected: true, url: srv.address, nodeId: "dp-1", versions: { dispatcher: "d1", lcr: "l1" }, acks: 2, nacks: 0 });
    expect(srv.nodes()[0]!.kinds).toEqual(["dispatcher", "lcr"]);
  });

  it("NACK keeps the old table, its error reaches nodes(); the same version is not resent; a new one is applied", async () => {
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(3) }, "d1");
    const srv = await serve(source);
    const dp = await node(srv.address, "dp-2", ["dispatcher"]);
    await until(() => dp.live.get("dispatcher")?.version === "d1");
    const rows = dispatcherRows(3);
    rows[1]!.attrs = `weight=5;${BAD_ROW_MARKER}`;
    source.set("dispatcher", { dispatcher: rows }, "d2");
    await until(() => kindOf(srv, "dp-2", "dispatcher")?.lastNackVersion === "d2");
    expect(dp.live.get("dispatcher")!.version).toBe("d1");
    expect(dp.live.get("dispatcher")!.applies).toBe(1);
    expect(kindOf(srv, "dp-2", "dispatcher")).toMatchObject({
      appliedVersion: "d1",
      lastNackError: { reason: "INVALID_ROW", table: "dispatcher", row: 2, detail: expect.stringContaining("not allowed") },
    });
    expect(dp.tables.statusOf("dispatcher")).toMatchObject({ version: "d1", lastErrorVersion: "d2" });
    expect(dp.sync.status().nacks).toBe(1);
    await letTimePass(300, "a resend of the NACKed version would come within this");
    expect(dp.sync.status().nacks).toBe(1); // no resend of the NACKed version
    source.set("dispatcher", { dispatcher: dispatcherRows(5) }, "d3");
    await until(() => dp.live.get("dispatcher")?.version === "d3");
    await until(() => kindOf(srv, "dp-2", "dispatcher")?.appliedVersion === "d3");
    expect(dp.live.get("dispatcher")!.rows).toBe(5);
  });

  it("no resend after ACK: the sink is applied exactly once per version", async () => {
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(2) }, "d1");
    const srv = await serve(source);
    const dp = await node(srv.address, "dp-3", ["dispatcher"]);
    await until(() => kindOf(srv, "dp-3", "dispatcher")?.appliedVersion === "d1");
    source.set("lcr", { lcr_gw: [] }, "unrelated"); // a change the node does not subscribe to
    await letTimePass(300, "an apply would come within this");
    expect(dp.live.get("dispatcher")!.applies).toBe(1);
    expect(dp.sync.status().acks).toBe(1);
  });

  it("applies a 300k-row table sent in many chunks", async () => {
    const source = createMemorySource();
    source.set("prefix_route", { prefix_route: prefixRouteRows(300_000) }, "p1");
    const srv = await serve(source, 0, 256 * 1024);
    const dp = await node(srv.address, "dp-4", ["prefix_route"]);
    await until(() => kindOf(srv, "dp-4", "prefix_route")?.appliedVersion === "p1", 20_000);
    const live = dp.live.get("prefix_route")!;
    expect(live.rows).toBe(300_000);
    expect(live.maps.get("prefix_route")!.get("4900123456")).toEqual({ prefix: "4900123456", route: "route_6", comment: "" });
    expect(srv.bytesSent()).toBeGreaterThan(300_000 * 15);
  });

  it("reconnects with backoff after the server restarts and converges to the new version", async () => {
    const port = await freePort();
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(2) }, "d1");
    const srv1 = await serve(source, port);
    const dp = await node(`127.0.0.1:${port}`, "dp-5", ["dispatcher"], null, { initialMs: 50, maxMs: 300 });
    await until(() => dp.live.get("dispatcher")?.version === "d1");
    await srv1.close({ force: true });
    await until(() => dp.sync.status().state === "backoff" || dp.sync.status().state === "connecting");
    // several failed attempts while it is down (at most 400 ms, as long as the old fixed wait)
    await waitUpTo(() => { const st = dp.sync.status(); return !st.connected && st.lastError !== null && st.reconnects >= 2; }, 400);
    const down = dp.sync.status();
    expect(down.connected).toBe(false);
    expect(down.lastError).not.toBeNull();
    expect(down.reconnects).toBeGreaterThanOrEqual(2);
    expect(dp.live.get("dispatcher")!.version).toBe("d1"); // keeps routing with what it has
    source.set("dispatcher", { dispatcher: dispatcherRows(7) }, "d2");
    const srv2 = await serve(source, port);
    await until(() => dp.live.get("dispatcher")?.version === "d2", 5000, "reconnect + d2");
    await until(() => kindOf(srv2, "dp-5", "dispatcher")?.appliedVersion === "d2");
    expect(dp.sync.status()).toMatchObject({ state: "connected", connected: true });
  });

  it("cache: a restart while the control plane is down routes from the cache, then converges", async () => {
    const port = await freePort();
    const cacheDir = tempDir();
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(3) }, "d1");
    source.set("prefix_route", { prefix_route: prefixRouteRows(50_000) }, "p1");
    const srv1 = await serve(source, port, 64 * 1024);
    const first = await node(`127.0.0.1:${port}`, "dp-6", ["dispatcher", "prefix_route"], cacheDir);
    await until(() => first.sync.status().versions.prefix_route === "p1" && first.sync.status().versions.dispatcher === "d1");
    await first.sync.close(); // flushes cache writes
    await srv1.close({ force: true });
    expect(readdirSync(cacheDir).sort()).toEqual(["dispatcher.tables", "prefix_route.tables"]);

    // Restart with the control plane down: tables come from the cache before any connection.
    const second = await node(`127.0.0.1:${port}`, "dp-6", ["dispatcher", "prefix_route"], cacheDir, { initialMs: 50, maxMs: 200 });
    expect(second.live.get("dispatcher")).toMatchObject({ version: "d1", rows: 3 });
    expect(second.live.get("prefix_route")).toMatchObject({ version: "p1", rows: 50_000 });
    expect(second.tables.statusOf("prefix_route")).toMatchObject({ version: "p1", source: "cache" });
    expect(second.sync.status().cache.loaded).toEqual([
      { kind: "dispatcher", version: "d1", rows: 3 },
      { kind: "prefix_route", version: "p1", rows: 50_000 },
    ]);
    expect(second.sync.status().connected).toBe(false);

    // The control plane returns with a new dispatcher version and the same prefix_route version.
    source.set("dispatcher", { dispatcher: dispatcherRows(4) }, "d2");
    const srv2 = await serve(source, port, 64 * 1024);
    await until(() => second.live.get("dispatcher")?.version === "d2", 5000, "converge to d2");
    await until(() => kindOf(srv2, "dp-6", "prefix_route")?.appliedVersion === "p1");
    // p1 was reported in Hello, so it was not sent again.
    expect(second.live.get("prefix_route")!.applies).toBe(1);
    expect(kindOf(srv2, "dp-6", "prefix_route")!.sentVersion).toBeNull();
    await second.sync.close();
    // The cache now holds d2; no temp files are left behind.
    const third = await node(`127.0.0.1:${port + 50}`, "dp-6b", ["dispatcher"], cacheDir);
    expect(third.live.get("dispatcher")!.version).toBe("d2");
    expect(readdirSync(cacheDir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("two data planes converge to the same versions", async () => {
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(2) }, "d1");
    const srv = await serve(source);
    const a = await node(srv.address, "dp-a", ["dispatcher"]);
    const b = await node(srv.address, "dp-b", ["dispatcher"]);
    await until(() => a.live.get("dispatcher")?.version === "d1" && b.live.get("dispatcher")?.version === "d1");
    source.set("dispatcher", { dispatcher: dispatcherRows(9) }, "d2");
    await until(() => srv.nodes().every((n) => n.tables.find((t) => t.kind === "dispatcher")?.appliedVersion === "d2"));
    expect(srv.nodes().map((n) => n.nodeId)).toEqual(["dp-a", "dp-b"]);
    expect([a.live.get("dispatcher")!.rows, b.live.get("dispatcher")!.rows]).toEqual([9, 9]);
  });

  it("close() ends the stream cleanly: the server sees the node disconnect and no reconnect follows", async () => {
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(1) }, "d1");
    const srv = await serve(source);
    const dp = await node(srv.address, "dp-7", ["dispatcher"]);
    await until(() => kindOf(srv, "dp-7", "dispatcher")?.appliedVersion === "d1");
    await dp.sync.close();
    await until(() => srv.nodes()[0]!.connected === false);
    expect(dp.sync.status()).toMatchObject({ state: "closed", connected: false });
    await letTimePass(200, "a reconnect would come within this");
    expect(srv.nodes()[0]!.connected).toBe(false);
  });

  it("a corrupt cache file is ignored with a reason and the kind is fetched from the control plane", async () => {
    const cacheDir = tempDir();
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(cacheDir, "dispatcher.tables"), "OLELOTC1\u0000\u0000\u0001\u0000garbage");
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(2) }, "d1");
    const srv = await serve(source);
    const dp = await node(srv.address, "dp-8", ["dispatcher"], cacheDir);
    expect(dp.sync.status().cache.errors).toEqual([{ kind: "dispatcher", error: expect.stringMatching(/dispatcher cache: truncated/) }]);
    await until(() => dp.live.get("dispatcher")?.version === "d1");
  });
});
