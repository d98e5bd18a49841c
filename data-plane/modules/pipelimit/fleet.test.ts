import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../../test/kit/wait.js";
import { FleetCounter } from "./fleet.js";
import { PipeTable } from "./pipe-table.js";

const URL = "redis://127.0.0.1:6379/0";
const PREFIX = `olelo:test:plfleet-unit:${process.pid}:`;
const quiet = { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false } as never;
const open: FleetCounter[] = [];
const redis = new Redis(URL);

/** A node: its pipe table over a fleet counter; slot fixed by the test (no timers). */
function nodeOf(id: string, url = URL, fixedNodes = 0) {
  let table: PipeTable;
  const f = new FleetCounter({ url, prefix: PREFIX, nodeId: id, flushMs: 10, intervalMs: 60_000, fixedNodes, timeoutMs: 300, log: quiet, onError: () => undefined, currentSlot: () => table.slot });
  open.push(f);
  table = new PipeTable({ cleanUnused: 0, maxPipes: 10, keyedIdle: 1 }, f);
  table.slot = 7;
  table.applyDefinitions([{ pipeid: "p", algorithm: "TAILDROP", limit: 10 }]);
  return { f, table };
}

afterAll(async () => {
  for (const f of open) f.close();
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe("fleet counter (real Redis)", () => {
  it("two nodes share one interval counter: each message is added once and the other node's count holds the limit", async () => {
    const a = nodeOf("a");
    const b = nodeOf("b");
    const flushUntil = async (n: ReturnType<typeof nodeOf>, ok: () => boolean) => {
      await waitUntil(() => (n.table.flush(Date.now()), ok()), { timeoutMs: 3000, intervalMs: 15, what: "a flush" });
    };
    await flushUntil(a, () => a.f.up && a.f.nodes >= 1);
    await flushUntil(b, () => b.f.up && b.f.nodes === 2);
    const pa = Array.from({ length: 6 }, () => a.table.check("p"));
    expect(pa).toEqual([1, 1, 1, 1, 1, 1]);
    await flushUntil(a, () => a.table.pipes.get("p")!.flushed === 6);
    b.table.check("p"); // b's first message: 1 + 0 known others
    await flushUntil(b, () => b.table.pipes.get("p")!.others === 6);
    expect(Array.from({ length: 4 }, () => b.table.check("p"))).toEqual([1, 1, 1, -1]); // 1+6+3 = 10, the 11th drops
    await flushUntil(b, () => b.table.pipes.get("p")!.flushed === 5);
    await flushUntil(a, () => a.table.pipes.get("p")!.others === 5);
    expect(a.table.check("p")).toBe(-1);
    expect(await redis.get(`${PREFIX}p:7`)).toBe("11"); // 6 + 5 offered before a's last flush: no double counting
  });

  it("Redis unreachable: mode fallback, limit / nodes on this node", async () => {
    const c = nodeOf("c", "redis://127.0.0.1:1/0", 2);
    c.table.flush(Date.now());
    expect(c.f.up).toBe(false);
    expect(Array.from({ length: 6 }, () => c.table.check("p"))).toEqual([1, 1, 1, 1, 1, -1]); // ceil(10 / 2)
  });
});
