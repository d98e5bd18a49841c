import { describe, expect, it } from "vitest";
import { RpcError, type TableRow, type TableSet } from "../../core/api.js";
import { fakeHost, fakeRequest, seededRandom, setTableSource } from "../../testing/fake-host.js";
import { LCR_VARS, createLcr, type LcrApi } from "./lcr.js";
import mtreeModule from "../mtree/index.js";
import type { MtreeApi } from "../mtree/index.js";
import { buildGwUris } from "./next-gw.js";
import { compileLcrTables } from "../../../tables/lcr/table.js";

const gw = (id: number, over: TableRow = {}): TableRow => ({ id, lcr_id: 1, gw_name: `gw${id}`, ip_addr: `10.0.0.${id}`, ...over });

function oneGw(over: TableRow) {
  return compileLcrTables({ lcr_gw: [gw(1, over)] }).instances.get(1)!.gws[0]!;
}

describe("next_gw URIs", () => {
  it("ip_addr only: R-URI host is the address with port, transport and params", () => {
    const g = oneGw({ port: 5080, transport: 1, params: ";user=phone", strip: 2, prefix: "9" });
    expect(buildGwUris(g, "004930123", false)).toEqual({ ruri: "sip:94930123@10.0.0.1:5080;transport=udp;user=phone", dst: null });
  });

  it("hostname only: R-URI host is the hostname", () => {
    const g = oneGw({ ip_addr: null, hostname: "gw.example.com", uri_scheme: 2, transport: 3 });
    expect(buildGwUris(g, "123", false)).toEqual({ ruri: "sips:123@gw.example.com;transport=tls", dst: null });
  });

  it("both: hostname (and params) in the R-URI, address/port/transport in $du", () => {
    const g = oneGw({ hostname: "carrier.example", port: 5070, transport: 2, params: ";x=1" });
    expect(buildGwUris(g, "123", false)).toEqual({ ruri: "sip:123@carrier.example;x=1", dst: "sip:10.0.0.1:5070;transport=tcp" });
  });

  it("IPv6 addresses get brackets", () => {
    const g = oneGw({ ip_addr: "2001:db8::5", port: 5060 });
    expect(buildGwUris(g, "1", false)!.ruri).toBe("sip:1@[2001:db8::5]:5060");
  });

  it("dont_strip_or_prefix keeps the user as it is; too long a strip gives null", () => {
    const g = oneGw({ strip: 3, prefix: "00" });
    expect(buildGwUris(g, "12345", true)!.ruri).toBe("sip:12345@10.0.0.1");
    expect(buildGwUris(g, "12", false)).toBeNull();
    expect(buildGwUris(g, "123", false)!.ruri).toBe("sip:00@10.0.0.1");
  });
});

const tables: TableSet = {
  lcr_gw: [
    gw(1, { port: 5060, transport: 1, tag: "cheap", flags: 4 }),
    gw(2, { hostname: "gw2.example", port: 5062 }),
    gw(3, { strip: 2, prefix: "+" }),
    gw(4, { lcr_id: 2, ip_addr: "192.0.2.4", port: 5060, transport: 2 }),
    gw(5, { lcr_id: 0, ip_addr: "192.0.2.5" }),
  ],
  lcr_rule: [
    { id: 1, lcr_id: 1, prefix: "49" },
    { id: 2, lcr_id: 1, prefix: "4930" },
    { id: 3, lcr_id: 2, prefix: "" },
  ],
  lcr_rule_target: [
    { id: 1, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 1, weight: 1 },
    { id: 2, lcr_id: 1, rule_id: 1, gw_id: 3, priority: 2, weight: 1 },
    { id: 3, lcr_id: 1, rule_id: 2, gw_id: 2, priority: 0, weight: 1 },
    { id: 4, lcr_id: 2, rule_id: 3, gw_id: 4, priority: 0, weight: 1 },
    { id: 5, lcr_id: 2, rule_id: 3, gw_id: 5, priority: 1, weight: 1 },
  ],
};

function setup(config: Record<string, unknown> = {}, now = 1_000_000) {
  const clock = { now };
  const host = fakeHost("lcr", config);
  const mod = createLcr(host, { now: () => clock.now, random: seededRandom(3) });
  expect(host.tables.load("lcr", tables, "v1", "test")).toEqual({ ok: true });
  return { host, api: mod.api as LcrApi, clock };
}

describe("lcr script functions", () => {
  it("loadGws + nextGw walk the gateways in order, then report none left", () => {
    const { api, host } = setup();
    const req = fakeRequest({ ruri: "sip:4930555@proxy.example;user=phone" });
    expect(api.loadGws(req, 1)).toBe(1);
    expect(api.nextGw(req)).toBe(true);
    expect(req.ruri).toBe("sip:4930555@gw2.example");
    expect(req.dst).toBe("sip:10.0.0.2:5062");
    expect(api.nextGw(req)).toBe(true);
    // the original user is kept for every gateway (ruri_user_avp)
    expect(req.ruri).toBe("sip:4930555@10.0.0.1:5060;transport=udp");
    expect(req.dst).toBeNull();
    expect(req.vars.get(LCR_VARS.tag)).toBe("cheap");
    expect(req.vars.get(LCR_VARS.flags)).toBe(4);
    expect(req.vars.get(LCR_VARS.ruleId)).toBe(1);
    expect(api.nextGw(req)).toBe(true);
    expect(req.ruri).toBe("sip:+30555@10.0.0.3");
    expect(api.nextGw(req)).toBe(false);
    expect(host.stats.select("lcr:next_gw")).toEqual([["lcr:next_gw", 3]]);
  });

  it("loadGws returns 2 without a match and -1 for a bad lcr_id or no user", () => {
    const { api } = setup();
    const req = fakeRequest({ ruri: "sip:33@proxy" });
    expect(api.loadGws(req, 1)).toBe(2);
    expect(api.nextGw(req)).toBe(false);
    expect(api.loadGws(req, 7)).toBe(-1);
    expect(api.loadGws(fakeRequest({ ruri: "sip:proxy.example" }), 1)).toBe(-1);
    expect(api.loadGws(req, 1, "491")).toBe(1);
  });

  it("the dont_strip_or_prefix flag disables strip and prefix", () => {
    const { api } = setup({ dont_strip_or_prefix_flag: 5 });
    const req = fakeRequest({ ruri: "sip:4912@proxy", flags: 1 << 5 });
    api.loadGws(req, 1);
    api.nextGw(req);
    api.nextGw(req);
    expect(req.ruri).toBe("sip:4912@10.0.0.3");
  });

  it("defunctGw takes the last chosen gateway out until the period is over", () => {
    const { api, clock, host } = setup();
    const seen: unknown[] = [];
    host.events.subscribe(["lcr.*"], (ev) => seen.push(ev.data));
    const req = fakeRequest({ ruri: "sip:4930555@proxy" });
    api.loadGws(req, 1);
    api.nextGw(req);
    expect(api.defunctGw(req, 60)).toBe(true);
    expect(seen).toEqual([{ lcr_id: 1, gw_id: 2, until: 1_000_060 }]);
    const again = fakeRequest({ ruri: "sip:4930555@proxy" });
    api.loadGws(again, 1);
    expect((again.vars.get(LCR_VARS.gws) as Array<{ gw: { gwId: number } }>).map((m) => m.gw.gwId)).toEqual([1, 3]);
    clock.now += 61;
    api.loadGws(again, 1);
    expect((again.vars.get(LCR_VARS.gws) as unknown[]).length).toBe(3);
    expect(api.defunctGw(fakeRequest(), 60)).toBe(false);
  });

  it("runtime defunct marks survive a table push", () => {
    const { api, host } = setup();
    const req = fakeRequest({ ruri: "sip:4930555@proxy" });
    api.loadGws(req, 1);
    api.nextGw(req);
    api.defunctGw(req, 60);
    host.tables.load("lcr", tables, "v2", "test");
    const again = fakeRequest({ ruri: "sip:4930555@proxy" });
    api.loadGws(again, 1);
    expect((again.vars.get(LCR_VARS.gws) as Array<{ gw: { gwId: number } }>).map((m) => m.gw.gwId)).toEqual([1, 3]);
  });

  it("fromGw / fromAnyGw match source address, protocol and port", () => {
    const { api } = setup();
    // instance 1 has gw2 with a hostname and an address, gw5 (lcr_id 0): all have addresses
    expect(api.fromGw(fakeRequest({ source: { proto: "udp", address: "10.0.0.1", port: 5060 } }), 1)).toBe(true);
    expect(api.fromGw(fakeRequest({ source: { proto: "tcp", address: "10.0.0.1", port: 5060 } }), 1)).toBe(false);
    expect(api.fromGw(fakeRequest({ source: { proto: "udp", address: "10.0.0.1", port: 5999 } }), 1)).toBe(false);
    // gw3 has no port and no transport: any port, any protocol
    expect(api.fromGw(fakeRequest({ source: { proto: "tcp", address: "10.0.0.3", port: 41000 } }), 1)).toBe(true);
    const r = fakeRequest();
    expect(api.fromGw(r, 1, "10.0.0.1", 1)).toBe(true);
    expect(r.vars.get(LCR_VARS.tag)).toBe("cheap");
    expect(api.fromGw(r, 1, "10.0.0.1", 2)).toBe(false);
    expect(api.fromGw(r, 1, "10.0.0.1", 0, 5060)).toBe(true);
    expect(api.fromGw(r, 1, "not-an-ip", 0)).toBe(false);
    expect(api.fromGw(r, 1, "10.0.0.1", 9)).toBe(false);
    expect(api.fromAnyGw(r, "192.0.2.4", 2, 5060)).toBe(2);
    expect(api.fromAnyGw(r, "192.0.2.5", 0)).toBe(1);
    expect(api.fromAnyGw(r, "198.51.100.1", 0)).toBe(-1);
  });

  it("an instance with a hostname-only gateway never matches from_gw/to_gw", () => {
    const host = fakeHost("lcr");
    const api = createLcr(host).api;
    host.tables.load("lcr", { lcr_gw: [gw(1), gw(2, { ip_addr: null, hostname: "gw.example" })] }, "v1", "t");
    expect(api.fromGw(fakeRequest(), 1, "10.0.0.1", 0)).toBe(false);
    expect(api.toGw(fakeRequest({ ruri: "sip:1@10.0.0.1" }), 1)).toBe(false);
  });

  it("toGw / toAnyGw look at the R-URI host and transport parameter", () => {
    const { api } = setup();
    expect(api.toGw(fakeRequest({ ruri: "sip:1@10.0.0.1;transport=udp" }), 1)).toBe(true);
    expect(api.toGw(fakeRequest({ ruri: "sip:1@10.0.0.1;transport=tcp" }), 1)).toBe(false);
    expect(api.toGw(fakeRequest({ ruri: "sip:1@gw2.example" }), 1)).toBe(false);
    expect(api.toAnyGw(fakeRequest({ ruri: "sip:1@192.0.2.4;transport=tcp" }))).toBe(2);
    expect(api.toAnyGw(fakeRequest(), "192.0.2.5", 0)).toBe(1);
    expect(api.toAnyGw(fakeRequest({ ruri: "sip:1@203.0.113.9" }))).toBe(-1);
  });

  it("mt_tvalue matches against the mtree module offered in host.modules (optional dependency)", async () => {
    const mtHost = fakeHost("mtree");
    const mtree = (await mtreeModule.init(mtHost)) as MtreeApi;
    mtHost.tables.load("mtree", { mtrees: [{ id: 1, tname: "callers", tprefix: "10", tvalue: "vip" }] }, "m1", "t");
    const host = fakeHost("lcr", { mtree: "callers" }, { mtree });
    const api = createLcr(host).api;
    host.tables.load(
      "lcr",
      { lcr_gw: [gw(1)], lcr_rule: [{ id: 1, lcr_id: 1, prefix: "", mt_tvalue: "vip" }], lcr_rule_target: [{ id: 1, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 0 }] },
      "v1",
      "t",
    );
    expect(api.loadGws(fakeRequest({ ruri: "sip:5@p" }), 1, "5", "sip:100@a")).toBe(1);
    expect(api.loadGws(fakeRequest({ ruri: "sip:5@p" }), 1, "5", "sip:200@a")).toBe(2);
    // without the mtree module the mt_tvalue condition is not checked (Kamailio without mtree)
    const alone = fakeHost("lcr", { mtree: "callers" });
    const api2 = createLcr(alone).api;
    alone.tables.load(
      "lcr",
      { lcr_gw: [gw(1)], lcr_rule: [{ id: 1, lcr_id: 1, prefix: "", mt_tvalue: "vip" }], lcr_rule_target: [{ id: 1, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 0 }] },
      "v1",
      "t",
    );
    expect(api2.loadGws(fakeRequest({ ruri: "sip:5@p" }), 1, "5", "sip:200@a")).toBe(1);
  });

  it("rejects bad config", () => {
    expect(() => createLcr(fakeHost("lcr", { weight_algorithm: "fair" }))).toThrow(/weight_algorithm/);
    expect(() => createLcr(fakeHost("lcr", { priority_ordering: 2 }))).toThrow(/priority_ordering/);
    expect(() => createLcr(fakeHost("lcr", { dont_strip_or_prefix_flag: 32 }))).toThrow(/dont_strip_or_prefix_flag/);
  });
});

describe("lcr RPCs", () => {
  const info = { transport: "internal" };

  it("lcr.dump_gws lists every instance's gateways in Kamailio's shape", async () => {
    const { host } = setup();
    const out = (await host.rpc.call("lcr.dump_gws", [], info)) as { gw: Array<Record<string, unknown>> };
    expect(out.gw.map((g) => `${g["lcr_id"]}/${g["gw_index"]}/${g["gw_id"]}`)).toEqual(["1/1/1", "1/2/2", "1/3/3", "1/4/5", "2/1/4", "2/2/5"]);
    expect(out.gw[0]).toEqual({
      lcr_id: 1,
      gw_index: 1,
      gw_id: 1,
      gw_name: "gw1",
      scheme: "sip:",
      ip_addr: "10.0.0.1",
      hostname: "",
      port: 5060,
      params: "",
      transport: ";transport=udp",
      strip: 0,
      prefix: "",
      tag: "cheap",
      flags: 4,
      state: 0,
      defunct_until: "0",
    });
  });

  it("lcr.dump_rules: one struct per instance, prefix filter", async () => {
    const { host } = setup();
    const all = (await host.rpc.call("lcr.dump_rules", [], info)) as Array<Record<string, unknown>>;
    expect(all).toHaveLength(2);
    expect(all[0]!["prefix_len"]).toEqual([4, 2]);
    const one = (await host.rpc.call("lcr.dump_rules", [1, "4940"], info)) as { rule: Array<Record<string, unknown>> };
    expect(one.rule).toEqual([{ lcr_id: 1, rule_id: 1, prefix: "49", from_uri: "", request_uri: "", stopper: 0, gw: [{ gw_index: 1, priority: 1, weight: 1 }, { gw_index: 3, priority: 2, weight: 1 }] }]);
    try {
      await host.rpc.call("lcr.dump_rules", [1, "33"], info);
      expect.unreachable();
    } catch (e) {
      expect((e as RpcError).code).toBe(404);
    }
  });

  it("lcr.load_gws is a route test; lcr.defunct_gw takes a gateway out", async () => {
    const { host } = setup();
    const order = (await host.rpc.call("lcr.load_gws", ["1", "4930555"], info)) as Array<Record<string, unknown>>;
    expect(order.map((g) => g["gw_id"])).toEqual([2, 1, 3]);
    expect(await host.rpc.call("lcr.defunct_gw", { lcr_id: 1, gw_id: 2, period: 30 }, info)).toBeNull();
    const after = (await host.rpc.call("lcr.load_gws", [1, "4930555"], info)) as Array<Record<string, unknown>>;
    expect(after.map((g) => g["gw_id"])).toEqual([1, 3]);
    const dump = (await host.rpc.call("lcr.dump_gws", [], info)) as { gw: Array<Record<string, unknown>> };
    expect(dump.gw.find((g) => g["gw_id"] === 2)!["defunct_until"]).toBe("1000030");
    await expect(host.rpc.call("lcr.defunct_gw", [1, 99, 30], info)).rejects.toThrow(/no gateway 99/);
    await expect(host.rpc.call("lcr.load_gws", [9, "1"], info)).rejects.toThrow(/lcr_id/);
  });

  it("lcr.load_gws reports a request_uri rule without request_uri as an error", async () => {
    const host = fakeHost("lcr");
    createLcr(host);
    host.tables.load("lcr", { lcr_gw: [gw(1)], lcr_rule: [{ id: 1, lcr_id: 1, prefix: "1", request_uri: "phone" }], lcr_rule_target: [{ id: 1, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 0 }] }, "v", "t");
    await expect(host.rpc.call("lcr.load_gws", [1, "1"], info)).rejects.toThrow(/request_uri/);
    expect(((await host.rpc.call("lcr.load_gws", [1, "1", "", "sip:1@x;user=phone"], info)) as unknown[]).length).toBe(1);
  });

  it("lcr.reload re-reads the kind's source; a bad row names the row and keeps the live tables", async () => {
    const none = fakeHost("lcr");
    createLcr(none);
    await expect(none.rpc.call("lcr.reload", [], info)).rejects.toThrow(/LCR Module Reload Failed: .*no reloadable source/);
    const host = fakeHost("lcr");
    const mod = createLcr(host);
    let next: TableSet = tables;
    setTableSource(host, "lcr", () => next, "file:/etc/olelo/lcr.json");
    expect(await host.rpc.call("lcr.reload", [], info)).toBeNull();
    expect(host.tables.statusOf("lcr")!.rows).toBe(13);
    next = { ...tables, lcr_rule_target: [...tables.lcr_rule_target!, { id: 40, lcr_id: 1, rule_id: 1, gw_id: 77, priority: 0 }] };
    await expect(host.rpc.call("lcr.reload", [], info)).rejects.toThrow(
      "LCR Module Reload Failed: file:/etc/olelo/lcr.json: lcr_rule_target row 40: gw_id 77 is not in lcr_gw",
    );
    expect(host.tables.statusOf("lcr")!.version).toBe("file:/etc/olelo/lcr.json-1");
    expect(mod.api.lookup(1, "4930555").ok).toBe(true);
  });

  it("compiles a table of more than 50k rows asynchronously (in slices) and a small one at once", async () => {
    const host = fakeHost("lcr");
    const mod = createLcr(host);
    const rules: TableRow[] = [];
    const targets: TableRow[] = [];
    for (let i = 0; i < 30_000; i++) {
      rules.push({ id: i + 1, lcr_id: 1, prefix: String(100000 + i) });
      targets.push({ id: i + 1, lcr_id: 1, rule_id: i + 1, gw_id: 1, priority: 0 });
    }
    const big: TableSet = { lcr_gw: [gw(1)], lcr_rule: rules, lcr_rule_target: targets };
    const sink = host.tables.sink("lcr")!;
    const small = sink.compile(tables);
    expect(small).not.toBeInstanceOf(Promise);
    const pending = sink.compile(big);
    expect(pending).toBeInstanceOf(Promise);
    // the event loop gets turns while it compiles
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const r = await host.tables.loadAsync("lcr", big, "big", "t");
    clearInterval(ticker);
    await pending;
    expect(r.ok).toBe(true);
    expect(turns).toBeGreaterThan(0);
    expect(mod.current().ruleCount).toBe(30_000);
    expect(mod.api.lookup(1, "1234567").ok && (mod.api.lookup(1, "1234567") as { gws: unknown[] }).gws.length).toBe(1);
    // the synchronous load refuses a big kind instead of blocking
    expect(host.tables.load("lcr", big, "big2", "t").ok).toBe(false);
  });
});
