import { describe, expect, it } from "vitest";
import { RpcError, type TableSet } from "../../core/api.js";
import { fakeHost, fakeRequest, setTableSource } from "../../testing/fake-host.js";
import mtreeModule from "./index.js";
import { MTREE_VARS, type MtreeApi } from "./mtree.js";

const rows: TableSet = {
  mtree: [{ id: 1, tprefix: "49", tvalue: "de" }],
  mtrees: [
    { id: 1, tname: "routes", tprefix: "1", tvalue: "nanp" },
    { id: 2, tname: "routes", tprefix: "1212", tvalue: "nyc" },
    { id: 3, tname: "gws", tprefix: "1", tvalue: "10:1;11:2" },
  ],
};

async function setup(config: Record<string, unknown> = {}) {
  const host = fakeHost("mtree", { trees: { gws: { type: 1 } }, ...config });
  const api = (await mtreeModule.init(host)) as MtreeApi;
  return { host, api };
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    return e as RpcError;
  }
  throw new Error("expected an RpcError");
}

describe("mtree module", () => {
  it("registers the table kind and swaps trees in on load", async () => {
    const { host, api } = await setup();
    expect(host.tables.kinds()).toEqual(["mtree"]);
    expect(api.lookup("routes", "1212555", 0)).toBeNull();
    expect(host.tables.load("mtree", rows, "v1", "test")).toEqual({ ok: true });
    expect(api.lookup("routes", "1212555", 0)).toEqual({ kind: "value", prefix: "1212", value: "nyc" });
    expect(api.treeNames()).toEqual(["gws", "mtree", "routes"]);
  });

  it("keeps the live trees when a push is rejected", async () => {
    const { host, api } = await setup();
    host.tables.load("mtree", rows, "v1", "test");
    const bad = host.tables.load("mtree", { mtrees: [{ id: 4, tname: "routes", tprefix: "1a", tvalue: "x" }] }, "v2", "test");
    expect(bad.ok).toBe(false);
    expect(host.tables.statusOf("mtree")!.version).toBe("v1");
    expect(api.lookup("routes", "1212", 0)).not.toBeNull();
  });

  it("mt_match stores results in req.vars", async () => {
    const { host, api } = await setup();
    host.tables.load("mtree", rows, "v1", "test");
    const req = fakeRequest();
    expect(api.match(req, "routes", "12125", 0)).not.toBeNull();
    expect(req.vars.get(MTREE_VARS.value)).toBe("nyc");
    api.match(req, "routes", "12125", 2);
    expect(req.vars.get(MTREE_VARS.values)).toEqual(["nyc", "nanp"]);
    api.match(req, "gws", "1", 0);
    expect(req.vars.get(MTREE_VARS.dstid)).toEqual([11, 10]);
    expect(req.vars.get(MTREE_VARS.weight)).toEqual([2, 1]);
    expect(req.vars.get(MTREE_VARS.count)).toBe(2);
    expect(api.match(req, "nosuchtree", "1", 0)).toBeNull();
    expect(host.stats.select("mtree:matches")).toEqual([["mtree:matches", 3]]);
  });

  it("mtree.match, mtree.list and mtree.summary answer with Kamailio's shapes", async () => {
    const { host } = await setup();
    host.tables.load("mtree", rows, "v1", "test");
    const info = { transport: "internal" };
    expect(await host.rpc.call("mtree.match", ["routes", "12125", "0"], info)).toEqual(["routes", { PREFIX: "1212", TVALUE: "nyc" }]);
    expect(await host.rpc.call("mtree.match", { tname: "gws", prefix: "1", mode: 2 }, info)).toEqual([
      "gws",
      { PREFIX: "1", WEIGHT: 2, DSTID: 11 },
      { PREFIX: "1", WEIGHT: 1, DSTID: 10 },
    ]);
    expect((await rpcError(host.rpc.call("mtree.match", ["routes", "1", 1], info))).message).toBe("Invalid parameter 'mode'");
    expect((await rpcError(host.rpc.call("mtree.match", ["nope", "1", 0], info))).code).toBe(404);
    expect((await rpcError(host.rpc.call("mtree.match", ["routes", "9", 0], info))).message).toBe("Prefix not found");
    expect(await host.rpc.call("mtree.list", ["routes"], info)).toEqual([
      { tname: "routes", tprefix: "1", tvalue: ["nanp"] },
      { tname: "routes", tprefix: "1212", tvalue: ["nyc"] },
    ]);
    const summary = (await host.rpc.call("mtree.summary", [], info)) as Array<{ table: string; item: Record<string, number> }>;
    expect(summary.map((s) => s.table)).toEqual(["gws", "mtree", "routes"]);
    expect(summary[2]!.item).toMatchObject({ ttype: 0, nritems: 2, reload_count: 1 });
    expect((await rpcError(host.rpc.call("mtree.summary", ["zzz"], info))).message).toBe("Tree not found");
  });

  it("mtree.reload re-reads the kind's source through the registry; a bad row keeps the old trees", async () => {
    const info = { transport: "internal" };
    const none = await setup();
    expect((await rpcError(none.host.rpc.call("mtree.reload", [], info))).message).toMatch(/^Mtree Reload Failed: .*no reloadable source/);

    let calls = 0;
    let next: TableSet = rows;
    const { host, api } = await setup();
    setTableSource(host, "mtree", () => (calls++, next), "file:/etc/olelo/mtree.json");
    expect(await host.rpc.call("mtree.reload", [""], info)).toBe("Ok. Mtree reloaded.");
    expect(calls).toBe(1);
    expect(api.lookup("mtree", "4912", 0)).toEqual({ kind: "value", prefix: "49", value: "de" });
    expect(host.tables.statusOf("mtree")!.source).toBe("file:/etc/olelo/mtree.json");

    next = { mtrees: [...rows.mtrees!, { id: 9, tname: "routes", tprefix: "12a", tvalue: "x" }] };
    const err = await rpcError(host.rpc.call("mtree.reload", [], info));
    expect(err.code).toBe(500);
    expect(err.message).toBe("Mtree Reload Failed: file:/etc/olelo/mtree.json: mtrees row 9: tprefix '12a': invalid character 'a' at position 2 (char_list '0123456789')");
    expect(api.lookup("mtree", "4912", 0)).toEqual({ kind: "value", prefix: "49", value: "de" });
  });

  it("rejects bad config at init", async () => {
    await expect(async () => mtreeModule.init(fakeHost("mtree", { mt_tree_type: 5 }))).rejects.toThrow(/mt_tree_type/);
    await expect(async () => mtreeModule.init(fakeHost("mtree", { char_list: "" }))).rejects.toThrow(/char_list/);
  });
});
