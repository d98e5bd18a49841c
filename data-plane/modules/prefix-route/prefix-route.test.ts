import { waitUntil } from "../../../test/kit/wait.js";
import { describe, expect, it } from "vitest";
import { RpcError, TableError, type TableSet } from "../../core/api.js";
import { fakeHost, fakeRequest, setTableSource } from "../../testing/fake-host.js";
import prefixRouteModule from "./index.js";
import type { PrefixRouteApi } from "./prefix-route.js";
import { compilePrefixRouteTables, dumpPrefixRouteLines, lookupPrefixRoute } from "../../../tables/prefix-route/table.js";

const rows: TableSet = {
  prefix_route: [
    { prefix: "49", route: "GERMANY", comment: "DE" },
    { prefix: "4930", route: "BERLIN", comment: "" },
    { prefix: "1", route: "NANP", comment: null },
    { prefix: "", route: "DEFAULT" },
  ],
};

function rejects(set: TableSet, opts = {}): TableError {
  try {
    compilePrefixRouteTables(set, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(TableError);
    return e as TableError;
  }
  throw new Error("expected a TableError");
}

describe("compilePrefixRouteTables / lookup", () => {
  const c = compilePrefixRouteTables(rows);

  it("takes the longest of overlapping prefixes, and the empty prefix as default", () => {
    expect(lookupPrefixRoute(c, "4930123")?.route).toBe("BERLIN");
    expect(lookupPrefixRoute(c, "4940")?.route).toBe("GERMANY");
    expect(lookupPrefixRoute(c, "4930")?.route).toBe("BERLIN");
    expect(lookupPrefixRoute(c, "12125551234")?.route).toBe("NANP");
    expect(lookupPrefixRoute(c, "33")?.route).toBe("DEFAULT");
  });

  it("skips non-digits in the number like Kamailio", () => {
    expect(lookupPrefixRoute(c, "+49 (30) 555")?.route).toBe("BERLIN");
  });

  it("without a default, an unmatched number gives null", () => {
    const d = compilePrefixRouteTables({ prefix_route: [{ prefix: "49", route: "DE" }] });
    expect(lookupPrefixRoute(d, "33")).toBeNull();
  });

  it("rejects bad rows naming the row position", () => {
    let e = rejects({ prefix_route: [{ prefix: "49", route: "A" }, { prefix: "4a", route: "B" }] });
    expect(e.table).toBe("prefix_route");
    expect(e.row).toBe("#2");
    expect(e.message).toMatch(/invalid character 'a'/);
    e = rejects({ prefix_route: [{ prefix: "49", route: "A" }, { prefix: "49", route: "B" }] });
    expect(e.row).toBe("#2");
    expect(e.message).toMatch(/already set .* row #1/);
    e = rejects({ prefix_route: [{ prefix: "49", route: "" }] });
    expect(e.message).toMatch(/route must not be empty/);
    e = rejects({ prefix_route: [{ prefix: "1".repeat(65), route: "X" }] });
    expect(e.message).toMatch(/longer than 64/);
    e = rejects({ prefix_route: [{ prefix: "49", route: "NOPE" }] }, { knownRoutes: ["GERMANY"] });
    expect(e.message).toMatch(/does not exist/);
  });

  it("accepts numeric prefixes from JSON sources", () => {
    expect(lookupPrefixRoute(compilePrefixRouteTables({ prefix_route: [{ prefix: 44, route: "UK" }] }), "4420")?.route).toBe("UK");
  });

  it("dumps the tree the way Kamailio prints it", () => {
    const d = compilePrefixRouteTables({ prefix_route: [{ prefix: "49", route: "DE" }, { prefix: "5", route: "FIVE" }] });
    expect(dumpPrefixRouteLines(d)).toEqual(["Prefix route tree:", " reference count: 0", "", "4 ", " 9  \t--> route[DE] ", "5  \t--> route[FIVE] "]);
  });
});

describe("prefix_route module", () => {
  it("matches the R-URI user or an explicit user and counts", async () => {
    const host = fakeHost("prefix_route");
    const api = (await prefixRouteModule.init(host)) as PrefixRouteApi;
    expect(api.exit).toBe(true);
    host.tables.load("prefix_route", rows, "v1", "test");
    expect(api.match(fakeRequest({ ruri: "sip:4930555@example.com" }))).toBe("BERLIN");
    expect(api.match(fakeRequest({ ruri: "sip:example.com" }))).toBeNull();
    expect(api.match(fakeRequest(), "1800")).toBe("NANP");
    expect(host.stats.select("prefix_route:")).toEqual([
      ["prefix_route:matched", 2],
      ["prefix_route:not_matched", 1],
      ["prefix_route:prefixes", 4],
      ["prefix_route:overlay_prefixes", 0],
    ]);
  });

  it("a delta from the live version goes into the overlay at once; a bad row is refused and the live table stays; the overlay is folded into a new tree later", async () => {
    const host = fakeHost("prefix_route", {});
    const api = (await prefixRouteModule.init(host)) as PrefixRouteApi;
    const rows = [
      { id: 1, prefix: "49", route: "DE", comment: "" },
      { id: 2, prefix: "4930", route: "BERLIN", comment: "" },
    ];
    expect(host.tables.load("prefix_route", { prefix_route: rows }, "v1", "test")).toEqual({ ok: true });
    const moved = { id: 2, prefix: "4989", route: "MUNICH", comment: "" };
    const set2 = { prefix_route: [rows[0]!, moved] };
    const r = await host.tables.loadDeltaAsync("prefix_route", { set: set2, tables: new Map([["prefix_route", { removed: [rows[1]!], added: [moved] }]]) }, "v2", "control-plane", "v1");
    expect(r).toEqual({ ok: true, incremental: true });
    expect([api.lookup("493012"), api.lookup("498912")]).toEqual(["DE", "MUNICH"]);
    const gauge = () => Object.fromEntries(host.stats.select("prefix_route:"));
    expect(gauge()).toMatchObject({ "prefix_route:prefixes": 2, "prefix_route:overlay_prefixes": 2 });
    // a duplicate prefix: refused naming both rows, v2 stays live
    const dup = { id: 3, prefix: "49", route: "X", comment: "" };
    const bad = await host.tables.loadDeltaAsync("prefix_route", { set: { prefix_route: [...set2.prefix_route, dup] }, tables: new Map([["prefix_route", { removed: [], added: [dup] }]]) }, "v3", "control-plane", "v2");
    expect(bad.ok).toBe(false);
    expect(String((bad as { error: Error }).error.message)).toBe("prefix_route row 3: prefix '49' already set to a route by row 1");
    expect(host.tables.statusOf("prefix_route")).toMatchObject({ version: "v2", lastErrorVersion: "v3" });
    expect(api.lookup("4912")).toBe("DE");
    // a delta whose base is not the live version is compiled whole
    const other = await host.tables.loadDeltaAsync("prefix_route", { set: set2, tables: new Map([["prefix_route", { removed: [], added: [] }]]) }, "v4", "control-plane", "v9");
    expect(other).toEqual({ ok: true, incremental: false });
    const d5 = { id: 4, prefix: "33", route: "FR", comment: "" };
    expect(await host.tables.loadDeltaAsync("prefix_route", { set: { prefix_route: [...set2.prefix_route, d5] }, tables: new Map([["prefix_route", { removed: [], added: [d5] }]]) }, "v5", "control-plane", "v4")).toEqual({ ok: true, incremental: true });
    expect(gauge()["prefix_route:overlay_prefixes"]).toBe(1);
    await waitUntil(() => gauge()["prefix_route:overlay_prefixes"] === 0, { timeoutMs: 5000, what: "overlay folded into the tree" });
    expect([api.lookup("3312"), api.lookup("498912"), api.lookup("493012"), gauge()["prefix_route:prefixes"]]).toEqual(["FR", "MUNICH", "DE", 3]);
  });

  it("prefix_route.dump and prefix_route.reload", async () => {
    const info = { transport: "internal" };
    const host = fakeHost("prefix_route", { exit: 0 });
    const api = (await prefixRouteModule.init(host)) as PrefixRouteApi;
    await expect(host.rpc.call("prefix_route.reload", [], info)).rejects.toThrow(/failed to reload prefix routes: .*no reloadable source/);
    setTableSource(host, "prefix_route", () => rows);
    expect(api.exit).toBe(false);
    expect(await host.rpc.call("prefix_route.reload", [], info)).toBe("Prefix routes reloaded successfully");
    expect(api.lookup("4930")).toBe("BERLIN");
    const lines = (await host.rpc.call("prefix_route.dump", [], info)) as string[];
    expect(lines[0]).toBe("Prefix route tree:");
    expect(lines).toContain(" 9  \t--> route[GERMANY] ");

    const bad = fakeHost("prefix_route");
    const badApi = (await prefixRouteModule.init(bad)) as PrefixRouteApi;
    await bad.tables.loadAsync("prefix_route", rows, "v1", "test");
    setTableSource(bad, "prefix_route", () => ({ prefix_route: [{ prefix: "49", route: "A" }, { prefix: "x", route: "A" }] }), "file:/etc/olelo/prefix_route.json");
    try {
      await bad.rpc.call("prefix_route.reload", [], info);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RpcError);
      expect((e as RpcError).code).toBe(400);
      expect((e as RpcError).message).toBe("failed to reload prefix routes: file:/etc/olelo/prefix_route.json: prefix_route row #2: prefix 'x': invalid character 'x' at position 0 (digits only)");
    }
    // the old table stays
    expect(badApi.lookup("4930")).toBe("BERLIN");
    expect(bad.tables.statusOf("prefix_route")!.version).toBe("v1");
  });

  it("rejects bad config", async () => {
    await expect(async () => prefixRouteModule.init(fakeHost("prefix_route", { exit: 3 }))).rejects.toThrow(/exit/);
  });
});
