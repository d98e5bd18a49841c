import { beforeAll, describe, expect, it } from "vitest";
import { setLogLevel } from "../../../core/api.js";
import { StatsRegistry } from "../../../core/api.js";
import { createLogger } from "../../../core/api.js";
import { createDispatcherApi, type DispatcherApi } from "../api.js";
import { DISPATCHER_STATS, DispatcherEngine } from "../engine.js";
import { DS_INACTIVE, DS_PROBING } from "../../../../tables/dispatcher/flags.js";
import { dsHash } from "../../../../tables/dispatcher/hash.js";
import { parseParams } from "../params.js";
import { compileDispatcherTables } from "../../../../tables/dispatcher/table.js";
import { fakeRequest, type FakeRequestInit } from "../test-support.js";
import { getDstList } from "./dst-list.js";

beforeAll(() => {
  setLogLevel("error");
});

type Row = { setid: number; destination: string; flags?: number; priority?: number; attrs?: string };

function setup(rows: Row[], config: Record<string, unknown> = {}, random?: () => number) {
  const events: Array<{ kind: string; data: Record<string, unknown> }> = [];
  let clock = 1_000_000;
  const engine = new DispatcherEngine({
    params: parseParams(config),
    log: createLogger("test"),
    stats: new StatsRegistry().group("dispatcher", DISPATCHER_STATS),
    publish: (kind, data) => events.push({ kind, data }),
    now: () => clock,
    ...(random ? { random } : {}),
  });
  engine.apply(compileDispatcherTables({ dispatcher: rows.map((r, i) => ({ id: i + 1, ...r })) }));
  const api = createDispatcherApi(engine, async () => true);
  return {
    engine,
    api,
    events,
    advance(ms: number) {
      clock += ms;
    },
  };
}

/** Runs `n` selections and counts the chosen $du values. */
function tally(api: DispatcherApi, set: number, alg: number, n: number, init: (i: number) => FakeRequestInit = () => ({})): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const req = fakeRequest(init(i));
    if (!api.selectDst(req, set, alg)) {
      out.set("<none>", (out.get("<none>") ?? 0) + 1);
      continue;
    }
    out.set(req.dst!, (out.get(req.dst!) ?? 0) + 1);
  }
  return out;
}

const four: Row[] = [
  { setid: 1, destination: "sip:10.0.0.1", priority: 4 },
  { setid: 1, destination: "sip:10.0.0.2", priority: 3 },
  { setid: 1, destination: "sip:10.0.0.3", priority: 2 },
  { setid: 1, destination: "sip:10.0.0.4", priority: 1 },
];

describe("round robin (4)", () => {
  it("is exactly even", () => {
    const { api } = setup(four);
    const t = tally(api, 1, 4, 400);
    expect([...t.values()]).toEqual([100, 100, 100, 100]);
  });

  it("skips an inactive destination without doubling its successor", () => {
    const { api, engine } = setup(four);
    engine.setState(engine.live.find(1, "sip:10.0.0.2")!, DS_INACTIVE, { reason: "rpc" });
    const t = tally(api, 1, 4, 300);
    expect(t.get("sip:10.0.0.2")).toBeUndefined();
    expect([t.get("sip:10.0.0.1"), t.get("sip:10.0.0.3"), t.get("sip:10.0.0.4")]).toEqual([100, 100, 100]);
  });

  it("keeps trying destinations eligible, fails when all are inactive or disabled", () => {
    const { api, engine } = setup(four);
    engine.setState(engine.live.find(1, "sip:10.0.0.1")!, 2 /* trying */, { reason: "rpc" });
    expect(tally(api, 1, 4, 4).get("sip:10.0.0.1")).toBe(1);
    for (const d of ["sip:10.0.0.1", "sip:10.0.0.2", "sip:10.0.0.3"]) engine.setState(engine.live.find(1, d)!, DS_INACTIVE, { reason: "rpc" });
    engine.setState(engine.live.find(1, "sip:10.0.0.4")!, 4 /* disabled */, { reason: "rpc" });
    const req = fakeRequest();
    expect(api.selectDst(req, 1, 4)).toBe(false);
    expect(req.dst).toBeNull();
    expect(api.selectDst(fakeRequest(), 99, 4)).toBe(false);
  });
});

describe("hashing algorithms", () => {
  it("alg 0 is sticky per Call-ID and picks Kamailio's slot (hash % n)", () => {
    const { api } = setup(four);
    for (let k = 0; k < 50; k++) {
      const cid = `call-${k}@example.com`;
      const first = fakeRequest({ callId: cid });
      api.selectDst(first, 1, 0);
      expect(first.dst).toBe(four[dsHash(cid, null) % 4]!.destination);
      for (let r = 0; r < 5; r++) {
        const again = fakeRequest({ callId: cid });
        api.selectDst(again, 1, 0);
        expect(again.dst).toBe(first.dst);
      }
    }
    // spreads over every destination
    const t = tally(api, 1, 0, 400, (i) => ({ callId: `spread-${i}` }));
    expect(t.size).toBe(4);
    for (const v of t.values()) expect(v).toBeGreaterThan(50);
  });

  it("alg 0 moves a key off an inactive destination to the next active one, and back when it recovers", () => {
    const { api, engine } = setup(four);
    const cid = "sticky-1";
    const r1 = fakeRequest({ callId: cid });
    api.selectDst(r1, 1, 0);
    const idx = dsHash(cid, null) % 4;
    engine.setState(engine.live.find(1, four[idx]!.destination)!, DS_INACTIVE, { reason: "rpc" });
    const r2 = fakeRequest({ callId: cid });
    api.selectDst(r2, 1, 0);
    expect(r2.dst).toBe(four[(idx + 1) % 4]!.destination);
    engine.setState(engine.live.find(1, four[idx]!.destination)!, 0, { reason: "rpc" });
    const r3 = fakeRequest({ callId: cid });
    api.selectDst(r3, 1, 0);
    expect(r3.dst).toBe(r1.dst);
  });

  it("alg 1/2/3 hash From / To / R-URI with the port rule; flags=3 hashes the user only", () => {
    const { api } = setup(four);
    const pick = (alg: number, init: FakeRequestInit) => {
      const r = fakeRequest(init);
      api.selectDst(r, 1, alg);
      return r.dst;
    };
    expect(pick(1, { from: "sip:carol@example.com" })).toBe(four[dsHash("carol", "example.com") % 4]!.destination);
    expect(pick(1, { from: "sip:carol@example.com:5060" })).toBe(pick(1, { from: "sip:carol@example.com" }));
    expect(pick(2, { to: "sip:dave@example.org:5070" })).toBe(four[dsHash("dave", "example.org:5070") % 4]!.destination);
    expect(pick(3, { ruri: "sip:1234@gw.example.net" })).toBe(four[dsHash("1234", "gw.example.net") % 4]!.destination);
    expect(api.selectDst(fakeRequest({ from: "garbage" }), 1, 1)).toBe(false);
    const u = setup(four, { flags: 3 }).api;
    const hosts = new Set<string | null>();
    for (const h of ["a.example.com", "b.example.com", "c.example.com:5080", "10.1.1.1"]) {
      const r = fakeRequest({ ruri: `sip:1234@${h}` });
      u.selectDst(r, 1, 3);
      hosts.add(r.dst);
    }
    expect(hosts.size).toBe(1);
  });

  it("alg 5 hashes the digest username, Proxy-Authorization first, else falls back to round robin", () => {
    const { api } = setup(four);
    const auth = (h: Record<string, string>) => {
      const r = fakeRequest({ headers: h });
      api.selectDst(r, 1, 5);
      return r.dst;
    };
    const a = auth({ Authorization: 'Digest username="alice@example.com", realm="example.com", nonce="x"' });
    expect(a).toBe(four[dsHash("alice", null) % 4]!.destination);
    expect(auth({ Authorization: 'Digest realm="r", username="alice"' })).toBe(a);
    expect(auth({ "Proxy-Authorization": 'Digest username="bob"', Authorization: 'Digest username="alice"' })).toBe(four[dsHash("bob", null) % 4]!.destination);
    const rr = new Set<string | null>();
    for (let i = 0; i < 4; i++) rr.add(auth({}));
    expect(rr.size).toBe(4);
  });

  it("alg 7 hashes the value the script passes; no value → false", () => {
    const { api } = setup(four);
    const r = fakeRequest();
    expect(api.selectDst(r, 1, 7, { hash: "tenant-42" })).toBe(true);
    expect(r.dst).toBe(four[dsHash("tenant-42", null) % 4]!.destination);
    expect(api.selectDst(fakeRequest(), 1, 7)).toBe(false);
    expect(api.selectDst(fakeRequest(), 1, 7, { hash: "  " })).toBe(false);
  });
});

describe("random (6), serial (8), priority-or-rr (14)", () => {
  it("alg 6 spreads evenly: each of 4 within ±15% of 1000 over 4000 picks", () => {
    const { api } = setup(four);
    const t = tally(api, 1, 6, 4000);
    expect(t.size).toBe(4);
    for (const v of t.values()) {
      expect(v).toBeGreaterThan(850);
      expect(v).toBeLessThan(1150);
    }
  });

  it("alg 8 takes the highest priority first and lists the rest in priority order", () => {
    const { api, engine } = setup(four);
    const r = fakeRequest();
    api.selectDst(r, 1, 8);
    expect(r.dst).toBe("sip:10.0.0.1");
    expect(getDstList(r)!.entries.map((e) => e.uri)).toEqual(["sip:10.0.0.1", "sip:10.0.0.2", "sip:10.0.0.3", "sip:10.0.0.4"]);
    engine.setState(engine.live.find(1, "sip:10.0.0.1")!, DS_INACTIVE, { reason: "rpc" });
    const r2 = fakeRequest();
    api.selectDst(r2, 1, 8);
    expect(r2.dst).toBe("sip:10.0.0.2");
    expect(getDstList(r2)!.entries.map((e) => e.uri)).toEqual(["sip:10.0.0.2", "sip:10.0.0.3", "sip:10.0.0.4"]);
  });

  it("alg 14 is round robin when all priorities are equal, serial otherwise", () => {
    const same = setup(four.map((r) => ({ ...r, priority: 7 }))).api;
    expect([...tally(same, 1, 14, 40).values()]).toEqual([10, 10, 10, 10]);
    const diff = setup(four).api;
    expect([...tally(diff, 1, 14, 40).entries()]).toEqual([["sip:10.0.0.1", 40]]);
  });
});

describe("weights (9) and relative weights (11)", () => {
  const weighted: Row[] = [
    { setid: 1, destination: "sip:10.0.0.1", priority: 3, attrs: "weight=20;rweight=50" },
    { setid: 1, destination: "sip:10.0.0.2", priority: 2, attrs: "weight=30;rweight=25" },
    { setid: 1, destination: "sip:10.0.0.3", priority: 1, attrs: "weight=50;rweight=25" },
  ];

  it("alg 9 gives each destination exactly its weight per 100 calls", () => {
    const { api } = setup(weighted);
    const t = tally(api, 1, 9, 1000);
    expect([t.get("sip:10.0.0.1"), t.get("sip:10.0.0.2"), t.get("sip:10.0.0.3")]).toEqual([200, 300, 500]);
  });

  it("alg 9 is not recomputed when a node goes down: its share moves to the next one", () => {
    const { api, engine } = setup(weighted);
    engine.setState(engine.live.find(1, "sip:10.0.0.2")!, DS_INACTIVE, { reason: "rpc" });
    const t = tally(api, 1, 9, 1000);
    expect([t.get("sip:10.0.0.1"), t.get("sip:10.0.0.2"), t.get("sip:10.0.0.3")]).toEqual([200, undefined, 800]);
  });

  it("alg 11 shares by rweight and is recalculated over the active destinations", () => {
    const { api, engine } = setup(weighted);
    let t = tally(api, 1, 11, 1000);
    expect([t.get("sip:10.0.0.1"), t.get("sip:10.0.0.2"), t.get("sip:10.0.0.3")]).toEqual([500, 250, 250]);
    engine.setState(engine.live.find(1, "sip:10.0.0.3")!, DS_INACTIVE, { reason: "rpc" });
    t = tally(api, 1, 11, 1000);
    // 50/75 → 66 slots, 25/75 → 33 slots, the 1 left over goes to the last inserted (dst 2)
    expect([t.get("sip:10.0.0.1"), t.get("sip:10.0.0.2"), t.get("sip:10.0.0.3")]).toEqual([660, 340, undefined]);
    engine.setState(engine.live.find(1, "sip:10.0.0.3")!, 0, { reason: "rpc" });
    t = tally(api, 1, 11, 1000);
    expect([t.get("sip:10.0.0.1"), t.get("sip:10.0.0.2"), t.get("sip:10.0.0.3")]).toEqual([500, 250, 250]);
  });
});

describe("call load (10)", () => {
  const loadRows: Row[] = [
    { setid: 1, destination: "sip:10.0.0.1", priority: 3, attrs: "duid=a;maxload=2" },
    { setid: 1, destination: "sip:10.0.0.2", priority: 2, attrs: "duid=b;maxload=2" },
    { setid: 1, destination: "sip:10.0.0.3", priority: 1, attrs: "duid=c;maxload=2" },
  ];

  it("picks the least loaded and never exceeds maxload", () => {
    const { api, engine } = setup(loadRows);
    const per = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const r = fakeRequest({ callId: `c${i}` });
      expect(api.selectDst(r, 1, 10)).toBe(true);
      per.set(r.dst!, (per.get(r.dst!) ?? 0) + 1);
      for (const d of engine.live.compiled.sets.get(1)!.dests) expect(engine.loads.load(1, d.attrs.duid)).toBeLessThanOrEqual(2);
    }
    expect([...per.values()]).toEqual([2, 2, 2]);
    expect(api.selectDst(fakeRequest({ callId: "c6" }), 1, 10)).toBe(false);
    // a BYE frees one slot on that call's destination
    const bye = fakeRequest({ method: "BYE", callId: "c1" });
    expect(api.loadUpdate(bye)).toBe(true);
    const r = fakeRequest({ callId: "c7" });
    expect(api.selectDst(r, 1, 10)).toBe(true);
    expect(engine.loads.load(1, "a") + engine.loads.load(1, "b") + engine.loads.load(1, "c")).toBe(6);
  });

  it("builds a failover list with maxload=0 (Kamailio #2297) and moves the load on nextDst", () => {
    const { api, engine } = setup([
      { setid: 1, destination: "sip:10.0.0.1", priority: 2, attrs: "duid=a" },
      { setid: 1, destination: "sip:10.0.0.2", priority: 1, attrs: "duid=b" },
    ]);
    const r = fakeRequest({ callId: "x1" });
    expect(api.selectDst(r, 1, 10)).toBe(true);
    expect(getDstList(r)!.entries.map((e) => e.duid)).toEqual(["a", "b"]);
    expect([engine.loads.load(1, "a"), engine.loads.load(1, "b")]).toEqual([1, 0]);
    expect(api.nextDst(r)).toBe(true);
    expect(r.dst).toBe("sip:10.0.0.2");
    expect([engine.loads.load(1, "a"), engine.loads.load(1, "b")]).toEqual([0, 1]);
    expect(api.loadUnset(r)).toBe(true);
    expect(engine.loads.load(1, "b")).toBe(0);
  });

  it("non-INVITE requests use the first entry without accounting; CANCEL ends a call; 2xx confirms", () => {
    const { api, engine } = setup(loadRows);
    const opt = fakeRequest({ method: "OPTIONS", callId: "o1" });
    expect(api.selectDst(opt, 1, 10)).toBe(true);
    expect(opt.dst).toBe("sip:10.0.0.1");
    expect(engine.loads.size).toBe(0);
    api.selectDst(fakeRequest({ callId: "i1" }), 1, 10);
    api.loadUpdate({ msg: { isRequest: false, method: "INVITE", status: 200, callId: "i1", cseq: { seq: 1, method: "INVITE" } } as never });
    expect(engine.loads.get("i1")!.state).toBe(1);
    api.loadUpdate(fakeRequest({ method: "CANCEL", callId: "i1" }));
    expect(engine.loads.size).toBe(0);
  });

  it("expired calls are swept (hash_expire / hash_initexpire)", () => {
    const { api, engine, advance } = setup(loadRows, { hash_initexpire: 10, hash_expire: 100 });
    api.selectDst(fakeRequest({ callId: "u1" }), 1, 10);
    api.selectDst(fakeRequest({ callId: "k1" }), 1, 10);
    engine.loads.confirm("k1");
    advance(11_000);
    expect(engine.loads.sweep(engine.now())).toBe(1);
    expect(engine.loads.has("k1")).toBe(true);
    advance(90_000);
    expect(engine.loads.sweep(engine.now())).toBe(1);
    expect(engine.loads.size).toBe(0);
  });
});

describe("parallel (12), latency (13), SRV (15), overload (64)", () => {
  it("alg 12 sets the first active destination and forks to every other active one", () => {
    const { api, engine } = setup([...four.slice(0, 3), { setid: 1, destination: "sip:10.0.0.4", priority: 1, attrs: "socket=udp:127.0.0.1:5060" }]);
    engine.setState(engine.live.find(1, "sip:10.0.0.2")!, DS_INACTIVE, { reason: "rpc" });
    const r = fakeRequest({ ruri: "sip:100@example.com" });
    expect(api.selectDst(r, 1, 12)).toBe(true);
    expect(r.dst).toBe("sip:10.0.0.1");
    expect(r.branches).toEqual([
      { uri: "sip:100@example.com", dst: "sip:10.0.0.3" },
      { uri: "sip:100@example.com", dst: "sip:10.0.0.4", socket: "udp:127.0.0.1:5060" },
    ]);
    const d = fakeRequest({ ruri: "sip:100@example.com" });
    api.selectDomain(d, 1, 12);
    expect(d.ruri).toBe("sip:100@10.0.0.1");
    expect(d.branches.map((b) => b.uri)).toEqual(["sip:100@10.0.0.3", "sip:100@10.0.0.4"]);
  });

  it("alg 13 round-robins among the destinations with the best latency-adjusted priority", () => {
    const { api, engine } = setup(four.map((r) => ({ ...r, priority: 10 })), { ping_latency_stats: 1 });
    const set = engine.set(1)!;
    // adjusted = 10 - floor(est/10): .1 → 5 (est 50), .2 → 10, .3 → 10, .4 → 8 (est 25)
    const est: Record<string, number> = { "sip:10.0.0.1": 50, "sip:10.0.0.2": 5, "sip:10.0.0.3": 0, "sip:10.0.0.4": 25 };
    set.def.dests.forEach((d, i) => set.rt[i]!.latency.init(est[d.uri]!, 10000));
    const seq: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = fakeRequest();
      api.selectDst(r, 1, 13);
      seq.push(r.dst!);
    }
    expect(new Set(seq)).toEqual(new Set(["sip:10.0.0.2", "sip:10.0.0.3"]));
    expect(seq[0]).not.toBe(seq[1]);
    const r = fakeRequest();
    api.selectDst(r, 1, 13);
    // then the worse ones, best adjusted priority first
    expect(getDstList(r)!.entries.map((e) => e.uri).slice(2)).toEqual(["sip:10.0.0.4", "sip:10.0.0.1"]);
  });

  it("alg 15 uses the lowest priority group, weighted inside it, and falls to the next group", () => {
    const rows: Row[] = [
      { setid: 1, destination: "sip:10.0.0.1", priority: 1, attrs: "weight=75" },
      { setid: 1, destination: "sip:10.0.0.2", priority: 1, attrs: "weight=25" },
      { setid: 1, destination: "sip:10.0.0.3", priority: 2 },
      { setid: 1, destination: "sip:10.0.0.4", priority: 2 },
    ];
    const { api, engine } = setup(rows);
    const t = tally(api, 1, 15, 4000);
    expect(t.get("sip:10.0.0.3")).toBeUndefined();
    expect(t.get("sip:10.0.0.1")).toBeGreaterThan(2800);
    expect(t.get("sip:10.0.0.1")).toBeLessThan(3200);
    expect(t.get("sip:10.0.0.2")).toBeGreaterThan(800);
    const r = fakeRequest();
    api.selectDst(r, 1, 15);
    const order = getDstList(r)!.entries.map((e) => e.uri);
    expect(new Set(order.slice(0, 2))).toEqual(new Set(["sip:10.0.0.1", "sip:10.0.0.2"]));
    expect(new Set(order.slice(2))).toEqual(new Set(["sip:10.0.0.3", "sip:10.0.0.4"]));
    engine.setState(engine.live.find(1, "sip:10.0.0.1")!, DS_INACTIVE, { reason: "rpc" });
    engine.setState(engine.live.find(1, "sip:10.0.0.2")!, DS_INACTIVE, { reason: "rpc" });
    const t2 = tally(api, 1, 15, 400);
    expect(t2.get("sip:10.0.0.3")! + t2.get("sip:10.0.0.4")!).toBe(400);
    expect(t2.get("sip:10.0.0.3")).toBeGreaterThan(140);
  });

  it("alg 64 skips a destination while its overload rate applies", () => {
    const { api, advance } = setup(four.slice(0, 2));
    expect(api.ocSetAttrs(1, "sip:10.0.0.1", 100, 1000, 1)).toBe(true);
    expect(api.ocSetAttrs(1, "sip:10.0.0.1", 0, 1000, 1)).toBe(false); // stale sequence
    expect([...tally(api, 1, 64, 10).entries()]).toEqual([["sip:10.0.0.2", 10]]);
    advance(1001);
    expect([...tally(api, 1, 64, 10).values()]).toEqual([5, 5]);
    api.ocSetAttrs(1, "sip:10.0.0.1", 50, 60_000, 2);
    const t = tally(api, 1, 64, 400);
    // 10.0.0.1 drops half of the calls offered to it; a dropped call goes to 10.0.0.2 and the
    // round robin offers the next call to 10.0.0.1 again, so it ends up with about 1/3
    expect(t.get("sip:10.0.0.1")! + t.get("sip:10.0.0.2")!).toBe(400);
    expect(t.get("sip:10.0.0.1")).toBeGreaterThan(115);
    expect(t.get("sip:10.0.0.1")).toBeLessThan(150);
  });
});

describe("failover list, use_default, limit, sockets, domain", () => {
  it("lists the selected first, then those after it, then those before; inactive ones left out", () => {
    const { api, engine } = setup(four);
    engine.setState(engine.live.find(1, "sip:10.0.0.4")!, DS_INACTIVE | DS_PROBING, { reason: "rpc" });
    const reqs = [fakeRequest(), fakeRequest(), fakeRequest()];
    for (const r of reqs) api.selectDst(r, 1, 4);
    expect(getDstList(reqs[1]!)!.entries.map((e) => e.uri)).toEqual(["sip:10.0.0.2", "sip:10.0.0.3", "sip:10.0.0.1"]);
    expect(reqs[1]!.vars.get("dispatcher:cnt")).toBe(3);
  });

  it("limit caps the list; next/mark walk it; nextDst is false at the end", () => {
    const { api, events } = setup(four);
    const r = fakeRequest();
    expect(api.selectDst(r, 1, 8, 2)).toBe(true);
    expect(getDstList(r)!.entries.length).toBe(2);
    expect(api.current(r)).toMatchObject({ set: 1, uri: "sip:10.0.0.1", index: 0, count: 2 });
    expect(api.markDst(r, "ip")).toBe(true);
    expect(events.map((e) => [e.kind, e.data.uri, e.data.state, e.data.reason])).toEqual([["dispatcher.dst_down", "sip:10.0.0.1", "IP", "script"]]);
    expect(api.nextDst(r)).toBe(true);
    expect(r.dst).toBe("sip:10.0.0.2");
    expect(api.nextDst(r)).toBe(false);
    expect(api.markDst(r)).toBe(false);
  });

  it("use_default keeps the last destination as final fallback only", () => {
    const { api, engine } = setup(four, { use_default: 1 });
    const t = tally(api, 1, 4, 30);
    expect(t.get("sip:10.0.0.4")).toBeUndefined();
    const r = fakeRequest();
    api.selectDst(r, 1, 4);
    expect(getDstList(r)!.entries.at(-1)!.uri).toBe("sip:10.0.0.4");
    for (const d of ["sip:10.0.0.1", "sip:10.0.0.2", "sip:10.0.0.3"]) engine.setState(engine.live.find(1, d)!, DS_INACTIVE, { reason: "rpc" });
    const last = fakeRequest();
    expect(api.selectDst(last, 1, 4)).toBe(true);
    expect(last.dst).toBe("sip:10.0.0.4");
  });

  it("without failover (flags=0) no list is walked, but the chosen one can still be marked", () => {
    const { api } = setup(four, { flags: 0 });
    const r = fakeRequest();
    api.selectDst(r, 1, 4);
    expect(getDstList(r)!.entries.length).toBe(1);
    expect(api.nextDst(r)).toBe(false);
    expect(api.markDst(r, "i")).toBe(true);
  });

  it("forces the destination socket (sockname wins) and the default socket", () => {
    const { api } = setup(
      [
        { setid: 1, destination: "sip:10.0.0.1", priority: 2, attrs: "socket=udp:192.0.2.1:5060;sockname=pub" },
        { setid: 1, destination: "sip:10.0.0.2", priority: 1 },
      ],
      { default_socket: "udp:127.0.0.1:5060" },
    );
    const r = fakeRequest();
    api.selectDst(r, 1, 8);
    expect(r.forcedSocket).toBe("pub");
    api.nextDst(r);
    expect(r.forcedSocket).toBe("udp:127.0.0.1:5060");
  });

  it("selectDomain rewrites the R-URI host:port, select only fills the list, force_dst=0 refuses a set $du", () => {
    const { api } = setup([{ setid: 1, destination: "sip:[2001:db8::5]:5070;transport=tcp" }]);
    const r = fakeRequest({ ruri: "sip:42@example.com;user=phone" });
    expect(api.selectDomain(r, 1, 0)).toBe(true);
    expect(r.ruri).toBe("sip:42@[2001:db8::5]:5070;user=phone");
    expect(r.dst).toBeNull();
    const x = fakeRequest();
    expect(api.select(x, 1, 0)).toBe(true);
    expect(x.dst).toBeNull();
    expect(getDstList(x)!.entries[0]!.uri).toBe("sip:[2001:db8::5]:5070;transport=tcp");
    const nf = setup([{ setid: 1, destination: "sip:10.0.0.1" }], { force_dst: 0 }).api;
    const set = fakeRequest({ dst: "sip:10.9.9.9" });
    expect(nf.selectDst(set, 1, 4)).toBe(false);
    expect(set.dst).toBe("sip:10.9.9.9");
  });

  it("selectRoutes fills one list from several sets; the first choice goes to $du", () => {
    const { api } = setup([...four.slice(0, 2), { setid: 2, destination: "sip:10.0.1.1", priority: 2 }, { setid: 2, destination: "sip:10.0.1.2", priority: 1 }]);
    const r = fakeRequest();
    expect(api.selectRoutes(r, "1=8;2=8", "d")).toBe(true);
    expect(r.dst).toBe("sip:10.0.0.1");
    expect(getDstList(r)!.entries.map((e) => e.uri)).toEqual(["sip:10.0.0.1", "sip:10.0.0.2", "sip:10.0.1.1", "sip:10.0.1.2"]);
    expect(api.selectRoutes(fakeRequest(), "9=4;2=8", "x")).toBe(true);
    expect(api.selectRoutes(fakeRequest(), "1=a", "d")).toBe(false);
    expect(api.selectRoutes(fakeRequest(), "1=4", "q")).toBe(false);
    expect(api.selectRoutes(fakeRequest(), "9=4", "d")).toBe(false);
  });

  it("an in-flight failover list keeps its references across a reload", () => {
    const { api, engine } = setup(four);
    const r = fakeRequest();
    api.selectDst(r, 1, 8);
    engine.apply(compileDispatcherTables({ dispatcher: [{ id: 1, setid: 1, destination: "sip:10.9.9.9" }] }));
    expect(api.nextDst(r)).toBe(true);
    expect(r.dst).toBe("sip:10.0.0.2");
    const fresh = fakeRequest();
    api.selectDst(fresh, 1, 8);
    expect(fresh.dst).toBe("sip:10.9.9.9");
  });
});
