import { describe, expect, it } from "vitest";
import { FEEDBACK_HASH } from "./algorithms.js";
import type { FleetCounter } from "./fleet.js";
import { cpuLoadBetween, parseProcStat, sumRxQueue } from "./load.js";
import { FeedbackController } from "./pid.js";
import { PipeTable } from "./pipe-table.js";
import { retryAfter } from "./index.js";

const mk = (fleet: FleetCounter | null = null, cleanUnused = 0) => new PipeTable({ cleanUnused, maxPipes: 100, keyedIdle: 2 }, fleet);
const push = (t: PipeTable, name: string, n: number) => Array.from({ length: n }, () => t.check(name));

describe("pipelimit algorithms (deterministic: time enters only as interval ends)", () => {
  it("TAILDROP accepts up to limit per interval, counts every message, restarts each interval", () => {
    const t = mk();
    t.applyDefinitions([{ pipeid: "p", algorithm: "TAILDROP", limit: 3 }]);
    expect(push(t, "p", 5)).toEqual([1, 1, 1, -1, -1]);
    t.endInterval(1, null);
    const p = t.pipes.get("p")!;
    expect([p.lastCounter, p.load, p.counter]).toEqual([5, 1, 0]); // load = 5 / 3 (integer)
    expect(push(t, "p", 4)).toEqual([1, 1, 1, -1]);
  });

  it("RED: after an interval at twice the limit it passes every 2nd message; under the limit everything", () => {
    const t = mk();
    t.applyDefinitions([{ pipeid: "r", algorithm: "RED", limit: 5 }]);
    expect(push(t, "r", 10).every((r) => r === 1)).toBe(true); // no load measured yet
    t.endInterval(1, null);
    expect(t.pipes.get("r")!.load).toBe(2);
    expect(push(t, "r", 6)).toEqual([-1, 1, -1, 1, -1, 1]);
    t.endInterval(2, null); // 6 / 5 = 1: every message passes
    expect(push(t, "r", 3)).toEqual([1, 1, 1]);
    t.endInterval(3, null); // 3 / 5 = 0
    expect(t.pipes.get("r")!.load).toBe(0);
  });

  it("NETWORK drops while the bytes waiting at the last interval exceed the limit", () => {
    const t = mk();
    t.applyDefinitions([{ pipeid: "n", algorithm: "NETWORK", limit: 1000 }]);
    t.networkBytes = 5000;
    t.endInterval(1, null);
    expect(push(t, "n", 2)).toEqual([-1, -1]);
    t.networkBytes = 10;
    t.endInterval(2, null);
    expect(push(t, "n", 2)).toEqual([1, 1]);
  });

  it("FEEDBACK: the PID controller raises the drop rate above the setpoint; drops follow Kamailio's permutation", () => {
    const t = mk();
    t.applyDefinitions([{ pipeid: "f", algorithm: "FEEDBACK", limit: 75 }]);
    expect(t.pid.setpoint).toBe(0.75);
    t.endInterval(1, 1.0); // err -0.25, integral -0.25, ki -25 -> drop rate 6 (6.25 truncated, as Kamailio's int)
    expect(t.pid.dropRate).toBe(6);
    const r = push(t, "f", 100);
    expect(r.filter((x) => x === -1).length).toBe(6);
    expect(r.findIndex((x) => x === -1)).toBe(FEEDBACK_HASH.findIndex((h, i) => i >= 1 && h < 6) - 1);
    t.endInterval(2, 1.0); // integral -0.5 -> 12
    expect(t.pid.dropRate).toBe(12);
    t.endInterval(3, 0.5); // err +0.25 while the integral is negative: -0.25 -> 6
    expect(t.pid.dropRate).toBe(6);
    t.endInterval(4, 0.25); // integral +0.25 -> negative output -> 0
    expect(t.pid.dropRate).toBe(0);
    t.endInterval(5, 0.25); // integral not wound up further (>= 0 and err >= 0)
    expect(t.pid.dropRate).toBe(0);
  });

  it("the PID controller clamps loads and takes kp/kd", () => {
    const c = new FeedbackController();
    c.setpoint = 0.5;
    c.kp = -100;
    c.ki = 0;
    c.kd = 0;
    expect(c.update(2)).toBe(50); // load clamped to 1: err -0.5
    expect(c.update(Number.NaN)).toBe(0);
  });

  it("pl_check(name, alg, limit) creates a pipe, later calls change only the limit; -2 for unknown pipe or algorithm; NOP returns 2", () => {
    const t = mk();
    expect(t.check("nope")).toBe(-2);
    expect(t.checkLimit("x", "taildrop", 1)).toBe(-2); // case sensitive
    expect(t.checkLimit("x", "TAILDROP", 1)).toBe(1);
    expect(t.checkLimit("x", "RED", 2)).toBe(1); // stays TAILDROP, limit 2
    expect(t.pipes.get("x")!.algo).toBe("TAILDROP");
    expect(t.checkLimit("x", "RED", 0)).toBe(-1); // limit 0 keeps 2
    expect(t.active("x")).toBe(1);
    expect(t.active("y")).toBe(-1);
    t.applyDefinitions([{ pipeid: "nop", algorithm: "NOP", limit: 0 }]);
    expect(t.check("nop")).toBe(2);
  });

  it("templates create keyed pipes on demand (longest prefix), set_pipe on a template updates its pipes, idle keyed pipes expire", () => {
    const t = mk();
    t.applyDefinitions([
      { pipeid: "src:*", algorithm: "TAILDROP", limit: 2 },
      { pipeid: "src:10.*", algorithm: "TAILDROP", limit: 1 },
    ]);
    expect(push(t, "src:192.0.2.1", 3)).toEqual([1, 1, -1]);
    expect(push(t, "src:10.0.0.1", 2)).toEqual([1, -1]);
    expect(t.setPipe("src:*", "TAILDROP", 5)).toBeNull();
    expect(t.pipes.get("src:192.0.2.1")!.limit).toBe(5);
    expect(t.pipes.get("src:10.0.0.1")!.limit).toBe(1);
    expect(t.setPipe("zzz", "RED", 1)).toBe("Unknown pipe id zzz");
    expect(t.setPipe("src:*", "FAST", 1)).toBe("Unknown algorithm");
    for (let s = 1; s <= 4; s++) t.endInterval(s, null); // keyed_idle 2
    expect(t.pipes.has("src:192.0.2.1")).toBe(false);
  });

  it("a new pl_pipes table replaces the old table's pipes, keeps script pipes and counters", () => {
    const t = mk();
    t.applyDefinitions([{ pipeid: "a", algorithm: "TAILDROP", limit: 1 }, { pipeid: "b", algorithm: "RED", limit: 1 }]);
    t.checkLimit("s", "TAILDROP", 9);
    t.check("a");
    t.applyDefinitions([{ pipeid: "a", algorithm: "TAILDROP", limit: 3 }]);
    expect([...t.pipes.keys()].sort()).toEqual(["a", "s"]);
    expect(t.pipes.get("a")!.counter).toBe(1);
    expect(push(t, "a", 3)).toEqual([1, 1, -1]);
  });

  it("FEEDBACK limits must agree (set_pipe refuses a second setpoint)", () => {
    const t = mk();
    t.applyDefinitions([{ pipeid: "f1", algorithm: "FEEDBACK", limit: 80 }, { pipeid: "f2", algorithm: "TAILDROP", limit: 10 }]);
    expect(t.setPipe("f2", "FEEDBACK", 70)).toBe("Feedback limits don't match");
    expect(t.setPipe("f1", "FEEDBACK", 101)).toBe("Feedback limits don't match");
  });

  it("shared: the other nodes' count of the interval counts against the limit; Redis down: this node's share limit / nodes", () => {
    const fleet = { up: true, nodes: 2 } as unknown as FleetCounter;
    const t = mk(fleet);
    t.applyDefinitions([{ pipeid: "p", algorithm: "TAILDROP", limit: 10 }]);
    t.pipes.get("p")!.others = 8;
    expect(push(t, "p", 3)).toEqual([1, 1, -1]);
    t.endInterval(1, null);
    expect(t.pipes.get("p")!.lastCounter).toBe(11); // 3 + 8: the fleet's
    (fleet as { up: boolean }).up = false;
    expect(push(t, "p", 6)).toEqual([1, 1, 1, 1, 1, -1]);
    t.endInterval(2, null);
    expect(t.pipes.get("p")!.lastCounter).toBe(12); // estimated: 6 x 2 nodes
  });

  it("keyed pipes are bounded (max_pipes): -2 beyond", () => {
    const t = new PipeTable({ cleanUnused: 0, maxPipes: 2, keyedIdle: 2 });
    t.applyDefinitions([{ pipeid: "k:*", algorithm: "TAILDROP", limit: 1 }]);
    expect([t.check("k:1"), t.check("k:2"), t.check("k:3")]).toEqual([1, 1, -2]);
    expect(t.refused).toBe(1);
  });
});

describe("load sources", () => {
  it("CPU load from two /proc/stat samples", () => {
    const a = parseProcStat("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n")!;
    const b = parseProcStat("cpu  200 0 200 900 0 0 0 0 0 0\n")!;
    expect(cpuLoadBetween(a, b)).toBeCloseTo(2 / 3);
    expect(parseProcStat("intr 1 2")).toBeNull();
  });

  it("bytes waiting: rx_queue of the sockets on the given ports", () => {
    const text = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
      " 1: 0100007F:13C4 00000000:0000 07 00000000:00000400 00:00000000 00000000     0        0 1 2 0000000000000000 0",
      " 2: 0100007F:13C5 00000000:0000 07 00000000:00000010 00:00000000 00000000     0        0 1 2 0000000000000000 0",
    ].join("\n");
    expect(sumRxQueue(text, new Set([5060]))).toBe(1024);
    expect(sumRxQueue(text, new Set())).toBe(1040);
  });

  it("pl_drop's Retry-After", () => {
    expect(retryAfter()).toBeNull();
    expect(retryAfter(undefined, 5)).toBe(5);
    expect(retryAfter(5)).toBe(5);
    expect(retryAfter(2, 4, () => 0.99)).toBe(4);
    expect(retryAfter(2, 4, () => 0)).toBe(2);
  });
});
