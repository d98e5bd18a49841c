import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { setLogLevel } from "../../core/api.js";
import { RpcCode, RpcError } from "../../core/api.js";
import { createDispatcher, type DispatcherModule } from "./dispatcher.js";
import { dsHash } from "../../../tables/dispatcher/hash.js";
import { fakeHost, fakeRequest, type FakeHost } from "./test-support.js";

beforeAll(() => setLogLevel("error"));

let mods: DispatcherModule[] = [];
afterEach(() => {
  for (const m of mods) m.destroy();
  mods = [];
});

const LIST = ["1 sip:10.0.0.1:5080;transport=tcp 8 10 duid=gw1;maxload=20;weight=50;region=eu", "1 sip:10.0.0.2 0 5", "2 sip:gw.example.com 4"].join("\n");

async function start(config: Record<string, unknown> = {}, text = LIST): Promise<{ mod: DispatcherModule; host: FakeHost; call: (m: string, p?: unknown) => Promise<unknown> }> {
  let content = text;
  const host = fakeHost({ list_file: "dispatcher.list", ping_interval: 0, ...config });
  const mod = await createDispatcher(host, { readFile: async () => content, resolve: async () => [] });
  mods.push(mod);
  const call = (m: string, p?: unknown) => host.rpc.call(m, p, { transport: "internal" });
  (mod as { setText?: (t: string) => void }).setText = (t: string) => {
    content = t;
  };
  return { mod, host, call };
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcError) return e;
    throw e;
  }
  throw new Error("expected an RpcError");
}

describe("dispatcher.list", () => {
  it("has Kamailio's shape in normal mode, with STATS and RUNTIME added", async () => {
    const { call, mod } = await start();
    mod.api.selectDst(fakeRequest({ callId: "a" }), 1, 10);
    const out = await call("dispatcher.list");
    expect(out).toEqual({
      NRSETS: 2,
      RECORDS: [
        {
          SET: {
            ID: 1,
            TARGETS: [
              {
                DEST: {
                  IDX: 0,
                  URI: "sip:10.0.0.1:5080;transport=tcp",
                  FLAGS: "AP",
                  PRIORITY: 10,
                  IUID: 1,
                  ATTRS: { BODY: "duid=gw1;maxload=20;weight=50;region=eu", DUID: "gw1", PROBING_COUNT: 0, MAXLOAD: 20, WEIGHT: 50, RWEIGHT: 0, SOCKET: "", SOCKNAME: "", OBPROXY: "", OCMIN: 0, OCMAX: 100, REGION: "eu" },
                  RUNTIME: { DLGLOAD: 1 },
                  STATS: { SELECTED: 1, FAILED: 0, PROBES_SENT: 0, PROBES_FAILED: 0, LAST_CODE: 0, LAST_REASON: "", LAST_PROBE_SEC: 0, LAST_CHANGE_SEC: 0 },
                },
              },
              {
                DEST: {
                  IDX: 1,
                  URI: "sip:10.0.0.2",
                  FLAGS: "AX",
                  PRIORITY: 5,
                  IUID: 2,
                  STATS: { SELECTED: 0, FAILED: 0, PROBES_SENT: 0, PROBES_FAILED: 0, LAST_CODE: 0, LAST_REASON: "", LAST_PROBE_SEC: 0, LAST_CHANGE_SEC: 0 },
                },
              },
            ],
          },
        },
        {
          SET: {
            ID: 2,
            TARGETS: [
              {
                DEST: {
                  IDX: 0,
                  URI: "sip:gw.example.com",
                  FLAGS: "DX",
                  PRIORITY: 0,
                  IUID: 3,
                  STATS: { SELECTED: 0, FAILED: 0, PROBES_SENT: 0, PROBES_FAILED: 0, LAST_CODE: 0, LAST_REASON: "", LAST_PROBE_SEC: 0, LAST_CHANGE_SEC: 0 },
                },
              },
            ],
          },
        },
      ],
    });
  });

  it("short drops ATTRS and STATS; full adds address and overload fields and always ATTRS; LATENCY with latency stats", async () => {
    const { call } = await start({ ping_latency_stats: 1 });
    const short = (await call("dispatcher.list", ["short"])) as { RECORDS: Array<{ SET: { TARGETS: Array<{ DEST: Record<string, unknown> }> } }> };
    expect(Object.keys(short.RECORDS[0]!.SET.TARGETS[0]!.DEST)).toEqual(["IDX", "URI", "FLAGS", "PRIORITY", "IUID", "LATENCY", "RUNTIME"]);
    const full = (await call("dispatcher.list", { mode: "full" })) as typeof short;
    const d = full.RECORDS[0]!.SET.TARGETS[1]!.DEST;
    expect(d).toMatchObject({
      URI: "sip:10.0.0.2",
      HOST: "10.0.0.2",
      IPADDR: "10.0.0.2",
      PORT: 0,
      PROTOID: 0,
      OCRATE: 0,
      ATTRS: { BODY: "", DUID: "" },
      LATENCY: { AVG: 0, STD: 0, EST: 0, MAX: 0, TIMEOUT: 0 },
    });
    expect(full.RECORDS[0]!.SET.TARGETS[0]!.DEST).toMatchObject({ PORT: 5080, PROTOID: 2 });
  });

  it("rejects an unknown mode naming the parameter; an empty table lists zero sets", async () => {
    const { call } = await start();
    const e = await rpcError(call("dispatcher.list", ["long"]));
    expect(e.code).toBe(RpcCode.InvalidParams);
    expect(e.data).toEqual({ param: "mode" });
    const empty = await start({}, "# nothing\n");
    expect(await empty.call("dispatcher.list")).toEqual({ NRSETS: 0, RECORDS: [] });
  });
});

describe("dispatcher.set_state / set_duid_state", () => {
  it("sets state letters and probing, by address or all, and publishes events", async () => {
    const { call, mod, host } = await start();
    expect(await call("dispatcher.set_state", ["ip", 1, "sip:10.0.0.2"])).toBe("Ok. Dispatcher state updated.");
    expect(mod.api.isActive(1, "sip:10.0.0.2")).toBe(false);
    expect(host.published(["dispatcher.dst_down"]).at(-1)!.data).toMatchObject({ uri: "sip:10.0.0.2", state: "IP", reason: "rpc" });
    await call("dispatcher.set_state", { state: "a", group: 1, address: "all" });
    expect(mod.api.isActive(1, "sip:10.0.0.2")).toBe(true);
    await call("dispatcher.set_duid_state", ["d", "1", "GW1"]);
    expect(mod.api.isActive(1, "sip:10.0.0.1:5080;transport=tcp")).toBe(false);
  });

  it("names the bad parameter and changes nothing", async () => {
    const { call, mod } = await start();
    const bad = await rpcError(call("dispatcher.set_state", ["x", 1, "sip:10.0.0.2"]));
    expect([bad.code, bad.data]).toEqual([RpcCode.InvalidParams, { param: "state" }]);
    expect((await rpcError(call("dispatcher.set_state", ["dp", 1, "sip:10.0.0.2"]))).data).toEqual({ param: "state" });
    const grp = await rpcError(call("dispatcher.set_state", ["i", 7, "sip:10.0.0.2"]));
    expect([grp.code, grp.data]).toEqual([RpcCode.NotFound, { param: "group" }]);
    const addr = await rpcError(call("dispatcher.set_state", ["i", 1, "sip:10.0.0.9"]));
    expect([addr.code, addr.data]).toEqual([RpcCode.NotFound, { param: "address" }]);
    expect((await rpcError(call("dispatcher.set_state", ["i", "one", "all"]))).data).toEqual({ param: "group" });
    expect((await rpcError(call("dispatcher.set_duid_state", ["i", 1, "nope"]))).data).toEqual({ param: "duid" });
    expect((await rpcError(call("dispatcher.set_state", ["i", 1]))).data).toEqual({ param: "address" });
    expect(mod.api.isActive(1, "sip:10.0.0.2")).toBe(true);
  });
});

describe("dispatcher.add / remove / reload", () => {
  it("adds and removes in memory; the next reload restores the source", async () => {
    const { call, mod } = await start();
    expect(await call("dispatcher.add", [1, "sip:10.0.0.7", 0, 20, "duid=n7"])).toBe("Ok. Dispatcher destination added.");
    const r = fakeRequest();
    mod.api.selectDst(r, 1, 8);
    expect(r.dst).toBe("sip:10.0.0.7");
    await call("dispatcher.add", { group: 3, address: "10.0.0.8" });
    expect(mod.api.isActive(3, "sip:10.0.0.8")).toBe(true);
    expect(await call("dispatcher.remove", [1, "sip:10.0.0.2"])).toBe("Ok. Dispatcher destination removed.");
    expect(mod.engine.live.find(1, "sip:10.0.0.2")).toBeUndefined();
    expect(await call("dispatcher.reload")).toBe("Ok. Dispatcher successfully reloaded.");
    expect(mod.engine.live.find(1, "sip:10.0.0.7")).toBeUndefined();
    expect(mod.engine.live.find(1, "sip:10.0.0.2")).toBeDefined();
    expect(mod.api.listExists(3)).toBe(false);
  });

  it("names the bad parameter of add/remove and keeps the old sets", async () => {
    const { call, mod } = await start();
    const cases: Array<[unknown[], string, number]> = [
      [[1, "http://x"], "address", RpcCode.InvalidParams],
      [[1, "sip:10.0.0.9", 0, 0, "weight=1000"], "attrs", RpcCode.InvalidParams],
      [[1, "sip:10.0.0.9", 128], "flags", RpcCode.InvalidParams],
      [[-2, "sip:10.0.0.9"], "group", RpcCode.InvalidParams],
      [[1, "SIP:10.0.0.2"], "address", RpcCode.Conflict],
      [[1, "sip:10.0.0.9", 0, 0, "duid=gw1"], "attrs", RpcCode.BadRequest],
    ];
    for (const [params, param, code] of cases) {
      const e = await rpcError(call("dispatcher.add", params));
      expect([e.code, e.data]).toEqual([code, { param }]);
    }
    expect((await rpcError(call("dispatcher.remove", [1, "sip:10.0.0.99"]))).data).toEqual({ param: "address" });
    expect((await rpcError(call("dispatcher.remove", [8, "sip:10.0.0.1"]))).data).toEqual({ param: "group" });
    expect(mod.engine.live.compiled.destCount).toBe(3);
  });

  it("reload failure is fault 500 'Reload Failed' and the old sets stay", async () => {
    const { call, mod } = await start();
    (mod as unknown as { setText: (t: string) => void }).setText("1 sip:10.0.0.1 zz\n");
    const e = await rpcError(call("dispatcher.reload"));
    expect(e.code).toBe(500);
    expect(e.message).toMatch(/^Reload Failed: \S*dispatcher\.list line 1: flags 'zz' is not a number$/);
    expect(mod.engine.live.compiled.destCount).toBe(3);
  });
});

describe("dispatcher.hash, ping_active, oclist, stats", () => {
  it("hash gives Kamailio's hashid and slot", async () => {
    const { call } = await start();
    expect(await call("dispatcher.hash", [4, "alice", "example.com"])).toEqual({ hashid: 1442294598, slot: 1442294598 % 4 });
    expect(await call("dispatcher.hash", ["0", "x"])).toEqual({ hashid: dsHash("x", null), slot: 0 });
    expect((await rpcError(call("dispatcher.hash", [-1, "x"]))).data).toEqual({ param: "nslots" });
    expect((await rpcError(call("dispatcher.hash", [3]))).data).toEqual({ param: "val1" });
  });

  it("ping_active reports and switches, rejects other values", async () => {
    const { call } = await start();
    expect(await call("dispatcher.ping_active")).toEqual({ OldPingState: 1 });
    expect(await call("dispatcher.ping_active", ["0"])).toEqual({ NewPingState: 0, OldPingState: 1 });
    expect(await call("dispatcher.ping_active")).toEqual({ OldPingState: 0 });
    expect((await rpcError(call("dispatcher.ping_active", [2]))).data).toEqual({ param: "state" });
  });

  it("oclist lists overload data; stats gives per-destination counters and totals", async () => {
    const { call, mod } = await start();
    mod.api.ocSetAttrs(1, "sip:10.0.0.2", 30, 1000, 4);
    const oc = (await call("dispatcher.oclist", [1])) as Array<Record<string, unknown>>;
    expect(oc[1]).toMatchObject({ group: 1, uri: "sip:10.0.0.2", ocrate: 30, ocseq: 4, ocmin: 0, ocmax: 100 });
    for (let i = 0; i < 3; i++) {
      const r = fakeRequest();
      mod.api.selectDst(r, 1, 8);
      mod.api.nextDst(r);
    }
    const s = (await call("dispatcher.stats", [1])) as { TOTALS: Record<string, number>; RECORDS: Array<Record<string, unknown>> };
    expect(s.RECORDS.map((r) => [r.URI, r.SELECTED, r.FAILED])).toEqual([
      ["sip:10.0.0.1:5080;transport=tcp", 3, 3],
      ["sip:10.0.0.2", 3, 0],
    ]);
    expect(s.TOTALS).toMatchObject({ selected: 3, failovers: 3, no_destination: 0, tracked_calls: 0 });
    expect((await rpcError(call("dispatcher.stats", [5]))).data).toEqual({ param: "group" });
  });
});
