import { beforeAll, describe, expect, it } from "vitest";
import { createLogger, setLogLevel } from "../../core/api.js";
import { StatsRegistry } from "../../core/api.js";
import { createDispatcherApi } from "./api.js";
import { DISPATCHER_STATS, DispatcherEngine } from "./engine.js";
import { stateLetters } from "../../../tables/dispatcher/flags.js";
import { parseParams } from "./params.js";
import { compileDispatcherTables } from "../../../tables/dispatcher/table.js";
import { fakeRequest } from "./test-support.js";
import { waitUntil } from "../../../test/kit/wait.js";

beforeAll(() => setLogLevel("error"));

function setup(rows: Array<Record<string, unknown>>, config: Record<string, unknown> = {}) {
  const events: Array<{ kind: string; data: Record<string, unknown> }> = [];
  const engine = new DispatcherEngine({
    params: parseParams(config),
    log: createLogger("test"),
    stats: new StatsRegistry().group("dispatcher", DISPATCHER_STATS),
    publish: (kind, data) => events.push({ kind, data }),
  });
  engine.apply(compileDispatcherTables({ dispatcher: rows.map((r, i) => ({ id: i + 1, ...r })) }));
  return { engine, api: createDispatcherApi(engine, async () => true), events };
}

const st = (engine: DispatcherEngine, set: number, uri: string) => stateLetters(engine.live.find(set, uri)!.rt.flags);

describe("isFromList", () => {
  const rows = [
    { setid: 1, destination: "sip:192.0.2.10:5060", priority: 2, attrs: "tenant=a" },
    { setid: 1, destination: "sip:192.0.2.11;transport=tcp", priority: 1 },
    { setid: 2, destination: "sip:[2001:db8::10]:5070", attrs: "socket=udp:127.0.0.1:5060" },
    { setid: 3, destination: "sip:192.0.2.12", flags: 16 },
  ];
  const from = (address: string, port = 5060, proto: "udp" | "tcp" = "udp", localSocket?: string) =>
    fakeRequest({ source: { proto, address, port }, ...(localSocket ? { localSocket } : {}) });

  it("matches the source address in any set and exports set id and attrs", () => {
    const { api } = setup(rows);
    const r = from("192.0.2.10");
    expect(api.isFromList(r)).toBe(true);
    expect(r.vars.get("dispatcher:setid")).toBe(1);
    expect(r.vars.get("dispatcher:attrs")).toBe("tenant=a");
    expect(api.isFromList(from("192.0.2.99"))).toBe(false);
    expect(api.isFromList(from("192.0.2.10"), 2)).toBe(false);
    expect(api.isFromList(from("::ffff:192.0.2.10"), 1)).toBe(true);
    expect(api.isFromList(from("2001:0db8:0:0::0010", 5070))).toBe(true);
    // flag 16 (no DNS A/AAAA) destinations are never matched
    expect(api.isFromList(from("192.0.2.12"))).toBe(false);
  });

  it("mode bits: port checked unless 1, protocol ignored by default (2), 4 active only, 8 socket", () => {
    const { api, engine } = setup(rows);
    expect(api.isFromList(from("192.0.2.10", 5080), 1, 2)).toBe(false);
    expect(api.isFromList(from("192.0.2.10", 5080), 1, 3)).toBe(true);
    // no port in the URI matches any port
    expect(api.isFromList(from("192.0.2.11", 40000, "udp"), 1, 2)).toBe(true);
    // strict protocol (mode 0): tcp destination needs tcp; sip: without transport means udp
    expect(api.isFromList(from("192.0.2.11", 5060, "udp"), 1, 0)).toBe(false);
    expect(api.isFromList(from("192.0.2.11", 5060, "tcp"), 1, 0)).toBe(true);
    expect(api.isFromList(from("192.0.2.10", 5060, "udp"), 1, 0)).toBe(true);
    engine.setState(engine.live.find(1, "sip:192.0.2.10:5060")!, 1, { reason: "rpc" });
    expect(api.isFromList(from("192.0.2.10"), 1, 2)).toBe(true);
    expect(api.isFromList(from("192.0.2.10"), 1, 6)).toBe(false);
    expect(api.isFromList(from("2001:db8::10", 5070, "udp", "udp:10.1.1.1:5060"), 2, 8 | 2)).toBe(false);
    expect(api.isFromList(from("2001:db8::10", 5070, "udp", "udp:127.0.0.1:5060"), 2, 8 | 2)).toBe(true);
  });

  it("mode 16 prefers the best match (port, protocol, socket) over the first address match", () => {
    const { api } = setup([
      { setid: 1, destination: "sip:192.0.2.20:5070", priority: 2, attrs: "which=port5070" },
      { setid: 1, destination: "sip:192.0.2.20:5060;transport=tcp", priority: 1, attrs: "which=tcp5060" },
    ]);
    const r = from("192.0.2.20", 5060, "tcp");
    expect(api.isFromList(r, 1, 16)).toBe(true);
    expect(r.vars.get("dispatcher:attrs")).toBe("which=tcp5060");
    const r2 = from("192.0.2.20", 5099, "udp");
    expect(api.isFromList(r2, 1, 16)).toBe(true);
    expect(r2.vars.get("dispatcher:attrs")).toBe("which=port5070");
  });

  it("matches a given URI instead of the source", () => {
    const { api } = setup(rows);
    expect(api.isFromList(from("203.0.113.1"), -1, 0, "sip:192.0.2.11;transport=tcp")).toBe(true);
    expect(api.isFromList(from("203.0.113.1"), -1, 0, "sip:192.0.2.10")).toBe(true);
    expect(api.isFromList(from("203.0.113.1"), -1, 0, "sip:192.0.2.10:5062")).toBe(false);
    expect(api.isFromList(from("203.0.113.1"), -1, 0, "not-a-uri")).toBe(false);
  });

  it("matches host names by their resolved addresses", async () => {
    const events: unknown[] = [];
    const engine = new DispatcherEngine({
      params: parseParams({}),
      log: createLogger("test"),
      stats: new StatsRegistry().group("dispatcher", DISPATCHER_STATS),
      publish: (k) => events.push(k),
      resolve: async (h) => (h === "pbx.example.com" ? ["198.51.100.7", "2001:db8::7"] : []),
    });
    engine.apply(compileDispatcherTables({ dispatcher: [{ id: 1, setid: 4, destination: "sip:pbx.example.com" }] }));
    const api = createDispatcherApi(engine, async () => true);
    await waitUntil(() => api.isFromList(fakeRequest({ source: { proto: "udp", address: "198.51.100.7", port: 5060 } })), { timeoutMs: 1000, intervalMs: 1 });
    expect(api.isFromList(fakeRequest({ source: { proto: "udp", address: "198.51.100.7", port: 5060 } }))).toBe(true);
    expect(api.isFromList(fakeRequest({ source: { proto: "udp", address: "2001:db8:0::7", port: 5060 } }))).toBe(true);
    expect(api.isFromList(fakeRequest({ source: { proto: "udp", address: "198.51.100.8", port: 5060 } }))).toBe(false);
  });
});

describe("marking and state queries", () => {
  const rows = [
    { setid: 1, destination: "sip:10.0.0.1", priority: 2 },
    { setid: 1, destination: "sip:10.0.0.2", priority: 1 },
  ];

  it("markDst 't' counts toward probing_threshold; 'a' recovers at once; default mark is 'i'", () => {
    const { api, engine, events } = setup(rows, { probing_threshold: 2 });
    const r = fakeRequest();
    api.selectDst(r, 1, 8);
    expect(api.markDst(r, "tp")).toBe(true);
    expect(st(engine, 1, "sip:10.0.0.1")).toBe("TP");
    expect(api.markDst(r, "tp")).toBe(true);
    expect(st(engine, 1, "sip:10.0.0.1")).toBe("IP");
    expect(events.map((e) => [e.kind, e.data.state])).toEqual([["dispatcher.dst_down", "IP"]]);
    expect(api.markAddr("a", 1, "sip:10.0.0.1")).toBe(true);
    expect(st(engine, 1, "sip:10.0.0.1")).toBe("AX");
    const r2 = fakeRequest();
    api.selectDst(r2, 1, 8);
    expect(api.markDst(r2)).toBe(true);
    expect(st(engine, 1, "sip:10.0.0.1")).toBe("IX");
    expect(events.length).toBe(3);
  });

  it("default mark adds P with probing_mode 1; bad state strings and unknown destinations are false", () => {
    const { api, engine } = setup(rows, { probing_mode: 1 });
    const r = fakeRequest();
    api.selectDst(r, 1, 8);
    api.markDst(r);
    expect(st(engine, 1, "sip:10.0.0.1")).toBe("IP");
    expect(api.markDst(r, "q")).toBe(false);
    expect(api.markAddr("i", 1, "sip:10.9.9.9")).toBe(false);
    expect(api.markAddr("x", 1, "sip:10.0.0.1")).toBe(false);
    expect(api.markDst(fakeRequest())).toBe(false);
  });

  it("isActive, listExists and setSummary reflect the live states", () => {
    const { api, engine } = setup([...rows, { setid: 1, destination: "sip:10.0.0.3", flags: 4 }]);
    expect(api.isActive(1)).toBe(true);
    expect(api.isActive(1, "SIP:10.0.0.2")).toBe(true);
    expect(api.isActive(1, "sip:10.0.0.3")).toBe(false);
    expect(api.isActive(9)).toBe(false);
    engine.setState(engine.live.find(1, "sip:10.0.0.1")!, 2 | 8, { reason: "rpc" });
    engine.setState(engine.live.find(1, "sip:10.0.0.2")!, 1, { reason: "rpc" });
    expect(api.setSummary(1)).toEqual({ count: 3, active: 1, inactive: 1, trying: 1, disabled: 1, probing: 1 });
    expect(api.setSummary(2)).toBeNull();
    engine.setState(engine.live.find(1, "sip:10.0.0.1")!, 1, { reason: "rpc" });
    expect(api.isActive(1)).toBe(false);
  });

  it("setDst re-applies the current entry, nextDomain rewrites the R-URI", () => {
    const { api } = setup(rows);
    const r = fakeRequest({ ruri: "sip:55@example.com" });
    api.selectDomain(r, 1, 8);
    expect(r.ruri).toBe("sip:55@10.0.0.1");
    expect(api.nextDomain(r)).toBe(true);
    expect(r.ruri).toBe("sip:55@10.0.0.2");
    r.setDst(null);
    expect(api.setDst(r)).toBe(true);
    expect(r.dst).toBe("sip:10.0.0.2");
    expect(api.setDomain(fakeRequest())).toBe(false);
  });

  it("bad script arguments return false instead of throwing", () => {
    const { api } = setup(rows);
    expect(api.selectDst(fakeRequest(), 1.5, 4)).toBe(false);
    expect(api.selectDst(fakeRequest(), Number.NaN, 4)).toBe(false);
    expect(api.nextDst(fakeRequest())).toBe(false);
    expect(api.loadUnset(fakeRequest({ method: "BYE" }))).toBe(false);
  });
});
