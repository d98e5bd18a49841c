import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort, freePortBlock, freePorts, portBound, PORTS_PER_WORKER, WORKER_RANGE_START, workerPortRange } from "./ports.js";
import { waitUntil, waitUpTo } from "./wait.js";

describe("test kit ports", () => {
  it("freePort hands out distinct ports a UDP and a TCP socket can both bind on 127.0.0.1", async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    for (const port of ports) {
      const tcp = createServer();
      await new Promise<void>((r) => tcp.listen(port, "127.0.0.1", r));
      const udp = createSocket("udp4");
      await new Promise<void>((r) => udp.bind(port, "127.0.0.1", r));
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    }
  });

  it("freePort with ipv6 also frees ::1", async () => {
    const port = await freePort({ ipv6: true });
    const udp = createSocket({ type: "udp6", ipv6Only: true });
    await new Promise<void>((r) => udp.bind(port, "::1", r));
    await new Promise<void>((r) => udp.close(() => r()));
  });

  it("freePortBlock returns a base whose block is free and not handed out again", async () => {
    const base = await freePortBlock(10);
    const next = await freePorts(20);
    for (const p of next) expect(p >= base && p < base + 10).toBe(false);
  });

  it("workerPortRange gives successive ports inside this worker's block", () => {
    const a = workerPortRange(10, 3);
    const b = workerPortRange(5, 3);
    expect(a).toBeGreaterThanOrEqual(WORKER_RANGE_START + 2 * PORTS_PER_WORKER);
    expect(b).toBe(a + 10);
  });
});

describe("test kit waitUntil", () => {
  it("resolves once the predicate holds and rejects with the name after the timeout", async () => {
    let n = 0;
    await waitUntil(() => ++n >= 3, { intervalMs: 1 });
    expect(n).toBe(3);
    await expect(waitUntil(() => false, { timeoutMs: 30, what: "never" })).rejects.toThrow(/never not true after 30 ms/);
    await expect(
      waitUntil(
        () => {
          throw new Error("boom");
        },
        { timeoutMs: 30 },
      ),
    ).rejects.toThrow(/last error: Error: boom/);
  });
});

describe("test kit waitUpTo", () => {
  it("resolves true as soon as the predicate holds, false after maxMs, and never rejects", async () => {
    const t0 = Date.now();
    expect(await waitUpTo(() => Date.now() - t0 >= 20, 2000)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await waitUpTo(() => false, 30)).toBe(false);
    expect(
      await waitUpTo(() => {
        throw new Error("x");
      }, 30),
    ).toBe(false);
  });
});

describe("test kit portBound", () => {
  it("sees a bound UDP socket and a listening TCP socket by port", async () => {
    const [u, t] = await freePorts(2);
    expect(portBound(u!, "udp")).toBe(false);
    const udp = createSocket("udp4");
    await new Promise<void>((r) => udp.bind(u, "127.0.0.1", r));
    expect(portBound(u!, "udp")).toBe(true);
    await new Promise<void>((r) => udp.close(() => r()));
    const tcp = createServer();
    await new Promise<void>((r) => tcp.listen(t, "127.0.0.1", r));
    expect(portBound(t!, "tcp")).toBe(true);
    await new Promise<void>((r) => tcp.close(() => r()));
    expect(portBound(t!, "tcp")).toBe(false);
  });
});
