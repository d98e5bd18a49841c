import { afterEach, describe, expect, it, vi } from "vitest";
import { EventBus } from "../events/bus.js";
import { EventSubscription, encodeEventNotification, type EventSocket } from "./event-stream.js";

class FakeSocket implements EventSocket {
  buffered = 0;
  open = true;
  sent: any[] = [];
  closedWith: [number, string] | null = null;
  bufferedAmount() {
    return this.buffered;
  }
  sendText(t: string) {
    this.sent.push(JSON.parse(t));
  }
  isOpen() {
    return this.open;
  }
  close(code: number, reason: string) {
    this.closedWith = [code, reason];
    this.open = false;
  }
}

/** seqs delivered as events plus seqs covered by missed markers, in stream order */
function covered(sent: any[]): number[] {
  const out: number[] = [];
  for (const m of sent) {
    if (m.method === "event") out.push(m.params.seq);
    else for (let s = m.params.first; s <= m.params.last; s++) out.push(s);
  }
  return out;
}

describe("EventSubscription", () => {
  afterEach(() => vi.useRealTimers());

  it("holds output until release, replays after since, then streams live", () => {
    const bus = new EventBus("n", 100);
    for (let i = 1; i <= 5; i++) bus.publish("a.x", { i });
    const sock = new FakeSocket();
    const sub = new EventSubscription(bus, sock, null, {});
    expect(sub.start(2)).toEqual({ seq: 5, missed: 0, replayed: 3 });
    bus.publish("a.y", { i: 6 });
    expect(sock.sent).toEqual([]);
    sub.release();
    expect(sock.sent.map((m) => m.params.seq)).toEqual([3, 4, 5, 6]);
    expect(sock.sent[0]).toEqual({ jsonrpc: "2.0", method: "event", params: { epoch: bus.epoch, seq: 3, kind: "a.x", ts: expect.any(String), node: "n", data: { i: 3 } } });
    bus.publish("a.z", {});
    expect(sock.sent).toHaveLength(5);
    sub.close();
    bus.publish("a.z", {});
    expect(sock.sent).toHaveLength(5);
  });

  it("filters by kind and reports events lost from the ring as missed", () => {
    const bus = new EventBus("n", 10);
    for (let i = 1; i <= 15; i++) bus.publish(i % 2 ? "call.started" : "dispatcher.dst_down", { i });
    const sock = new FakeSocket();
    const sub = new EventSubscription(bus, sock, ["call.*"], {});
    const r = sub.start(0);
    expect(r.missed).toBe(5);
    expect(r.replayed).toBe(5); // seqs 7, 9, 11, 13, 15 remain
    sub.release();
    expect(sock.sent.map((m) => m.params.seq)).toEqual([7, 9, 11, 13, 15]);
    expect(new EventSubscription(bus, new FakeSocket(), null, {}).start(undefined)).toEqual({ seq: 15, missed: 0, replayed: 0 });
  });

  it("a blocked socket bounds the queue and replaces skipped events by one missed marker", () => {
    vi.useFakeTimers();
    const bus = new EventBus("n", 1000);
    const sock = new FakeSocket();
    const sub = new EventSubscription(bus, sock, null, { highWaterBytes: 100, maxQueued: 10, pollMs: 5, slowClientTimeoutMs: 10_000 });
    sub.start(undefined);
    sub.release();
    bus.publish("k", { n: 1 });
    expect(sock.sent).toHaveLength(1);
    sock.buffered = 500; // client stopped reading
    for (let i = 0; i < 100; i++) bus.publish("k", { n: i + 2 });
    expect(sock.sent).toHaveLength(1);
    expect(sub.stats.queued).toBe(10);
    expect(sub.stats.maxQueuedSeen).toBe(10);
    expect(sub.stats.dropped).toBe(90);
    sock.buffered = 0;
    vi.advanceTimersByTime(5);
    bus.publish("k", { n: 102 });
    const kinds = sock.sent.map((m) => m.method);
    expect(kinds.filter((k) => k === "events.missed")).toHaveLength(1);
    const marker = sock.sent.find((m) => m.method === "events.missed");
    expect(marker.params).toEqual({ missed: 90, first: 12, last: 101 });
    expect(covered(sock.sent)).toEqual(Array.from({ length: 102 }, (_, i) => i + 1));
    sub.close();
  });

  it("drops a client whose socket does not drain in time", () => {
    vi.useFakeTimers();
    const bus = new EventBus("n", 100);
    const sock = new FakeSocket();
    const sub = new EventSubscription(bus, sock, null, { highWaterBytes: 10, maxQueued: 5, pollMs: 10, slowClientTimeoutMs: 100 });
    sub.start(undefined);
    sub.release();
    sock.buffered = 50;
    bus.publish("k", {});
    vi.advanceTimersByTime(50);
    expect(sock.closedWith).toBeNull();
    vi.advanceTimersByTime(100);
    expect(sock.closedWith).toEqual([1008, "event consumer too slow"]);
    bus.publish("k", {});
    expect(sub.stats.queued).toBe(0);
  });

  it("serialises an event once for all clients", () => {
    const bus = new EventBus("n", 10);
    const ev = bus.publish("k", { a: 1 });
    expect(encodeEventNotification(ev)).toBe(encodeEventNotification(ev));
    expect(JSON.parse(encodeEventNotification(ev))).toEqual({ jsonrpc: "2.0", method: "event", params: ev });
  });
});
