import { describe, expect, it } from "vitest";
import type { SipUac, TableRow, TableSet, UacRequestOptions, UacResult } from "../../core/api.js";
import { fakeHost, fakeRequest } from "../../testing/fake-host.js";
import { GW_ACTIVE, GW_INACTIVE, parseValidReplyCodes } from "./gw-health.js";
import { LCR_VARS, createLcr } from "./lcr.js";

const gw = (id: number, over: TableRow = {}): TableRow => ({ id, lcr_id: 1, gw_name: `gw${id}`, ip_addr: `10.0.0.${id}`, port: 5060, ...over });
const tables: TableSet = {
  lcr_gw: [gw(1), gw(2)],
  lcr_rule: [{ id: 1, lcr_id: 1, prefix: "49" }],
  lcr_rule_target: [
    { id: 1, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 0 },
    { id: 2, lcr_id: 1, rule_id: 1, gw_id: 2, priority: 1 },
  ],
};

/** A UAC whose replies the test hands out one by one. */
function scriptedUac() {
  const sent: Array<{ opts: UacRequestOptions; answer: (code: number) => void }> = [];
  const uac: SipUac = {
    request: (opts) =>
      new Promise<UacResult>((resolve) => {
        sent.push({ opts, answer: (code) => resolve({ code, reason: String(code), latencyMs: 1 }) });
      }),
    sendRaw: () => undefined,
  };
  return { uac, sent };
}

const flush = () => new Promise((r) => setImmediate(r));

function setup(config: Record<string, unknown>) {
  const { uac, sent } = scriptedUac();
  const host = fakeHost("lcr", { ping_interval: 3600, ...config }, {}, uac);
  const mod = createLcr(host, { now: () => 1_000_000, random: () => 0.5 });
  host.tables.load("lcr", tables, "v1", "test");
  const events: Array<{ kind: string; data: unknown }> = [];
  host.events.subscribe(["lcr."], (e) => events.push({ kind: e.kind, data: e.data }));
  /** load_gws + next_gw for 4930..., as a script does; returns the gateway chosen. */
  const route = () => {
    const req = fakeRequest({ ruri: "sip:4930123@proxy" });
    if (mod.api.loadGws(req, 1) !== 1 || !mod.api.nextGw(req)) return { req, gwId: null };
    return { req, gwId: req.vars.get(LCR_VARS.gwId) as number };
  };
  const order = () => {
    const r = mod.api.lookup(1, "4930123");
    return r.ok ? r.gws.map((m) => m.gw.gwId) : null;
  };
  return { host, mod, sent, events, route, order };
}

describe("inactivate_gw and OPTIONS probing (ping_interval)", () => {
  it("parses ping_valid_reply_codes and refuses bad ones", () => {
    expect(parseValidReplyCodes("403, 405,501")).toEqual([403, 405, 501]);
    expect(parseValidReplyCodes("")).toEqual([]);
    expect(() => parseValidReplyCodes("40x")).toThrow(/'40x' is not a SIP reply code/);
    expect(() => setup({ ping_inactivate_threshold: 0 })).toThrow(/ping_inactivate_threshold/);
    expect(() => setup({ ping_from: "pinger@x" })).toThrow(/ping_from/);
  });

  it("without ping_interval inactivate_gw is refused and nothing is probed", () => {
    const { mod, route, order, sent } = setup({ ping_interval: 0 });
    const { req } = route();
    expect(mod.api.inactivateGw(req)).toBe(false);
    expect(order()).toEqual([1, 2]);
    expect(mod.health.tick()).toBe(0);
    expect(sent).toHaveLength(0);
  });

  it("inactivates after ping_inactivate_threshold failures, skips the gateway, and a 2xx probe brings it back", async () => {
    const { host, mod, route, order, sent, events } = setup({ ping_inactivate_threshold: 2, ping_from: "sip:lcr@proxy.example" });
    const first = route();
    expect(first.gwId).toBe(1);
    expect(mod.api.inactivateGw(first.req)).toBe(true);
    expect(mod.health.stateOf(1, 1)).toBe(3); // GW_PINGING + threshold: failing, still used
    expect(order()).toEqual([1, 2]);
    // a failing gateway is probed already (Kamailio pings every state ≥ GW_PINGING)
    expect(mod.health.tick()).toBe(1);
    expect(sent[0]!.opts).toMatchObject({ method: "OPTIONS", uri: "sip:10.0.0.1:5060", to: "sip:10.0.0.1:5060", from: "sip:lcr@proxy.example" });
    // while that probe is pending, the next round does not send another one
    expect(mod.health.tick()).toBe(0);
    sent[0]!.answer(408);
    await flush();
    expect(host.stats.select("lcr:ping_failed")).toEqual([["lcr:ping_failed", 1]]);

    const second = route();
    expect(mod.api.inactivateGw(second.req)).toBe(true);
    expect(mod.health.stateOf(1, 1)).toBe(GW_INACTIVE);
    expect(order()).toEqual([2]);
    expect(route().gwId).toBe(2);
    expect(events.filter((e) => e.kind === "lcr.gw_inactive")).toEqual([{ kind: "lcr.gw_inactive", data: { lcr_id: 1, gw_id: 1, uri: "sip:10.0.0.1:5060" } }]);
    const dump = (await host.rpc.call("lcr.dump_gws", [], { transport: "internal" })) as { gw: Array<Record<string, unknown>> };
    expect(dump.gw.map((g) => [g["gw_id"], g["state"]])).toEqual([
      [1, 2],
      [2, 0],
    ]);

    // a 503 to the probe keeps it out; a 200 makes it active again
    expect(mod.health.tick()).toBe(1);
    sent[1]!.answer(503);
    await flush();
    expect(order()).toEqual([2]);
    expect(mod.health.tick()).toBe(1);
    sent[2]!.answer(200);
    await flush();
    expect(mod.health.stateOf(1, 1)).toBe(GW_ACTIVE);
    expect(order()).toEqual([1, 2]);
    expect(events.filter((e) => e.kind === "lcr.gw_active")).toEqual([{ kind: "lcr.gw_active", data: { lcr_id: 1, gw_id: 1, uri: "sip:10.0.0.1:5060", code: 200 } }]);
    expect(mod.health.tick()).toBe(0); // active gateways are not probed
    expect(host.stats.select("lcr:ping_sent")).toEqual([["lcr:ping_sent", 3]]);
  });

  it("accepts the codes of ping_valid_reply_codes", async () => {
    const { mod, route, order, sent } = setup({ ping_valid_reply_codes: "405" });
    expect(mod.api.inactivateGw(route().req)).toBe(true);
    expect(order()).toEqual([2]);
    mod.health.tick();
    sent[0]!.answer(405);
    await flush();
    expect(order()).toEqual([1, 2]);
  });

  it("a push that changes the gateway's URI drops its state and ignores the late probe reply", async () => {
    const { host, mod, route, order, sent } = setup({});
    expect(mod.api.inactivateGw(route().req)).toBe(true);
    mod.api.inactivateGw(route().req); // gateway 2 now (1 is skipped): both inactive
    expect(order()).toEqual([]);
    mod.health.tick();
    expect(sent).toHaveLength(2);
    // gateway 1 moves to another address; gateway 2 stays as it was
    host.tables.load("lcr", { ...tables, lcr_gw: [gw(1, { ip_addr: "10.0.0.9" }), gw(2)] }, "v2", "test");
    expect(mod.health.stateOf(1, 1)).toBe(GW_ACTIVE);
    expect(mod.health.stateOf(1, 2)).toBe(GW_INACTIVE);
    expect(order()).toEqual([1]);
    sent[0]!.answer(200); // reply for the old address of gateway 1: nothing to do
    sent[1]!.answer(200);
    await flush();
    expect(order()).toEqual([1, 2]);
  });

  it("destroy stops the prober", () => {
    const { mod, route } = setup({});
    mod.api.inactivateGw(route().req);
    mod.destroy();
    expect(mod.health.tick()).toBe(0);
  });
});
