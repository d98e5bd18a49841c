import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { httpCall, startTestNode, wsClient, type TestNode, type WsTestClient } from "./test-support.js";
import { waitUpTo } from "../../../test/kit/wait.js";

describe("WebSocket /ws: JSON-RPC both ways and the event stream", () => {
  let node: TestNode;
  const clients: WsTestClient[] = [];
  const open = async () => {
    const c = await wsClient(node.srv);
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    node = await startTestNode({ ws: { maxPayload: 64 * 1024 } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await node.srv.close();
  });

  it("subscribe replies first, then replays events after since, then streams live ones", async () => {
    const base = node.bus.lastSeq;
    node.bus.publish("call.started", { id: "a" });
    node.bus.publish("dispatcher.dst_down", { uri: "sip:x" });
    node.bus.publish("call.ended", { id: "a" });
    const c = await open();
    const order: string[] = [];
    c.ws.on("message", (d) => {
      const m = JSON.parse(d.toString());
      order.push(m.method ?? "reply");
    });
    const res = await c.call("events.subscribe", { kinds: ["call.*"], since: base });
    expect(res).toEqual({ epoch: node.bus.epoch, seq: base + 3, missed: 0, replayed: 2 });
    node.bus.publish("call.started", { id: "b" });
    node.bus.publish("table.applied", { kind: "dispatcher" });
    await c.waitFor(() => c.notes.length === 3);
    expect(c.notes.map((n) => [n.method, n.params.kind, n.params.seq])).toEqual([
      ["event", "call.started", base + 1],
      ["event", "call.ended", base + 3],
      ["event", "call.started", base + 4],
    ]);
    expect(c.notes[2]!.params).toEqual({ epoch: node.bus.epoch, seq: base + 4, kind: "call.started", ts: expect.any(String), node: "test-node", data: { id: "b" } });
    expect(order.slice(0, 3)).toEqual(["reply", "event", "event"]);
  });

  it("reports events already overwritten in the ring as missed", async () => {
    const c = await open();
    for (let i = 0; i < 60; i++) node.bus.publish("load.tick", { i }); // ring holds 50
    const since = node.bus.lastSeq - 55;
    const res = (await c.call("events.subscribe", [["load.tick"], since])) as any;
    expect(res.missed).toBe(5);
    expect(res.replayed).toBe(50);
    await c.waitFor(() => c.notes.length === 50);
    expect(c.notes[0]!.params.seq).toBe(since + 6);
  });

  it("unsubscribe stops the stream; a second subscribe replaces the filter", async () => {
    const c = await open();
    await c.call("events.subscribe", [["a.*"]]);
    await c.call("events.subscribe", [["b.*"]]);
    node.bus.publish("a.one", {});
    node.bus.publish("b.one", {});
    await c.waitFor(() => c.notes.length === 1);
    expect(c.notes[0]!.params.kind).toBe("b.one");
    expect(await c.call("events.unsubscribe")).toEqual({ unsubscribed: true });
    expect(await c.call("events.unsubscribe")).toEqual({ unsubscribed: false });
    node.bus.publish("b.two", {});
    await c.call("core.echo", []); // a round trip after the publish
    expect(c.notes).toHaveLength(1);
  });

  it("subscribe with the epoch of an earlier boot is told what was lost and replays the current boot's events", async () => {
    node.bus.publish("epoch.x", { n: 1 });
    const c = await open();
    const res = await c.call("events.subscribe", { kinds: ["epoch.*"], since: 5, epoch: node.bus.epoch - 1 });
    expect(res).toMatchObject({ epoch: node.bus.epoch, lost: "restart", previousEpoch: node.bus.epoch - 1, missedFrom: 6, lostCount: null, replayed: 1 });
    c.ws.close();
  });

  it("events.subscribe over HTTP says to use /ws; events.since polls with limit", async () => {
    await expect(httpCall(node.srv.url, "events.subscribe", [])).rejects.toMatchObject({ code: 400, message: /WebSocket/ });
    const last = node.bus.lastSeq;
    node.bus.publish("poll.a", { n: 1 });
    node.bus.publish("poll.b", { n: 2 });
    node.bus.publish("other", {});
    const r = (await httpCall(node.srv.url, "events.since", { since: last, kinds: "poll.*", limit: 1 })) as any;
    expect(r).toMatchObject({ lastSeq: last + 3, missed: 0, more: true });
    expect(r.events.map((e: any) => e.kind)).toEqual(["poll.a"]);
    const r2 = (await httpCall(node.srv.url, "events.since", [r.events[0].seq, ["poll.*"]])) as any;
    expect(r2.events.map((e: any) => e.kind)).toEqual(["poll.b"]);
    await expect(httpCall(node.srv.url, "events.since", [0, 5])).rejects.toMatchObject({ data: { param: "kinds" } });
    await expect(httpCall(node.srv.url, "events.since", [0, null, 0])).rejects.toMatchObject({ data: { param: "limit" } });
    // the boot epoch: the same epoch answers as before; an older one says what was lost
    const same = (await httpCall(node.srv.url, "events.since", { since: last, kinds: "poll.*", epoch: node.bus.epoch })) as any;
    expect(same).toMatchObject({ epoch: node.bus.epoch, missed: 0, more: false });
    expect(same.lost).toBeUndefined();
    const old = (await httpCall(node.srv.url, "events.since", { since: 7, kinds: "poll.*", epoch: node.bus.epoch - 1000 })) as any;
    expect(old).toMatchObject({ epoch: node.bus.epoch, lost: "restart", previousEpoch: node.bus.epoch - 1000, missedFrom: 8, lostCount: null });
    expect(old.events.map((e: any) => e.kind)).toEqual(["poll.a", "poll.b"]);
  });

  it("the server can call methods the client exposes", async () => {
    const c = await open();
    expect(await c.call("test.callback", ["hi"])).toEqual({ fromClient: { echoed: ["hi"] } });
    expect(await c.call("test.callback", { text: "named" })).toEqual({ fromClient: { echoed: ["named"] } });
    await expect(c.call("test.args", { group: "x", address: "a" })).rejects.toMatchObject({ code: -32602, data: { param: "group" } });
  });

  it("malformed frames get a parse error; oversize frames close the connection", async () => {
    const c = await open();
    const reply = new Promise<any>((r) => c.ws.once("message", (d) => r(JSON.parse(d.toString()))));
    c.ws.send("{nope");
    expect(await reply).toMatchObject({ id: null, error: { code: -32700 } });
    const [badBatch] = await Promise.all([
      new Promise<any>((r) => c.ws.once("message", (d) => r(JSON.parse(d.toString())))),
      Promise.resolve(c.ws.send("[]")),
    ]);
    expect(badBatch).toMatchObject({ error: { code: -32600 } });
    expect(await c.call("core.printi", [1])).toEqual([1]);
    const closed = new Promise<number>((r) => c.ws.once("close", (code) => r(code)));
    c.ws.send("x".repeat(70 * 1024));
    expect(await closed).toBe(1009);
  });

  it("a client that stops reading gets a bounded queue, a missed marker, and no gaps", async () => {
    const slow = await startTestNode({ ws: { highWaterBytes: 64 * 1024, maxQueued: 20, pollMs: 5, slowClientTimeoutMs: 60_000 } });
    const c = await wsClient(slow.srv);
    try {
      await c.call("events.subscribe", [["flood"]]);
      const first = slow.bus.lastSeq + 1;
      const sock = (c.ws as unknown as { _socket: import("node:net").Socket })._socket;
      sock.pause();
      const payload = "x".repeat(20_000);
      for (let i = 0; i < 2000; i++) slow.bus.publish("flood", { i, payload });
      const session = slow.srv.sessions()[0]!;
      const st = session.streamStats()!;
      expect(st.dropped).toBeGreaterThan(0);
      expect(st.maxQueuedSeen).toBeLessThanOrEqual(20);
      expect(session.bufferedAmount).toBeLessThan(64 * 1024 + 30_000);
      sock.resume();
      const fin = slow.bus.publish("flood", { fin: true });
      // the final event arrives either itself or inside a missed marker
      await c.waitFor(() => c.notes.some((n) => n.params.seq === fin.seq || n.params.last === fin.seq), 20_000);
      const seen: number[] = [];
      for (const n of c.notes) {
        if (n.method === "event") seen.push(n.params.seq);
        else for (let s = n.params.first; s <= n.params.last; s++) seen.push(s);
      }
      expect(seen).toEqual(Array.from({ length: fin.seq - first + 1 }, (_, i) => first + i));
      const markers = c.notes.filter((n) => n.method === "events.missed");
      expect(markers.length).toBeGreaterThan(0);
      expect(markers.reduce((a, m) => a + m.params.missed, 0)).toBe(st.dropped);
    } finally {
      await c.close();
      await slow.srv.close();
    }
  }, 60_000);

  it("drops a client that stays blocked longer than slowClientTimeoutMs", async () => {
    const slow = await startTestNode({ ws: { highWaterBytes: 16 * 1024, maxQueued: 5, pollMs: 5, slowClientTimeoutMs: 150 } });
    const c = await wsClient(slow.srv);
    try {
      await c.call("events.subscribe", []);
      (c.ws as unknown as { _socket: import("node:net").Socket })._socket.pause();
      const payload = "y".repeat(50_000);
      for (let i = 0; i < 400; i++) slow.bus.publish("flood", { payload });
      await waitUpTo(() => slow.srv.sessions().length === 0, 5000, 20);
      expect(slow.srv.sessions()).toHaveLength(0);
    } finally {
      c.ws.terminate();
      await slow.srv.close();
    }
  }, 30_000);

  it("a client that never answers pings is terminated", async () => {
    const pinged = await startTestNode({ ws: { pingIntervalMs: 50 } });
    const ws = new WebSocket(`ws://127.0.0.1:${pinged.srv.port}/ws`, { autoPong: false });
    try {
      await new Promise((r) => ws.once("open", r));
      expect(pinged.srv.sessions()).toHaveLength(1);
      const code = await new Promise<number>((r) => ws.once("close", (c) => r(c)));
      expect(code).toBe(1006);
      await waitUpTo(() => pinged.srv.sessions().length === 0, 2000);
      expect(pinged.srv.sessions()).toHaveLength(0);
    } finally {
      ws.terminate();
      await pinged.srv.close();
    }
  });
});
