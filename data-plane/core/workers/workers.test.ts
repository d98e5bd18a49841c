import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { WindowCounters } from "./window-counters.js";
import { mergePrometheus, mergeResults, answeredByOne, isCounterMethod } from "./merge.js";
import { SharedArena, singleNode } from "./node-shared.js";
import { KeyCounts } from "./key-counts.js";
import { replicateState } from "./replicated-state.js";

describe("WindowCounters (shared memory)", () => {
  it("counts per key and window, carries the previous window, forgets older ones", () => {
    const wc = new WindowCounters(new Int32Array(new SharedArrayBuffer(WindowCounters.cells(64) * 4)), 64);
    for (let i = 0; i < 5; i++) wc.hit(1, 0, 100);
    expect(wc.hit(1, 0, 100)).toEqual({ curr: 6, prev: 0 });
    expect(wc.hit(2, 0, 100)).toEqual({ curr: 1, prev: 0 });
    expect(wc.hit(1, 0, 101)).toEqual({ curr: 1, prev: 6 });
    expect(wc.hit(1, 0, 103)).toEqual({ curr: 1, prev: 0 });
    expect(wc.peek(2, 0, 100)).toEqual({ curr: 1, prev: 0 });
  });

  it("loses no hit when two threads count the same key at once", async () => {
    const slots = 1024;
    const mem = new Int32Array(new SharedArrayBuffer(WindowCounters.cells(slots) * 4));
    // the class itself (its compiled source) in two threads, counting 4 keys 20000 times each thread
    const src = `
      const { workerData, parentPort } = require("node:worker_threads");
      const WindowCounters = (${WindowCounters.toString()});
      const wc = new WindowCounters(workerData.mem, workerData.slots);
      for (let k = 0; k < 20000; k++) wc.hit(k % 4, 0, 7);
      parentPort.postMessage("done");`;
    const run = () => new Promise<void>((r) => new Worker(src, { eval: true, workerData: { mem, slots } }).once("message", () => r()));
    await Promise.all([run(), run()]);
    const wc = new WindowCounters(mem, slots);
    const total = [0, 1, 2, 3].reduce((a, k) => a + wc.peek(k, 0, 7).curr, 0);
    expect(total).toBe(40000);
  });

  it("the arena gives the same cells to the same name, in order", () => {
    const a = new SharedArena(new SharedArrayBuffer(4096));
    const x = a.int32("pike", 10);
    expect(a.int32("pike", 10)).toBe(x);
    const y = a.int32("other", 10);
    expect(y.byteOffset).toBeGreaterThanOrEqual(40);
    expect(() => a.int32("big", 10_000)).toThrow(/does not fit/);
  });
});

describe("merging the workers' answers", () => {
  it("sums counters and statistic lines, merges lists, keeps node-wide values once", () => {
    expect(mergeResults([{ total: 3, inuse: 1, name: "a" }, { total: 4, inuse: 0, name: "a" }])).toEqual({ total: 7, inuse: 1, name: "a" });
    expect(mergeResults([["core:rcv_requests = 2", "usrloc:registered_users = 5"], ["core:rcv_requests = 3", "usrloc:registered_users = 5"]])).toEqual(["core:rcv_requests = 5", "usrloc:registered_users = 5"]);
    expect(mergeResults([[{ a: 1 }, { a: 2 }], [{ a: 2 }, { a: 3 }]])).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
    // two workers that counted the same are still two counts (the CI flake: 50 + 50 answered as 50)
    expect(mergeResults([["core:rcv_requests_invite = 50"], ["core:rcv_requests_invite = 50"]])).toEqual(["core:rcv_requests_invite = 100"]);
    expect(mergeResults([{ total: 100, name: "a" }, { total: 100, name: "a" }], "", isCounterMethod("tm.stats"))).toEqual({ total: 200, name: "a" });
    expect(mergeResults([{ id: 1 }, { id: 1 }], "", isCounterMethod("dispatcher.list"))).toEqual({ id: 1 });
    expect(answeredByOne("ul.dump")).toBe(true);
    expect(answeredByOne("tm.stats")).toBe(false);
  });

  it("sums Prometheus samples by series, HELP/TYPE once, usrloc gauges not doubled", () => {
    const w = (n: number) => `# HELP olelo_core_rcv_requests_total x\n# TYPE olelo_core_rcv_requests_total counter\nolelo_core_rcv_requests_total{node="a"} ${n}\n# HELP olelo_usrloc_registered_users y\n# TYPE olelo_usrloc_registered_users gauge\nolelo_usrloc_registered_users{node="a"} 7\n`;
    const m = mergePrometheus([w(2), w(5)]);
    expect(m).toContain('olelo_core_rcv_requests_total{node="a"} 7\n');
    expect(m).toContain('olelo_usrloc_registered_users{node="a"} 7\n');
    expect(m.match(/# TYPE olelo_core_rcv_requests_total/g)).toHaveLength(1);
  });
});

describe("KeyCounts (shared memory, one row per worker)", () => {
  const mem = () => new Int32Array(new SharedArrayBuffer(KeyCounts.cells(64, 2) * 4));

  it("sums the workers' rows; a restarted worker's reset drops only its own counts", () => {
    const m = mem();
    const w0 = new KeyCounts(m, 64, 2, 0);
    const w1 = new KeyCounts(m, 64, 2, 1);
    w0.add("trunk\0gw1", 1);
    w0.add("trunk\0gw1", 1);
    w1.add("trunk\0gw1", 1);
    w1.add("trunk", 3);
    expect(w0.sum("trunk\0gw1")).toBe(3);
    expect(w1.sum("trunk\0gw1")).toBe(3);
    expect(w0.sum("trunk")).toBe(3);
    expect(w0.sum("other")).toBe(0);
    w0.add("trunk\0gw1", -1);
    expect(w1.sum("trunk\0gw1")).toBe(2);
    new KeyCounts(m, 64, 2, 1).resetRow(); // worker 1 restarted
    expect(w0.sum("trunk\0gw1")).toBe(1);
    expect(w0.sum("trunk")).toBe(0);
  });

  it("reuses slots whose count went back to 0; refuses a new key when its window is full", () => {
    const m = new Int32Array(new SharedArrayBuffer(KeyCounts.cells(4, 1) * 4));
    const k = new KeyCounts(m, 4, 1, 0);
    for (let i = 0; i < 4; i++) expect(k.add(`k${i}`, 1)).toBe(true);
    expect(k.add("k4", 1)).toBe(false);
    k.add("k2", -1);
    expect(k.add("k4", 1)).toBe(true);
    expect(k.sum("k4")).toBe(1);
    expect(k.sum("k2")).toBe(0);
  });
});

describe("replicateState", () => {
  it("with one worker: probes here, publishes nothing", () => {
    const r = replicateState<number>(singleNode(), "x", { snapshot: () => [], apply: () => {} });
    expect(r.prober).toBe(true);
    expect(r.shared).toBe(false);
    r.publish("k", 1);
  });
});
