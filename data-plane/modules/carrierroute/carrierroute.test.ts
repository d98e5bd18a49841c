import { describe, expect, it } from "vitest";
import { RpcError, type TableRow, type TableSet } from "../../core/api.js";
import { fakeHost, fakeRequest, seededRandom, setTableSource } from "../../testing/fake-host.js";
import { CR_VARS, createCarrierroute } from "./carrierroute.js";
import { crc32 } from "./crc32.js";

let rid = 0;
const cr = (over: TableRow): TableRow => ({ id: ++rid, carrier: 1, domain: 1, scan_prefix: "49", flags: 0, mask: 0, prob: 1, strip: 0, rewrite_host: "gw.example", description: "", ...over });
let fid = 0;
const cfr = (over: TableRow): TableRow => ({ id: ++fid, carrier: 1, domain: 1, scan_prefix: "49", host_name: "", reply_code: "5..", flags: 0, mask: 0, next_domain: 2, ...over });

const tables: TableSet = {
  carrier_name: [
    { id: 1, carrier: "default" },
    { id: 2, carrier: "premium" },
  ],
  domain_name: [
    { id: 1, domain: "proxy" },
    { id: 2, domain: "fallback" },
    { id: 3, domain: "blocked" },
  ],
  carrierroute: [
    cr({ scan_prefix: "49", prob: 0.25, rewrite_host: "a.example", description: "A" }),
    cr({ scan_prefix: "49", prob: 0.75, rewrite_host: "b.example", description: "B" }),
    cr({ scan_prefix: "4930", prob: 1, rewrite_host: "berlin.example", strip: 2, rewrite_prefix: "0", rewrite_suffix: "#1" }),
    cr({ scan_prefix: "4930", flags: 4, mask: 4, prob: 1, rewrite_host: "vip.example" }),
    cr({ scan_prefix: "4989", flags: 8, mask: 8, prob: 1, rewrite_host: "only-flag-8.example" }),
    cr({ scan_prefix: "", prob: 1, rewrite_host: "default.example" }),
    cr({ domain: 2, scan_prefix: "", prob: 1, rewrite_host: "fallback.example" }),
    cr({ domain: 3, scan_prefix: "", prob: 1, rewrite_host: "" }),
    cr({ carrier: 2, scan_prefix: "", prob: 1, rewrite_host: "premium.example" }),
    cr({ domain: 2, scan_prefix: "1", prob: 0, rewrite_host: "never.example" }),
  ],
  carrierfailureroute: [
    cfr({ scan_prefix: "49", reply_code: "5..", next_domain: 2 }),
    cfr({ scan_prefix: "49", reply_code: "486", next_domain: 3 }),
    cfr({ scan_prefix: "49", reply_code: "5..", host_name: "b.example", next_domain: 1 }),
    cfr({ scan_prefix: "4930", reply_code: "408", flags: 1, mask: 1, next_domain: 1 }),
  ],
};

function setup(config: Record<string, unknown> = {}) {
  const host = fakeHost("carrierroute", config);
  const api = createCarrierroute(host, { random: seededRandom(9) }).api;
  expect(host.tables.load("carrierroute", tables, "v1", "test")).toEqual({ ok: true });
  return { host, api };
}

describe("cr_route", () => {
  it("longest prefix, strip and rewrite prefix/suffix, scheme follows the R-URI", () => {
    const { api } = setup();
    const req = fakeRequest({ ruri: "sips:4930123@proxy" });
    expect(api.route(req, "default", "proxy", "4930123", "4930123", "call_id")).toBe(true);
    expect(req.ruri).toBe("sips:030123#1@berlin.example");
  });

  it("flag groups: the most mask bits first, (flags & mask) == flags", () => {
    const { api } = setup();
    const vip = fakeRequest({ flags: 4 | 1 });
    expect(api.route(vip, "default", "proxy", "49301", "49301", "call_id")).toBe(true);
    expect(vip.ruri).toBe("sip:49301@vip.example");
    const plain = fakeRequest({ flags: 1 });
    expect(api.route(plain, "default", "proxy", "49301", "49301", "call_id")).toBe(true);
    expect(plain.ruri).toBe("sip:0301#1@berlin.example");
  });

  it("no fall-back to a shorter prefix when the longest prefix has no fitting flag group", () => {
    const { api } = setup();
    expect(api.route(fakeRequest(), "default", "proxy", "49891", "49891", "call_id")).toBe(false);
    expect(api.route(fakeRequest({ flags: 8 }), "default", "proxy", "49891", "49891", "call_id")).toBe(true);
  });

  it("skips leading non-digits of the number; an empty prefix catches the rest", () => {
    const { api } = setup();
    const r = fakeRequest();
    expect(api.route(r, "default", "proxy", "+4930", "+4930", "call_id")).toBe(true);
    // strip applies to rewrite_user as given ("+4930" → "930")
    expect(r.ruri).toBe("sip:0930#1@berlin.example");
    const d = fakeRequest();
    expect(api.route(d, 1, 1, "33", "33", "call_id")).toBe(true);
    expect(d.ruri).toBe("sip:33@default.example");
  });

  it("targets are chosen by prob through the CRC32 of the hash source", () => {
    const { api } = setup();
    // the dice ranges are a: [0, 250), b: [250, 1000): crc32(call-id) % 1000 decides
    for (const callId of ["c1", "c2", "c3", "c4", "c5", "c6"]) {
      const req = fakeRequest({ callId });
      api.route(req, "default", "proxy", "4940", "4940", "call_id");
      expect(req.ruri).toBe(crc32(callId) % 1000 < 250 ? "sip:4940@a.example" : "sip:4940@b.example");
    }
    // same source, same target: from_user is the same for every call from alice
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const req = fakeRequest({ callId: `x${i}`, from: "sip:alice@example.com" });
      api.route(req, "default", "proxy", "4940", "4940", "from_user");
      seen.add(req.ruri);
    }
    expect(seen.size).toBe(1);
  });

  it("over many calls the shares follow prob (25/75, ±2%)", () => {
    const { api } = setup();
    let a = 0;
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      const req = fakeRequest({ callId: `call-${i}@host` });
      api.route(req, "default", "proxy", "4940", "4940", "call_id");
      if (req.ruri.endsWith("@a.example")) a++;
    }
    expect(Math.abs(a / N - 0.25)).toBeLessThan(0.02);
  });

  it("an empty rewrite_host is a blacklist; all-zero prob fails; unknown carrier falls back to default", () => {
    const { api } = setup();
    expect(api.route(fakeRequest(), "default", "blocked", "1", "1", "call_id")).toBe(false);
    expect(api.route(fakeRequest(), "default", "fallback", "1", "1", "call_id")).toBe(false);
    const r = fakeRequest();
    expect(api.route(r, "nosuch", "proxy", "33", "33", "call_id")).toBe(false); // unknown name: no id at all
    expect(api.route(r, 77, "proxy", "33", "33", "call_id")).toBe(true); // unknown id: fallback_default
    expect(r.ruri).toBe("sip:33@default.example");
    const p = fakeRequest();
    expect(api.route(p, "premium", "proxy", "33", "", "call_id")).toBe(true);
    expect(p.ruri).toBe("sip:premium.example");
    const strict = setup({ fallback_default: 0 }).api;
    expect(strict.route(fakeRequest(), 77, "proxy", "33", "33", "call_id")).toBe(false);
    expect(api.route(fakeRequest(), "default", "nosuch", "33", "33", "call_id")).toBe(false);
  });

  it("stores the description and host; an unknown hash source is a programming error", () => {
    const { api } = setup();
    const req = fakeRequest({ callId: "c1" });
    api.route(req, "default", "proxy", "4940", "4940", "call_id");
    expect(["A", "B"]).toContain(req.vars.get(CR_VARS.description));
    expect(() => api.route(req, "default", "proxy", "4940", "4940", "via" as never)).toThrow(/hash source/);
  });

  it("in a failure route a host that failed already is not chosen again", () => {
    const { api } = setup();
    const req = fakeRequest({ callId: "c1" });
    api.route(req, "default", "proxy", "4940", "4940", "call_id");
    const first = req.ruri;
    req.route = "failure";
    expect(api.route(req, "default", "proxy", "4940", "4940", "call_id")).toBe(true);
    expect(req.ruri).not.toBe(first);
    expect(api.route(req, "default", "proxy", "4940", "4940", "call_id")).toBe(false);
    expect(req.vars.get(CR_VARS.usedHosts)).toEqual(expect.arrayContaining(["a.example", "b.example"]));
  });

  it("cr_nofallback_route picks by index: crc32 % number of targets", () => {
    const { api } = setup();
    for (const callId of ["k1", "k2", "k3"]) {
      const req = fakeRequest({ callId });
      expect(api.nofallbackRoute(req, "default", "proxy", "4940", "4940", "call_id")).toBe(true);
      expect(req.ruri).toBe(crc32(callId) % 2 === 0 ? "sip:4940@a.example" : "sip:4940@b.example");
    }
  });
});

describe("cr_next_domain", () => {
  it("most specific failure rule of the longest prefix: host, then fewer wildcards", () => {
    const { api } = setup();
    const req = fakeRequest();
    expect(api.nextDomain(req, "default", "proxy", "4940", "a.example", "503")).toBe(2);
    expect(api.nextDomain(req, "default", "proxy", "4940", "b.example", "503")).toBe(1);
    expect(api.nextDomain(req, "default", "proxy", "4940", "a.example", "486")).toBe(3);
    expect(req.vars.get(CR_VARS.nextDomain)).toBe(3);
    expect(api.nextDomain(req, "default", "proxy", "4940", "a.example", "404")).toBeNull();
  });

  it("flags and mask, and no fall-back to shorter prefixes", () => {
    const { api } = setup();
    expect(api.nextDomain(fakeRequest({ flags: 1 }), "default", "proxy", "49301", "x", "408")).toBe(1);
    expect(api.nextDomain(fakeRequest(), "default", "proxy", "49301", "x", "408")).toBeNull();
    expect(api.nextDomain(fakeRequest(), "default", "proxy", "49301", "x", "503")).toBeNull();
  });
});

describe("cr_user_carrier", () => {
  it("asks the injected subscriber lookup (with the domain only when use_domain)", async () => {
    const { api } = setup();
    expect(await api.userCarrier(fakeRequest(), "alice", "example.com")).toBe(-1);
    const calls: Array<[string, string | null]> = [];
    api.setUserCarrierLookup(async (u, d) => (calls.push([u, d]), u === "alice" ? 2 : null));
    const req = fakeRequest();
    expect(await api.userCarrier(req, "alice", "example.com")).toBe(2);
    expect(req.vars.get(CR_VARS.userCarrier)).toBe(2);
    expect(await api.userCarrier(req, "bob", "example.com")).toBe(0);
    expect(calls).toEqual([
      ["alice", null],
      ["bob", null],
    ]);
    const withDomain = setup({ use_domain: 1 }).api;
    withDomain.setUserCarrierLookup((u, d) => (d === "example.com" ? 1 : null));
    expect(await withDomain.userCarrier(fakeRequest(), "alice", "example.com")).toBe(1);
    withDomain.setUserCarrierLookup(() => {
      throw new Error("db down");
    });
    expect(await withDomain.userCarrier(fakeRequest(), "alice", "example.com")).toBe(-1);
  });
});

describe("cr RPCs", () => {
  const info = { transport: "internal" };

  it("cr.dump_routes", async () => {
    const { host } = setup();
    const out = (await host.rpc.call("cr.dump_routes", [], info)) as { routes: Array<{ carrier: string; id: number; domains: Array<{ domain: string; data: Array<Record<string, unknown>> }> }> };
    expect(out.routes.map((r) => r.carrier)).toEqual(["default", "premium"]);
    const proxy = out.routes[0]!.domains.find((d) => d.domain === "proxy")!;
    expect(proxy.data.find((e) => e["host"] === "a.example")).toMatchObject({ prefix: "49", prob: 25, status: "ON", strip: 0 });
    expect(proxy.data.find((e) => e["host"] === "default.example")).toMatchObject({ prefix: "NULL", prob: 100 });
  });

  it("cr.deactivate_host with a backup, then cr.activate_host", async () => {
    const { host, api } = setup();
    const run = (cid: string) => {
      const req = fakeRequest({ callId: cid });
      api.route(req, "default", "proxy", "4940", "4940", "call_id");
      return req.ruri;
    };
    // find a call id that lands on a.example
    let cid = "";
    for (let i = 0; cid === ""; i++) if (run(`t${i}`).endsWith("@a.example")) cid = `t${i}`;
    expect(await host.rpc.call("cr.deactivate_host", ["-d proxy -p 49 -h a.example -t b.example"], info)).toBe("200 ok");
    expect(run(cid)).toBe("sip:4940@b.example");
    const dump = (await host.rpc.call("cr.dump_routes", [], info)) as { routes: Array<{ domains: Array<{ data: Array<Record<string, unknown>> }> }> };
    const rows = dump.routes[0]!.domains[0]!.data;
    expect(rows.find((e) => e["host"] === "a.example")).toMatchObject({ status: "OFF", backup_by: "b.example" });
    expect(rows.find((e) => e["host"] === "b.example")!["backup_for"]).toEqual(["a.example"]);
    // b is a backup now: it cannot go off without a backup of its own
    await expect(host.rpc.call("cr.deactivate_host", ["-d proxy -p 49 -h b.example"], info)).rejects.toThrow(/backup route for others/);
    expect(await host.rpc.call("cr.activate_host", ["-d proxy -p 49 -h a.example"], info)).toBe("200 ok");
    expect(run(cid)).toBe("sip:4940@a.example");
    // off without backup: calls hashing to it fail
    await host.rpc.call("cr.deactivate_host", ["-d * -p 49 -h a.example"], info);
    const req = fakeRequest({ callId: cid });
    expect(api.route(req, "default", "proxy", "4940", "4940", "call_id")).toBe(false);
    // the state survives a table push
    host.tables.load("carrierroute", tables, "v2", "test");
    expect(api.route(fakeRequest({ callId: cid }), "default", "proxy", "4940", "4940", "call_id")).toBe(false);
  });

  it("option errors and the file-mode-only RPCs", async () => {
    const { host } = setup();
    await expect(host.rpc.call("cr.activate_host", ["-d proxy -h a.example"], info)).rejects.toThrow(/option -p is missing/);
    await expect(host.rpc.call("cr.activate_host", ["-d proxy -p 49 -h a.example -t x"], info)).rejects.toThrow(/-t is not allowed/);
    await expect(host.rpc.call("cr.activate_host", ["-d proxy -p 49 -h nosuch"], info)).rejects.toThrow(/no match for update/);
    await expect(host.rpc.call("cr.deactivate_host", ["-d proxy -p 49 -h a.example -t nosuch"], info)).rejects.toThrow(/didn't find backup/);
    for (const m of ["cr.add_host", "cr.delete_host", "cr.replace_host"]) {
      await expect(host.rpc.call(m, ["-d proxy -p 49 -h x"], info)).rejects.toBeInstanceOf(RpcError);
    }
  });

  it("cr.reload_routes", async () => {
    const none = fakeHost("carrierroute");
    createCarrierroute(none);
    await expect(none.rpc.call("cr.reload_routes", [], info)).rejects.toThrow(/failed to load routing data/);
    const host = fakeHost("carrierroute");
    createCarrierroute(host);
    let next: TableSet = tables;
    setTableSource(host, "carrierroute", () => next, "file:/etc/olelo/cr.json");
    expect(await host.rpc.call("cr.reload_routes", [], info)).toBeNull();
    expect(host.tables.statusOf("carrierroute")!.rows).toBe(19);
    next = { ...tables, carrierroute: [...tables.carrierroute!, { id: 77, carrier: 1, domain: 1, scan_prefix: "49x", prob: 1, rewrite_host: "gw" }] };
    await expect(host.rpc.call("cr.reload_routes", [], info)).rejects.toThrow(/file:\/etc\/olelo\/cr.json: carrierroute row 77: scan_prefix '49x': invalid character 'x'/);
    expect(host.tables.statusOf("carrierroute")!.version).toBe("file:/etc/olelo/cr.json-1");
  });

  it("rejects bad config", () => {
    expect(() => createCarrierroute(fakeHost("carrierroute", { match_mode: 16 }))).toThrow(/match_mode/);
    expect(() => createCarrierroute(fakeHost("carrierroute", { avoid_failed_destinations: 2 }))).toThrow(/avoid_failed_destinations/);
  });
});
