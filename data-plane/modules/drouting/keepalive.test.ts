import { describe, expect, it } from "vitest";
import type { SipUac, TableSet, UacRequestOptions, UacResult } from "../../core/api.js";
import { fakeHost, fakeRequest } from "../../testing/fake-host.js";
import { DR_VARS, createDrouting } from "./drouting.js";

const tables: TableSet = {
  dr_gateways: [
    { gwid: 1, address: "10.0.0.1:5060" },
    { gwid: 2, address: "10.0.0.2" },
    { gwid: 3, address: "10.0.0.3" },
  ],
  dr_rules: [
    { ruleid: 1, groupid: "1", prefix: "49", gwlist: "1,2" },
    { ruleid: 2, groupid: "1", prefix: "33", gwlist: "1;3" },
  ],
};

/** A UAC whose replies the test hands out. */
function scriptedUac() {
  const sent: Array<{ opts: UacRequestOptions; answer: (code: number) => void }> = [];
  const uac: SipUac = {
    request: (opts) => new Promise<UacResult>((resolve) => sent.push({ opts, answer: (code) => resolve({ code, reason: String(code), latencyMs: 1 }) })),
    sendRaw: () => undefined,
  };
  return { uac, sent };
}
const flush = () => new Promise((r) => setImmediate(r));

function setup(config: Record<string, unknown> = {}) {
  const { uac, sent } = scriptedUac();
  const host = fakeHost("drouting", { enable_keepalive: 1, keepalive_interval: 3600, keepalive_from: "sip:ka@proxy.example", ...config }, {}, uac);
  const mod = createDrouting(host, { random: () => 0 });
  host.tables.load("drouting", tables, "v1", "test");
  const events: Array<{ kind: string; data: unknown }> = [];
  host.events.subscribe(["drouting."], (e) => events.push({ kind: e.kind, data: e.data }));
  const route = (number: string) => {
    const req = fakeRequest({ ruri: `sip:${number}@proxy` });
    if (!mod.api.doRouting(req, 1)) return null;
    const rest = (req.vars.get(DR_VARS.ruris) as Array<{ gwid: number }>).map((a) => a.gwid);
    return [req.vars.get(DR_VARS.gwid) as number, ...rest];
  };
  return { host, mod, sent, events, route };
}

describe("drouting keepalives (enable_keepalive)", () => {
  it("is off by default: no probes, every gateway used", () => {
    const { mod, sent, route } = setup({ enable_keepalive: 0 });
    expect(mod.keepalive.tick()).toBe(0);
    expect(sent).toHaveLength(0);
    expect(route("4912")).toEqual([1, 2]);
  });

  it("probes every gateway; a non-2xx (or a timeout) takes it out of the lists, a 2xx brings it back", async () => {
    const { host, mod, sent, events, route } = setup();
    expect(mod.keepalive.tick()).toBe(3);
    expect(sent.map((s) => [s.opts.method, s.opts.uri, s.opts.to, s.opts.from])).toEqual([
      ["OPTIONS", "sip:10.0.0.1:5060", "sip:10.0.0.1:5060", "sip:ka@proxy.example"],
      ["OPTIONS", "sip:10.0.0.2", "sip:10.0.0.2", "sip:ka@proxy.example"],
      ["OPTIONS", "sip:10.0.0.3", "sip:10.0.0.3", "sip:ka@proxy.example"],
    ]);
    expect(mod.keepalive.tick()).toBe(0); // all pending: nothing sent twice
    sent[0]!.answer(408);
    sent[1]!.answer(200);
    sent[2]!.answer(200);
    await flush();
    expect(mod.keepalive.stateOf(1)).toBe("down");
    expect(mod.keepalive.stateOf(2)).toBe("up");
    expect(route("4912")).toEqual([2]);
    // sort_order 0 with groups: the down gateway's group is empty, the next group remains
    expect(route("3312")).toEqual([3]);
    expect(events).toEqual([{ kind: "drouting.gw_down", data: { gwid: 1, address: "10.0.0.1:5060", code: 408 } }]);
    expect(host.stats.select("drouting:gateways_down")).toEqual([["drouting:gateways_down", 1]]);

    mod.keepalive.tick();
    sent[3]!.answer(200);
    sent[4]!.answer(200);
    sent[5]!.answer(503);
    await flush();
    expect(route("4912")).toEqual([1, 2]);
    expect(route("3312")).toEqual([1]);
    expect(events.slice(1)).toEqual([
      { kind: "drouting.gw_up", data: { gwid: 1, address: "10.0.0.1:5060", code: 200 } },
      { kind: "drouting.gw_down", data: { gwid: 3, address: "10.0.0.3", code: 503 } },
    ]);
    expect(host.stats.select("drouting:keepalive_sent")).toEqual([["drouting:keepalive_sent", 6]]);
  });

  it("a push that moves a gateway forgets its state; a late reply for the old address is ignored", async () => {
    const { host, mod, sent, route } = setup();
    mod.keepalive.tick();
    sent[0]!.answer(500);
    await flush();
    expect(route("4912")).toEqual([2]);
    mod.keepalive.tick();
    host.tables.load("drouting", { ...tables, dr_gateways: [{ gwid: 1, address: "10.0.0.9" }, ...tables.dr_gateways!.slice(1)] }, "v2", "test");
    expect(mod.keepalive.stateOf(1)).toBe("unknown");
    expect(route("4912")).toEqual([1, 2]);
    sent[3]!.answer(500); // for 10.0.0.1, sent before the push
    await flush();
    expect(route("4912")).toEqual([1, 2]);
  });

  it("rejects bad keepalive params; destroy stops the timer", () => {
    expect(() => setup({ keepalive_interval: 0 })).toThrow(/keepalive_interval/);
    expect(() => setup({ keepalive_from: "ka@x" })).toThrow(/keepalive_from/);
    const { mod } = setup();
    mod.destroy();
    expect(mod.keepalive.tick()).toBe(0);
  });
});
