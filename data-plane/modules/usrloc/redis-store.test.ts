/**
 * The Redis location store with a real Redis (127.0.0.1:6379, keys olelo:test:reg:unit:*): two
 * location services in one process stand for two nodes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { EventBus, type OleloEvent, createLogger } from "../../core/api.js";
import { nowSeconds } from "./location-table.js";
import { parseUsrlocParams } from "./params.js";
import { RedisLocationStore, decodeChange, encodeChange } from "./redis-store.js";
import { Usrloc } from "./usrloc.js";
import { waitUpTo, letTimePass } from "../../../test/kit/wait.js";

const URL = "redis://127.0.0.1:6379";
const prefix = `olelo:test:reg:unit:${process.pid}:`;
const log = createLogger("test");

interface Node {
  ul: Usrloc;
  store: RedisLocationStore;
  events: OleloEvent[];
}

async function node(): Promise<Node> {
  const params = parseUsrlocParams({ db_mode: 1, db_url: URL, redis_prefix: prefix });
  const store = await RedisLocationStore.connect(URL, { prefix, useDomain: false, log });
  const bus = new EventBus("n");
  const events: OleloEvent[] = [];
  bus.subscribe(["registration.*"], (e) => events.push(e));
  const ul = new Usrloc({ params, events: bus, log, store });
  ul.table("location");
  await ul.ready();
  store.start((m, r, own) => ul.applyReplicated(m, r, own));
  return { ul, store, events };
}

const waitFor = (fn: () => boolean, ms = 3000): Promise<boolean> => waitUpTo(fn, ms, 20);

const info = (contact: string, expiresIn: number, cseq = 1) => ({ contact, expires: nowSeconds() + expiresIn, q: -1, callid: "cid", cseq });

describe("Redis location store shared by two nodes", () => {
  let redis: Redis;
  let a: Node;
  let b: Node;
  beforeAll(async () => {
    redis = new Redis(URL);
  });
  afterEach(async () => {
    await a?.ul.close();
    await b?.ul.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it("replicates inserts, refreshes and removals both ways, with events only on the writing node", async () => {
    a = await node();
    b = await node();
    const ta = a.ul.table("location");
    const tb = b.ul.table("location");
    const x = ta.insert("alice", info("sip:alice@10.0.0.1", 600), { source: "test" });
    expect(await waitFor(() => tb.valid("alice").length === 1)).toBe(true);
    expect(tb.valid("alice")[0]!.ruid).toBe(x.ruid);
    tb.update(tb.valid("alice")[0]!, info("sip:alice@10.0.0.1", 900, 2), { source: "test" });
    expect(await waitFor(() => ta.valid("alice")[0]!.cseq === 2)).toBe(true);
    tb.removeAor("alice", { source: "test" });
    expect(await waitFor(() => !ta.has("alice"))).toBe(true);
    expect(a.events.map((e) => e.kind)).toEqual(["registration.added"]);
    expect(b.events.map((e) => e.kind)).toEqual(["registration.refreshed", "registration.removed"]);
  });

  it("a starting node loads what is in Redis and skips expired rows", async () => {
    a = await node();
    a.ul.table("location").insert("bob", info("sip:bob@10.0.0.2", 600), { source: "test" });
    a.ul.table("location").insert("gone", info("sip:gone@10.0.0.3", 1), { source: "test" });
    await a.store.flush();
    await letTimePass(1100, "\"gone\" (expires in 1 s) runs out");
    b = await node();
    expect(b.ul.table("location").valid("bob").map((x) => x.contact)).toEqual(["sip:bob@10.0.0.2"]);
    expect(b.ul.table("location").has("gone")).toBe(false);
  });

  it("reports an expiry once for the fleet", async () => {
    a = await node();
    b = await node();
    a.ul.table("location").insert("carol", info("sip:carol@10.0.0.4", 1), { source: "test" });
    expect(await waitFor(() => b.ul.table("location").has("carol"))).toBe(true);
    expect(await waitFor(() => !a.ul.table("location").has("carol") && !b.ul.table("location").has("carol"), 4000)).toBe(true);
    await letTimePass(300, "a second expiry report would come within this");
    const expired = [...a.events, ...b.events].filter((e) => e.kind === "registration.expired");
    expect(expired.length).toBe(1);
    expect(await redis.hlen(`${prefix}location:aor:carol`)).toBe(0);
  });

  it("converges when two nodes refresh the same binding at the same moment", async () => {
    a = await node();
    b = await node();
    const ta = a.ul.table("location");
    const tb = b.ul.table("location");
    const x = ta.insert("erin", info("sip:erin@10.0.0.6", 600), { source: "test" });
    expect(await waitFor(() => tb.has("erin"))).toBe(true);
    for (let round = 0; round < 20; round++) {
      const xa = ta.valid("erin")[0]!;
      const xb = tb.valid("erin")[0]!;
      ta.update(xa, { ...info("sip:erin@10.0.0.6", 600, 100 + round), userAgent: `a${round}` }, { source: "test" });
      tb.update(xb, { ...info("sip:erin@10.0.0.6", 600, 100 + round), userAgent: `b${round}` }, { source: "test" });
    }
    await a.store.flush();
    await b.store.flush();
    await waitUpTo(async () => {
      const ua = (JSON.parse((await redis.hget(`${prefix}location:aor:erin`, x.ruid)) ?? "{}") as { user_agent?: string }).user_agent;
      return ta.valid("erin")[0]?.userAgent === ua && tb.valid("erin")[0]?.userAgent === ua;
    }, 300);
    const inRedis = JSON.parse((await redis.hget(`${prefix}location:aor:erin`, x.ruid))!) as { user_agent: string };
    expect(ta.valid("erin")[0]!.userAgent).toBe(inRedis.user_agent);
    expect(tb.valid("erin")[0]!.userAgent).toBe(inRedis.user_agent);
    expect(["a19", "b19"]).toContain(inRedis.user_agent);
  });

  it("puts back a binding that expired locally but was refreshed in Redis meanwhile", async () => {
    a = await node();
    const t = a.ul.table("location");
    const d = t.insert("dave", info("sip:dave@10.0.0.5", 1), { source: "test" });
    await a.store.flush();
    // another node's refresh whose change message this node has not seen (written straight to Redis)
    const key = `${prefix}location:aor:dave`;
    const row = JSON.parse((await redis.hget(key, d.ruid))!) as Record<string, unknown>;
    row.expires = nowSeconds() + 600;
    row.cseq = 9;
    await redis.hset(key, d.ruid, JSON.stringify(row));
    await waitUpTo(() => t.valid("dave")[0]?.cseq === 9, 2300);
    const back = t.valid("dave");
    expect(back.map((x) => [x.ruid, x.cseq])).toEqual([[d.ruid, 9]]);
    expect(a.events.filter((e) => e.kind === "registration.expired")).toEqual([]);
  });
});

describe("change messages", () => {
  it("round-trip through the tab-separated wire form, AoR quoted", () => {
    const m = { n: "abc123", t: "location", a: 'we\tird"aor', o: "u" as const, r: "uloc-1-2-3", b: '{"x":"a\\tb"}' };
    expect(decodeChange(encodeChange(m))).toEqual(m);
    expect(decodeChange(encodeChange({ ...m, o: "d", b: undefined }))).toEqual({ ...m, o: "d", b: undefined });
    expect(decodeChange("garbage")).toBeNull();
    expect(decodeChange('n\tx\tt\tr\t"a"\t')).toBeNull();
  });
});
