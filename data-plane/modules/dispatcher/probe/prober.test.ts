import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { setLogLevel } from "../../../core/api.js";
import type { UacResult } from "../../../core/api.js";
import { createDispatcher, type DispatcherModule } from "../dispatcher.js";
import { stateLetters } from "../../../../tables/dispatcher/flags.js";
import { fakeHost, flush, type FakeHost } from "../test-support.js";

beforeAll(() => setLogLevel("error"));

let mods: DispatcherModule[] = [];
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  for (const m of mods) m.destroy();
  mods = [];
  vi.useRealTimers();
});

async function start(list: string, config: Record<string, unknown> = {}): Promise<{ mod: DispatcherModule; host: FakeHost }> {
  const host = fakeHost({ list_file: "dispatcher.list", ping_interval: 5, ...config });
  const mod = await createDispatcher(host, { readFile: async () => list, resolve: async () => [] });
  mods.push(mod);
  return { mod, host };
}

function state(mod: DispatcherModule, uri: string, set = 1): string {
  return stateLetters(mod.engine.live.find(set, uri)!.rt.flags);
}

/** Sets every reply of the fake UAC by URI (default 200). */
function replies(host: FakeHost, codes: Record<string, number>): void {
  host.uac.respond = (o): UacResult => {
    const code = codes[o.uri] ?? 200;
    return { code, reason: code === 200 ? "OK" : "Failed", latencyMs: 20 };
  };
}

async function round(): Promise<void> {
  await vi.advanceTimersByTimeAsync(5000);
  await flush();
}

function probedUris(host: FakeHost): string[] {
  return host.uac.sent.splice(0).map((o) => o.uri);
}

function changes(host: FakeHost): Array<[string, unknown, unknown, unknown]> {
  return host.published(["dispatcher.*"]).map((e) => [e.kind.slice(11), e.data.uri, e.data.state, e.data.reason]);
}

describe("probing mode 0 (one-shot on P-flagged)", () => {
  it("probes only P-flagged destinations, at ping_interval, and a result clears P", async () => {
    const { mod, host } = await start("1 sip:10.0.0.1 8\n1 sip:10.0.0.2 0\n");
    expect(host.uac.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(4999);
    expect(host.uac.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await flush();
    expect(probedUris(host)).toEqual(["sip:10.0.0.1"]);
    expect(state(mod, "sip:10.0.0.1")).toBe("AX");
    await round();
    expect(probedUris(host)).toEqual([]);
  });

  it("a failure makes the destination inactive (threshold 1), fires dst_down, and probing stops (Kamailio semantics)", async () => {
    const { mod, host } = await start("1 sip:10.0.0.1 8\n1 sip:10.0.0.2 0\n");
    replies(host, { "sip:10.0.0.1": 503 });
    await round();
    expect(state(mod, "sip:10.0.0.1")).toBe("IX");
    const ev = host.published(["dispatcher.dst_down"]);
    expect(ev.map((e) => e.data)).toEqual([{ set: 1, uri: "sip:10.0.0.1", state: "IX", previous: "AP", status: "inactive", reason: "probe", code: 503, replyReason: "Failed" }]);
    probedUris(host);
    await round();
    expect(probedUris(host)).toEqual([]);
  });
});

describe("probing mode 1 (all destinations)", () => {
  it("probes every destination except disabled and no-ping ones; success sets P", async () => {
    const { mod, host } = await start("1 sip:10.0.0.1\n1 sip:10.0.0.2 4\n1 sip:10.0.0.3 32\n1 sip:10.0.0.4 16\n1 sip:10.0.0.5 1\n", { probing_mode: 1 });
    await round();
    expect(probedUris(host).sort()).toEqual(["sip:10.0.0.1", "sip:10.0.0.5"]);
    expect(state(mod, "sip:10.0.0.1")).toBe("AP");
    expect(state(mod, "sip:10.0.0.5")).toBe("AP");
    expect(state(mod, "sip:10.0.0.2")).toBe("DX");
    expect(state(mod, "sip:10.0.0.3")).toBe("AN");
  });

  it("trying → inactive after probing_threshold failures, active again after inactive_threshold successes; an event on each up/down", async () => {
    const { mod, host } = await start("1 sip:10.0.0.1\n", { probing_mode: 1, probing_threshold: 3, inactive_threshold: 2 });
    replies(host, { "sip:10.0.0.1": 408 });
    await round();
    expect(state(mod, "sip:10.0.0.1")).toBe("TP");
    await round();
    expect(state(mod, "sip:10.0.0.1")).toBe("TP");
    expect(changes(host)).toEqual([]);
    await round();
    expect(state(mod, "sip:10.0.0.1")).toBe("IP");
    expect(changes(host)).toEqual([["dst_down", "sip:10.0.0.1", "IP", "probe"]]);
    replies(host, {});
    await round();
    expect(state(mod, "sip:10.0.0.1")).toBe("IP");
    await round();
    expect(state(mod, "sip:10.0.0.1")).toBe("AP");
    expect(changes(host)).toEqual([
      ["dst_down", "sip:10.0.0.1", "IP", "probe"],
      ["dst_up", "sip:10.0.0.1", "AP", "probe"],
    ]);
    // a success while trying resets the failure count
    replies(host, { "sip:10.0.0.1": 500 });
    await round();
    await round();
    replies(host, {});
    await round();
    replies(host, { "sip:10.0.0.1": 500 });
    await round();
    await round();
    expect(state(mod, "sip:10.0.0.1")).toBe("TP");
    // a failure while inactive resets the success count
    await round();
    expect(state(mod, "sip:10.0.0.1")).toBe("IP");
    replies(host, {});
    await round();
    replies(host, { "sip:10.0.0.1": 500 });
    await round();
    replies(host, {});
    await round();
    expect(state(mod, "sip:10.0.0.1")).toBe("IP");
    await round();
    expect(state(mod, "sip:10.0.0.1")).toBe("AP");
  });

  it("accepts configured reply codes besides 2xx; a send failure counts as a failure", async () => {
    const { mod, host } = await start("1 sip:10.0.0.1\n1 sip:10.0.0.2\n1 sip:10.0.0.3\n", { probing_mode: 1, ping_reply_codes: "code=403;class=4" });
    replies(host, { "sip:10.0.0.1": 403, "sip:10.0.0.2": 486 });
    host.uac.respond = (o) => {
      if (o.uri === "sip:10.0.0.3") throw new Error("no route");
      return { code: o.uri === "sip:10.0.0.1" ? 403 : 486, reason: "x", latencyMs: 1 };
    };
    await round();
    expect([state(mod, "sip:10.0.0.1"), state(mod, "sip:10.0.0.2"), state(mod, "sip:10.0.0.3")]).toEqual(["AP", "AP", "IP"]);
    expect(mod.engine.live.find(1, "sip:10.0.0.3")!.rt.lastCode).toBe(500);
  });
});

describe("probing mode 2 (inactive ones with P)", () => {
  it("probes only inactive+probing destinations; recovery clears P", async () => {
    const { mod, host } = await start("1 sip:10.0.0.1 9\n1 sip:10.0.0.2 8\n1 sip:10.0.0.3 1\n", { probing_mode: 2 });
    // equal priorities: Kamailio order puts the later line first
    expect(changes(host)).toEqual([
      ["dst_down", "sip:10.0.0.3", "IX", "initial"],
      ["dst_down", "sip:10.0.0.1", "IP", "initial"],
    ]);
    await round();
    expect(probedUris(host)).toEqual(["sip:10.0.0.1"]);
    expect(state(mod, "sip:10.0.0.1")).toBe("AX");
    await round();
    expect(probedUris(host)).toEqual([]);
    // a script mark "ip" puts it back under probing
    expect(mod.api.markAddr("ip", 1, "sip:10.0.0.2")).toBe(true);
    replies(host, { "sip:10.0.0.2": 503 });
    await round();
    expect(probedUris(host)).toEqual(["sip:10.0.0.2"]);
    expect(state(mod, "sip:10.0.0.2")).toBe("IP");
  });
});

describe("probing mode 3 (P-flagged, forever)", () => {
  it("keeps probing P-flagged destinations and keeps P through down and up", async () => {
    const { mod, host } = await start("1 sip:10.0.0.1 8\n1 sip:10.0.0.2\n", { probing_mode: 3 });
    await round();
    expect(probedUris(host)).toEqual(["sip:10.0.0.1"]);
    expect(state(mod, "sip:10.0.0.1")).toBe("AP");
    replies(host, { "sip:10.0.0.1": 503 });
    await round();
    expect(state(mod, "sip:10.0.0.1")).toBe("IP");
    replies(host, {});
    await round();
    expect(probedUris(host)).toEqual(["sip:10.0.0.1", "sip:10.0.0.1"]);
    expect(state(mod, "sip:10.0.0.1")).toBe("AP");
    expect(changes(host)).toEqual([
      ["dst_down", "sip:10.0.0.1", "IP", "probe"],
      ["dst_up", "sip:10.0.0.1", "AP", "probe"],
    ]);
  });

  it("ignores a late result when P was removed meanwhile (RPC) or the destination was disabled", async () => {
    const { mod, host } = await start("1 sip:10.0.0.1 8\n1 sip:10.0.0.2 8\n", { probing_mode: 3 });
    host.uac.respond = null;
    await round();
    expect(host.uac.pending.length).toBe(2);
    await host.rpc.call("dispatcher.set_state", ["a", 1, "sip:10.0.0.1"], { transport: "internal" });
    await host.rpc.call("dispatcher.set_state", ["d", 1, "sip:10.0.0.2"], { transport: "internal" });
    host.uac.answerAll(() => ({ code: 503, reason: "x", latencyMs: 5 }));
    await flush();
    expect(state(mod, "sip:10.0.0.1")).toBe("AX");
    expect(state(mod, "sip:10.0.0.2")).toBe("DX");
  });
});

describe("probe requests and timers", () => {
  it("sends ping_method with ping_from / attrs, socket, outbound proxy and timeout", async () => {
    const { host } = await start(
      "1 sip:10.0.0.1 8 0 ping_from=sip:lb@example.com;socket=udp:127.0.0.1:5062;obproxy=sip:10.9.9.9\n1 sip:10.0.0.2 8\n",
      { ping_method: "INFO", ping_from: "sip:ping@olelo.test", ping_timeout: 1500, outbound_proxy: "sip:10.8.8.8" },
    );
    await round();
    expect([...host.uac.sent].sort((a, b) => a.uri.localeCompare(b.uri))).toEqual([
      { method: "INFO", uri: "sip:10.0.0.1", to: "sip:10.0.0.1", from: "sip:lb@example.com", destination: "sip:10.9.9.9", socket: "udp:127.0.0.1:5062", timeoutMs: 1500 },
      { method: "INFO", uri: "sip:10.0.0.2", to: "sip:10.0.0.2", from: "sip:ping@olelo.test", destination: "sip:10.8.8.8", timeoutMs: 1500 },
    ]);
  });

  it("does not re-probe while a probe is pending; ping_active 0 pauses probing", async () => {
    const { host } = await start("1 sip:10.0.0.1\n", { probing_mode: 1 });
    host.uac.respond = null;
    await round();
    await round();
    expect(host.uac.sent.length).toBe(1);
    host.uac.answerAll(() => ({ code: 200, reason: "OK", latencyMs: 3 }));
    await flush();
    expect(await host.rpc.call("dispatcher.ping_active", [0], { transport: "internal" })).toEqual({ NewPingState: 0, OldPingState: 1 });
    await round();
    expect(host.uac.sent.length).toBe(1);
    await host.rpc.call("dispatcher.ping_active", [1], { transport: "internal" });
    await round();
    expect(host.uac.sent.length).toBe(2);
  });

  it("keeps latency statistics: EWMA, timeouts", async () => {
    const { mod, host } = await start("1 sip:10.0.0.1 8\n", { probing_mode: 3, ping_latency_stats: 1, latency_estimator_alpha: 500 });
    const lat = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];
    let k = 0;
    host.uac.respond = () => ({ code: 200, reason: "OK", latencyMs: lat[k++]! });
    for (let i = 0; i < lat.length; i++) await round();
    host.uac.respond = () => ({ code: 408, reason: "Request Timeout", latencyMs: 5000 });
    await round();
    const l = mod.engine.live.find(1, "sip:10.0.0.1")!.rt.latency;
    expect(l.count).toBe(12);
    expect(l.average).toBeCloseTo(65, 6);
    expect(l.max).toBe(120);
    expect(l.timeout).toBe(1);
    // first 9 samples: estimate = running average (50); then EWMA with alpha 0.5
    expect(l.estimate).toBeCloseTo(((50 * 0.5 + 100 * 0.5) * 0.5 + 110 * 0.5) * 0.5 + 120 * 0.5, 6);
    expect(l.stdev).toBeCloseTo(Math.sqrt(lat.reduce((s, x) => s + (x - 65) ** 2, 0) / 11), 6);
  });

  it("destroy() stops probing, leaves no timer, and drops results that arrive later", async () => {
    const { mod, host } = await start("1 sip:10.0.0.1 8\n", { probing_mode: 3 });
    host.uac.respond = null;
    await round();
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    mod.destroy();
    mods = [];
    expect(vi.getTimerCount()).toBe(0);
    host.uac.answerAll(() => ({ code: 503, reason: "x", latencyMs: 1 }));
    await flush();
    expect(state(mod, "sip:10.0.0.1")).toBe("AP");
    expect(host.rpc.get("dispatcher.list")).toBeUndefined();
  });

  it("ping_interval 0 disables probing", async () => {
    const { mod, host } = await start("1 sip:10.0.0.1 8\n", { ping_interval: 0 });
    expect(mod.prober.running).toBe(false);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(host.uac.sent).toEqual([]);
  });
});
