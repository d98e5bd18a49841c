import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { NackReason } from "../../gen/olelo/control/v1/control_pb.js";
import { setLogSink } from "../../lib/log/logger.js";
import { dispatcherRows, lcrGwRows } from "../../tables/testing/sample-rows.js";
import { createMemorySource, type MemorySource } from "./push-source.js";
import { createPushServer, type PushServer } from "./server.js";
import { openRawStream, type RawStream } from "./testing/raw-stream.js";
import { waitUpTo, waitUntil } from "../../test/kit/wait.js";

setLogSink(() => {});

let server: PushServer | null = null;
const streams: RawStream[] = [];

afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await server?.close({ force: true });
  server = null;
});

async function start(source: MemorySource): Promise<PushServer> {
  server = await createPushServer({ source, host: "127.0.0.1", port: 0 });
  return server;
}

function open(s: PushServer): RawStream {
  const r = openRawStream(s.address);
  streams.push(r);
  return r;
}

const until = (cond: () => boolean, ms = 3000) => waitUntil(cond, { timeoutMs: ms, intervalMs: 10 });

const kindOf = (srv: PushServer, node: string, kind: string) => srv.nodes().find((n) => n.nodeId === node)?.tables.find((t) => t.kind === kind);

describe("push server protocol (raw stream)", () => {
  it("sends every supported kind with a fresh nonce, make-before-break order, only what the node lacks", async () => {
    const source = createMemorySource();
    source.set("prefix_route", { prefix_route: [{ prefix: "49", route: "de", comment: "" }] }, "p1");
    source.set("lcr", { lcr_gw: lcrGwRows(2), lcr_rule: [], lcr_rule_target: [] }, "l1");
    source.set("mtree", { mtree: [{ id: 1, tprefix: "1", tvalue: "x" }], mtrees: [] }, "t1");
    source.set("dispatcher", { dispatcher: dispatcherRows(2) }, "d1");
    source.set("subscriber", { subscriber: [] }, "s1");
    const srv = await start(source);
    const s = open(srv);
    // Runs d1 already (e.g. from its cache); does not support subscriber.
    s.hello("dp-a", ["dispatcher", "lcr", "mtree", "prefix_route", "firewall_x"], { dispatcher: "d1" });
    const got = [await s.next(), await s.next(), await s.next()];
    expect(got.map((g) => [g.kind, g.version])).toEqual([["mtree", "t1"], ["lcr", "l1"], ["prefix_route", "p1"]]);
    expect(new Set(got.map((g) => g.nonce)).size).toBe(3);
    expect(got[1]!.set.lcr_gw).toHaveLength(2);
    expect(await s.collect(200)).toEqual([]);
    const node = srv.nodes()[0]!;
    expect(node).toMatchObject({ nodeId: "dp-a", buildVersion: "test/1", connected: true });
    expect(node.connectedSince).not.toBeNull();
    expect(kindOf(srv, "dp-a", "dispatcher")).toMatchObject({ appliedVersion: "d1", pending: false, sentVersion: null });
    expect(kindOf(srv, "dp-a", "lcr")).toMatchObject({ appliedVersion: null, pending: true, sentVersion: "l1", sentNonce: got[1]!.nonce });
  });

  it("ACK records the version and nothing is resent; a new version is pushed once", async () => {
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(3) }, "d1");
    const srv = await start(source);
    const s = open(srv);
    s.hello("dp-b", ["dispatcher"], {});
    const v1 = await s.next();
    s.ack("dispatcher", "d1", v1.nonce);
    await until(() => kindOf(srv, "dp-b", "dispatcher")?.appliedVersion === "d1");
    expect(kindOf(srv, "dp-b", "dispatcher")!.lastAckAt).not.toBeNull();
    expect(await s.collect(300)).toEqual([]);
    source.set("dispatcher", { dispatcher: dispatcherRows(4) }, "d2");
    const v2 = await s.next();
    expect([v2.version, v2.set.dispatcher!.length]).toEqual(["d2", 4]);
    expect(v2.nonce).not.toBe(v1.nonce);
    s.ack("dispatcher", "d2", v2.nonce);
    expect(await s.collect(300)).toEqual([]);
    expect(kindOf(srv, "dp-b", "dispatcher")!.appliedVersion).toBe("d2");
  });

  it("NACK keeps the running version, shows the error in nodes(), and the version is not resent", async () => {
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(3) }, "d1");
    const srv = await start(source);
    const s = open(srv);
    s.hello("dp-c", ["dispatcher"], {});
    s.ack("dispatcher", "d1", (await s.next()).nonce);
    source.set("dispatcher", { dispatcher: dispatcherRows(5) }, "d2");
    const v2 = await s.next();
    s.nack("dispatcher", "d1", "d2", v2.nonce, { reason: NackReason.INVALID_ROW, message: "dispatcher row 4: bad", table: "dispatcher", row: { case: "rowInt", value: 4n }, detail: "bad" });
    await until(() => kindOf(srv, "dp-c", "dispatcher")?.lastNackVersion === "d2");
    expect(kindOf(srv, "dp-c", "dispatcher")).toMatchObject({
      appliedVersion: "d1",
      pending: false,
      lastNackVersion: "d2",
      lastNackError: { reason: "INVALID_ROW", table: "dispatcher", row: 4, detail: "bad", message: "dispatcher row 4: bad" },
    });
    // An unrelated change elsewhere must not re-push the rejected version.
    source.set("lcr", { lcr_gw: [] }, "l9");
    expect(await s.collect(300)).toEqual([]);
    source.set("dispatcher", { dispatcher: dispatcherRows(2) }, "d3");
    const v3 = await s.next();
    expect(v3.version).toBe("d3");
    s.ack("dispatcher", "d3", v3.nonce);
    await until(() => kindOf(srv, "dp-c", "dispatcher")?.appliedVersion === "d3");
    // The NACK record stays for the operator until overwritten.
    expect(kindOf(srv, "dp-c", "dispatcher")!.lastNackVersion).toBe("d2");
  });

  it("a change signal that carries no new version sends nothing (in flight, or after a NACK)", async () => {
    const source = createMemorySource();
    const rows = dispatcherRows(2);
    source.set("dispatcher", { dispatcher: rows }, "d1");
    const srv = await start(source);
    const s = open(srv);
    s.hello("dp-i", ["dispatcher"], {});
    const v1 = await s.next();
    source.set("dispatcher", { dispatcher: rows }, "d1"); // same version again while unanswered
    expect(await s.collect(250)).toEqual([]);
    s.nack("dispatcher", "", "d1", v1.nonce, { reason: NackReason.INVALID_ROW, message: "no" });
    await until(() => kindOf(srv, "dp-i", "dispatcher")?.lastNackVersion === "d1");
    source.set("dispatcher", { dispatcher: rows }, "d1"); // and again after the NACK
    expect(await s.collect(250)).toEqual([]);
  });

  it("ignores ACK/NACK with a stale nonce", async () => {
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(1) }, "d1");
    const srv = await start(source);
    const s = open(srv);
    s.hello("dp-d", ["dispatcher"], {});
    const v1 = await s.next();
    // The source moves on before the node answers: d2 goes out with a newer nonce.
    source.set("dispatcher", { dispatcher: dispatcherRows(2) }, "d2");
    const v2 = await s.next();
    s.ack("dispatcher", "d1", v1.nonce); // stale
    s.nack("dispatcher", "", "d1", v1.nonce, { reason: NackReason.INVALID_ROW, message: "late" }); // stale
    s.ack("dispatcher", "d1", "made-up-nonce"); // never sent
    await until(() => srv.nodes()[0]!.staleNonces === 3);
    expect(kindOf(srv, "dp-d", "dispatcher")).toMatchObject({ appliedVersion: null, pending: true, sentVersion: "d2", lastNackVersion: null });
    s.ack("dispatcher", "d2", v2.nonce);
    await until(() => kindOf(srv, "dp-d", "dispatcher")?.appliedVersion === "d2");
  });

  it("does not interleave versions of one kind and pushes the newest after an in-flight one", async () => {
    const source = createMemorySource();
    const srv = await createPushServer({ source, port: 0, chunk: { chunkBytes: 16 * 1024 } });
    server = srv;
    source.set("lcr", { lcr_gw: lcrGwRows(50_000) }, "l1");
    const s = open(srv);
    s.hello("dp-e", ["lcr"], {});
    await until(() => s.frames.length > 0);
    // New versions while l1's chunks are still on the way.
    source.set("lcr", { lcr_gw: lcrGwRows(10) }, "l2");
    source.set("lcr", { lcr_gw: lcrGwRows(11) }, "l3");
    const first = await s.next();
    expect(first.version).toBe("l1");
    expect(first.chunks).toBeGreaterThan(50);
    expect(first.set.lcr_gw).toHaveLength(50_000);
    const rest = await s.collect(500);
    // Every version arrived whole (the assembler would have reported interleaved chunks) and l3 is last.
    expect(rest.length).toBeGreaterThanOrEqual(1);
    expect(rest.at(-1)!.version).toBe("l3");
    expect(rest.at(-1)!.set.lcr_gw).toHaveLength(11);
    // Only the newest nonce counts: acking l3 applies it.
    s.ack("lcr", "l3", rest.at(-1)!.nonce);
    await until(() => kindOf(srv, "dp-e", "lcr")?.appliedVersion === "l3");
  });

  it("rejects a stream whose first message is not hello", async () => {
    const srv = await start(createMemorySource());
    const s = open(srv);
    s.ack("dispatcher", "d1", "x");
    const st = await s.status();
    expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(st.details).toMatch(/first message/);
  });

  it("a second stream with the same node id replaces the first", async () => {
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(1) }, "d1");
    const srv = await start(source);
    const a = open(srv);
    a.hello("dp-f", ["dispatcher"], {});
    await a.next();
    const b = open(srv);
    b.hello("dp-f", ["dispatcher"], {});
    expect((await b.next()).version).toBe("d1");
    expect((await a.status()).code).toBe(grpc.status.ABORTED);
    expect(srv.nodes().filter((n) => n.nodeId === "dp-f")).toHaveLength(1);
    expect(srv.nodes()[0]!.connected).toBe(true);
  });

  it("never sends a version whose rows do not fit the protocol, and reports it", async () => {
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: [{ id: 1, setid: "not-a-number", destination: "sip:a" }] }, "bad1");
    const srv = await start(source);
    const s = open(srv);
    s.hello("dp-g", ["dispatcher"], {});
    expect(await s.collect(300)).toEqual([]);
    expect(srv.encodeFailures()).toEqual([expect.objectContaining({ kind: "dispatcher", version: "bad1", table: "dispatcher", row: 1 })]);
  });

  it("after a reconnect a version NACKed by the same build is not resent; a new build gets it", async () => {
    const source = createMemorySource();
    source.set("dispatcher", { dispatcher: dispatcherRows(1) }, "d1");
    const srv = await start(source);
    const a = open(srv);
    a.hello("dp-h", ["dispatcher"], {}, "build-1");
    const v = await a.next();
    a.nack("dispatcher", "", "d1", v.nonce, { reason: NackReason.INVALID_ROW, message: "no" });
    await until(() => kindOf(srv, "dp-h", "dispatcher")?.lastNackVersion === "d1");
    a.close();
    await until(() => srv.nodes()[0]!.connected === false);
    expect(srv.nodes()[0]!.disconnectedAt).not.toBeNull();
    const b = open(srv);
    b.hello("dp-h", ["dispatcher"], {}, "build-1");
    expect(await b.collect(300)).toEqual([]);
    b.close();
    await until(() => srv.nodes()[0]!.connected === false);
    const c = open(srv);
    c.hello("dp-h", ["dispatcher"], {}, "build-2");
    expect((await c.next()).version).toBe("d1");
  });

  it("forgets disconnected nodes after forgetAfterMs", async () => {
    const srv = await createPushServer({ source: createMemorySource(), port: 0, forgetAfterMs: 100 });
    server = srv;
    const s = open(srv);
    s.hello("dp-gone", ["dispatcher"], {});
    await until(() => srv.nodes().length === 1 && srv.nodes()[0]!.connected);
    s.close();
    await until(() => srv.nodes()[0]?.connected === false);
    await waitUpTo(() => srv.nodes().length === 0, 150);
    expect(srv.nodes()).toEqual([]);
  });
});
