import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../../test/kit/wait.js";
import { FloodGuard } from "./flood-guard.js";
import { PikeDetector } from "./pike-detector.js";
import { RedisBanSync } from "./redis-bans.js";

const URL = "redis://127.0.0.1:6379/0";
const PREFIX = `olelo:test:pikebans:${process.pid}:`;
const quiet = { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false } as never;
const guard = () => new FloodGuard({ detector: new PikeDetector({ samplingTimeUnit: 2, reqsDensityPerUnit: 5, removeLatency: 10, maxEntries: 100, ipv6Prefix: 128 }, () => Date.now()), banSeconds: 2 });
const syncs: RedisBanSync[] = [];
const redis = new Redis(URL);

afterAll(async () => {
  for (const s of syncs) s.close();
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe("pike bans shared through Redis", () => {
  it("a ban on one node reaches the other at once, a node started later learns it, an unban clears it everywhere, and it expires", async () => {
    const a = guard();
    const b = guard();
    syncs.push(new RedisBanSync(URL, PREFIX, "a", a, quiet), new RedisBanSync(URL, PREFIX, "b", b, quiet));
    await waitUntil(async () => Number(((await redis.pubsub("NUMSUB", `${PREFIX}bans`)) as [string, number])[1]) >= 2, { what: "both nodes subscribed" });
    expect(a.ban("192.0.2.7", 2, "test")).toBe(true);
    const ms = await waitUntil(() => b.isBanned("192.0.2.7"), { timeoutMs: 1000, intervalMs: 5, what: "b to learn the ban" });
    expect(ms).toBeLessThan(1000);
    const c = guard();
    syncs.push(new RedisBanSync(URL, PREFIX, "c", c, quiet));
    await waitUntil(() => c.isBanned("192.0.2.7"), { timeoutMs: 2000, intervalMs: 10, what: "a node started later to learn the ban" });
    expect(b.unban("192.0.2.7")).toBe(true);
    await waitUntil(() => !a.isBanned("192.0.2.7") && !c.isBanned("192.0.2.7"), { timeoutMs: 1000, intervalMs: 5, what: "the unban everywhere" });
    expect(await redis.exists(`${PREFIX}ban:192.0.2.7`)).toBe(0);
    a.ban("192.0.2.8", 1, "test");
    await waitUntil(() => b.isBanned("192.0.2.8"), { timeoutMs: 1000, intervalMs: 5, what: "second ban" });
    await waitUntil(() => !a.isBanned("192.0.2.8") && !b.isBanned("192.0.2.8"), { timeoutMs: 2500, intervalMs: 20, what: "expiry on both" });
    expect(await redis.exists(`${PREFIX}ban:192.0.2.8`)).toBe(0);
  }, 15_000);
});
