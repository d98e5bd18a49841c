import { afterEach, describe, expect, it } from "vitest";
import { NackReason } from "../../gen/olelo/control/v1/control_pb.js";
import { setLogSink } from "../../lib/log/logger.js";
import type { TableRow } from "../../tables/rows.js";
import { prefixRouteRows } from "../../tables/testing/sample-rows.js";
import { createMemorySource, type MemorySource } from "./push-source.js";
import { createPushServer, type PushServer, type PushServerOptions } from "./server.js";
import { openRawStream, type RawStream } from "./testing/raw-stream.js";
import { waitUntil } from "../../test/kit/wait.js";

setLogSink(() => {});

let server: PushServer | null = null;
const streams: RawStream[] = [];

afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await server?.close({ force: true });
  server = null;
});

async function start(source: MemorySource, opts: Partial<PushServerOptions> = {}): Promise<PushServer> {
  server = await createPushServer({ source, host: "127.0.0.1", port: 0, ...opts });
  return server;
}

function open(s: PushServer): RawStream {
  const r = openRawStream(s.address);
  streams.push(r);
  return r;
}

const until = (cond: () => boolean, ms = 3000) => waitUntil(cond, { timeoutMs: ms, intervalMs: 10 });

const kindOf = (srv: PushServer, node: string) => srv.nodes().find((n) => n.nodeId === node)?.tables.find((t) => t.kind === "prefix_route");

/** `rows` with the route of row `i` changed. */
const withRoute = (rows: TableRow[], i: number, route: string) => rows.map((r, j) => (j === i ? { ...r, route } : r));

const DELTA = { supportsDelta: true };

describe("push server: deltas (raw stream)", () => {
  it("a node that supports deltas gets a one-row change as a delta; one that does not gets the whole kind", async () => {
    const source = createMemorySource();
    const rows = prefixRouteRows(5000);
    source.set("prefix_route", { prefix_route: rows }, "p1");
    const srv = await start(source);
    const a = open(srv);
    const b = open(srv);
    a.hello("dp-delta", ["prefix_route"], {}, "test/1", DELTA);
    b.hello("dp-sotw", ["prefix_route"], {});
    const [a1, b1] = [await a.next(), await b.next()];
    expect([a1.delta, b1.delta]).toEqual([null, null]); // nothing to build on yet: whole
    a.ack("prefix_route", "p1", a1.nonce);
    b.ack("prefix_route", "p1", b1.nonce);
    await until(() => kindOf(srv, "dp-delta")?.appliedVersion === "p1" && kindOf(srv, "dp-sotw")?.appliedVersion === "p1");

    source.set("prefix_route", { prefix_route: withRoute(rows, 1234, "route_x") }, "p2");
    const [a2, b2] = [await a.next(), await b.next()];
    expect(a2.version).toBe("p2");
    expect(a2.delta).toMatchObject({ baseVersion: "p1", totalRemoved: 0 });
    expect(a2.set.prefix_route).toEqual([{ prefix: String(4_900_000_000 + 1234), route: "route_x", comment: "" }]);
    expect(a2.delta!.tables.get("prefix_route")).toMatchObject({ keyColumn: "prefix", resultRows: 5000, positions: [1234], removed: [] });
    expect(b2.delta).toBeNull();
    expect(b2.set.prefix_route).toHaveLength(5000);
    expect(a2.bytes * 100).toBeLessThan(b2.bytes);
    a.ack("prefix_route", "p2", a2.nonce);
    await until(() => kindOf(srv, "dp-delta")?.appliedVersion === "p2");
    expect(kindOf(srv, "dp-delta")).toMatchObject({ sentMode: "delta", sentBaseVersion: "p1", fullPushes: 1, deltaPushes: 1, deltaFallbacks: 0 });
    expect(kindOf(srv, "dp-sotw")).toMatchObject({ sentMode: "full", fullPushes: 2, deltaPushes: 0 });
    expect(srv.pushStats()).toMatchObject({ fullSends: 3, deltaSends: 1, deltaFallbacks: 0 });
    expect(srv.pushStats().deltaBytes).toBe(a2.bytes);
  });

  it("answers BASE_MISMATCH and DELTA_MISMATCH with the whole version under a fresh nonce", async () => {
    const source = createMemorySource();
    const rows = prefixRouteRows(3000);
    source.set("prefix_route", { prefix_route: rows }, "p1");
    const srv = await start(source);
    source.set("prefix_route", { prefix_route: withRoute(rows, 5, "r5") }, "p2");
    const s = open(srv);
    // Claims p1 (e.g. from a cache), which the server kept as a base: a delta p1 → p2 goes out.
    s.hello("dp-m", ["prefix_route"], { prefix_route: "p1" }, "test/1", DELTA);
    const d = await s.next();
    expect(d.delta?.baseVersion).toBe("p1");
    s.nack("prefix_route", "", "p2", d.nonce, { reason: NackReason.BASE_MISMATCH, message: "runs no version" });
    const full = await s.next();
    expect(full).toMatchObject({ version: "p2", delta: null });
    expect(full.nonce).not.toBe(d.nonce);
    expect(full.set.prefix_route).toHaveLength(3000);
    const st = kindOf(srv, "dp-m")!;
    expect(st).toMatchObject({ appliedVersion: null, sentMode: "full", deltaFallbacks: 1, lastNackVersion: null, lastNackError: null });
    expect(st.lastDeltaFallback).toMatchObject({ version: "p2", baseVersion: "p1", reason: "BASE_MISMATCH", message: "runs no version" });
    s.ack("prefix_route", "p2", full.nonce);
    await until(() => kindOf(srv, "dp-m")?.appliedVersion === "p2");

    source.set("prefix_route", { prefix_route: withRoute(rows, 6, "r6") }, "p3");
    const d3 = await s.next();
    expect(d3.delta?.baseVersion).toBe("p2");
    s.nack("prefix_route", "p2", "p3", d3.nonce, { reason: NackReason.DELTA_MISMATCH, message: "digest" });
    const full3 = await s.next();
    expect(full3).toMatchObject({ version: "p3", delta: null });
    expect(kindOf(srv, "dp-m")).toMatchObject({ appliedVersion: "p2", deltaFallbacks: 2, lastDeltaFallback: { reason: "DELTA_MISMATCH" } });
    expect(srv.pushStats()).toMatchObject({ deltaSends: 2, fullSends: 2, deltaFallbacks: 2 });
  });

  it("an INVALID_ROW NACK of a delta is an ordinary rejection: nothing is resent", async () => {
    const source = createMemorySource();
    const rows = prefixRouteRows(2000);
    source.set("prefix_route", { prefix_route: rows }, "p1");
    const srv = await start(source);
    const s = open(srv);
    s.hello("dp-r", ["prefix_route"], { prefix_route: "p1" }, "test/1", DELTA);
    expect(await s.collect(200)).toEqual([]); // runs the current version already
    source.set("prefix_route", { prefix_route: withRoute(rows, 9, "bad") }, "p2");
    const d = await s.next();
    expect(d.delta).not.toBeNull();
    s.nack("prefix_route", "p1", "p2", d.nonce, { reason: NackReason.INVALID_ROW, message: "prefix_route row 4900000009: bad", table: "prefix_route", row: { case: "rowString", value: "4900000009" } });
    await until(() => kindOf(srv, "dp-r")?.lastNackVersion === "p2");
    expect(await s.collect(300)).toEqual([]);
    expect(kindOf(srv, "dp-r")).toMatchObject({ appliedVersion: "p1", deltaFallbacks: 0, lastNackError: { reason: "INVALID_ROW", row: "4900000009" } });
  });

  it("waits for the answer to an in-flight version, then sends the next delta against what the node ACKed", async () => {
    const source = createMemorySource();
    const rows = prefixRouteRows(2000);
    source.set("prefix_route", { prefix_route: rows }, "p1");
    const srv = await start(source);
    const s = open(srv);
    s.hello("dp-w", ["prefix_route"], { prefix_route: "p1" }, "test/1", DELTA);
    source.set("prefix_route", { prefix_route: withRoute(rows, 1, "a") }, "p2");
    const d2 = await s.next();
    source.set("prefix_route", { prefix_route: withRoute(withRoute(rows, 1, "a"), 2, "b") }, "p3");
    expect(await s.collect(300)).toEqual([]); // p2 is unanswered
    s.ack("prefix_route", "p2", d2.nonce);
    const d3 = await s.next();
    expect(d3).toMatchObject({ version: "p3", delta: { baseVersion: "p2" } });
    expect(d3.set.prefix_route).toHaveLength(1);
    // After a NACK of the in-flight version, the newer one goes against the version still running.
    source.set("prefix_route", { prefix_route: withRoute(rows, 3, "c") }, "p4");
    expect(await s.collect(250)).toEqual([]);
    s.nack("prefix_route", "p2", "p3", d3.nonce, { reason: NackReason.INVALID_ROW, message: "no" });
    const d4 = await s.next();
    expect(d4).toMatchObject({ version: "p4", delta: { baseVersion: "p2" } });
  });

  it("bases: kept versions and the source's snapshot() give deltas; an unknown base, a big change or a small kind go whole", async () => {
    const source = createMemorySource({ keepVersions: 10 });
    const rows = prefixRouteRows(4000);
    for (let v = 1; v <= 4; v++) source.set("prefix_route", { prefix_route: withRoute(rows, v, `v${v}`) }, `p${v}`);
    source.set("dispatcher", { dispatcher: [{ id: 1, setid: 1, destination: "sip:a" }] }, "d1");
    const srv = await start(source, { delta: { keepVersions: 0 } }); // the server itself keeps no older version
    // p1 comes from the source's snapshot(); p0 is unknown anywhere.
    const s = open(srv);
    s.hello("dp-b1", ["prefix_route", "dispatcher"], { prefix_route: "p1", dispatcher: "d0" }, "test/1", DELTA);
    const got = [await s.next(), await s.next()].sort((x, y) => x.kind.localeCompare(y.kind));
    expect(got[0]).toMatchObject({ kind: "dispatcher", delta: null }); // 1 row < minRows
    expect(got[1]).toMatchObject({ kind: "prefix_route", version: "p4", delta: { baseVersion: "p1" } });
    expect(got[1]!.set.prefix_route).toHaveLength(2); // rows 1 and 4 differ between p1 and p4
    const t = open(srv);
    t.hello("dp-b2", ["prefix_route"], { prefix_route: "p0" }, "test/1", DELTA);
    const whole = await t.next();
    expect(whole).toMatchObject({ version: "p4", delta: null });
    t.ack("prefix_route", "p4", whole.nonce);
    await until(() => kindOf(srv, "dp-b2")?.appliedVersion === "p4");
    // 30 % of the rows change: more than maxRatio (25 %), so the whole kind goes.
    source.set("prefix_route", { prefix_route: rows.map((r, i) => (i % 10 < 3 ? { ...r, comment: "moved" } : r)) }, "p5");
    expect(await t.next()).toMatchObject({ version: "p5", delta: null });
  });
});
