/**
 * Issue 12, "one set of options": the four kinds whose valid rows depend on data-plane module params
 * (lcr lcr_count, carrierroute match_mode, mtree tree types, htable dbtable names). A real module
 * (lcr, carrierroute, mtree, htable) is created with non-default params; the options its table sink
 * declares go through the Hello's `compile_options` form (data-plane/sync/compile-options.ts) into
 * the control plane's fleet record (control-plane/compile/fleet-options.ts); the control plane's
 * compile of the kind (control-plane/compile/kinds.ts) then refuses the row the sink refuses, with
 * the same table, row and reason, and accepts what the node accepts. Without the node it compiles
 * with the module defaults again. test/control-plane-lcr.test.ts shows the same with real processes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { kindDef } from "../control-plane/compile/kinds.js";
import { FLEET_OPTIONS } from "../control-plane/compile/fleet-options.js";
import { compileOptionsOf } from "../data-plane/sync/compile-options.js";
import { createTestHost } from "../data-plane/testing/test-host.js";
import { createLcr } from "../data-plane/modules/lcr/index.js";
import { createCarrierroute } from "../data-plane/modules/carrierroute/index.js";
import { createMtree } from "../data-plane/modules/mtree/index.js";
import htableModule from "../data-plane/modules/htable/index.js";
import type { ModuleHost } from "../data-plane/core/api.js";
import { TableError, type TableSet } from "../tables/rows.js";

const NODE = "parity-node";

afterEach(async () => {
  FLEET_OPTIONS.drop(NODE);
  FLEET_OPTIONS.drop("other");
  await htableModule.destroy?.();
});

async function refusal(compile: () => unknown): Promise<TableError> {
  try {
    await compile();
  } catch (e) {
    expect(e).toBeInstanceOf(TableError);
    return e as TableError;
  }
  throw new Error("expected a TableError");
}

/** Reports the node's options as its Hello would; returns what the control plane refuses vs the sink. */
async function compare(host: ModuleHost, kind: string, set: TableSet): Promise<{ cp: TableError; dp: TableError }> {
  const hello = compileOptionsOf(host.tables, [kind]);
  expect(Object.keys(hello)).toEqual([kind]);
  expect(FLEET_OPTIONS.set(NODE, hello)).toEqual([]);
  const dp = await refusal(() => host.tables.sink(kind)!.compile(set));
  const cp = await refusal(() => kindDef(kind)!.compile(set));
  expect({ table: cp.table, row: cp.row, reason: cp.reason }).toEqual({ table: dp.table, row: dp.row, reason: dp.reason });
  return { cp, dp };
}

describe("the control plane compiles with the options its connected nodes report", () => {
  it("lcr: lcr_count 1 refuses a gateway of instance 2 on both planes; without the node the control plane accepts it", async () => {
    const host = createTestHost("lcr", { lcr_count: 1 });
    createLcr(host).destroy();
    const set: TableSet = { lcr_gw: [{ id: 7, lcr_id: 2, gw_name: "gw7", ip_addr: "10.0.0.7", port: 5060 }], lcr_rule: [], lcr_rule_target: [] };
    const { cp } = await compare(host, "lcr", set);
    expect(cp.message).toBe("lcr_gw row 7: lcr_id 2 is above lcr_count 1");
    FLEET_OPTIONS.drop(NODE);
    expect(() => kindDef("lcr")!.compile(set)).not.toThrow();
  });

  it("carrierroute: a match_mode 128 node makes '+49' valid; a second node with the default match_mode refuses it again", async () => {
    const names = { carrier_name: [{ id: 1, carrier: "default" }], domain_name: [{ id: 1, domain: "proxy" }] };
    const set: TableSet = { ...names, carrierroute: [{ id: 3, carrier: 1, domain: 1, scan_prefix: "+49", flags: 0, mask: 0, prob: 1, strip: 0, rewrite_host: "gw.example" }], carrierfailureroute: [] };
    expect(() => kindDef("carrierroute")!.compile(set)).toThrow(/match_mode 10/); // module defaults
    const wide = createTestHost("carrierroute", { match_mode: 128 });
    createCarrierroute(wide);
    expect(FLEET_OPTIONS.set("other", compileOptionsOf(wide.tables, ["carrierroute"]))).toEqual([]);
    expect(() => kindDef("carrierroute")!.compile(set)).not.toThrow();
    const strict = createTestHost("carrierroute", {});
    createCarrierroute(strict);
    const { cp } = await compare(strict, "carrierroute", set);
    expect(cp.reason).toMatch(/^scan_prefix '\+49': invalid character '\+' at position 0 \(match_mode 10\)/);
  });

  it("mtree: a tree of type 2 refuses a non-integer value on both planes", async () => {
    const host = createTestHost("mtree", { trees: { n: { type: 2 } } });
    createMtree(host);
    const set: TableSet = { mtree: [], mtrees: [{ id: 5, tname: "n", tprefix: "1", tvalue: "12a" }] };
    expect(() => kindDef("mtree")!.compile(set)).not.toThrow(); // type 0 without the node
    const { cp } = await compare(host, "mtree", set);
    expect(cp.table).toBe("mtrees");
    expect(cp.row).toBe(5);
  });

  it("htable: a node whose htables use another dbtable refuses the htable table on both planes", async () => {
    const host = createTestHost("htable", { htable: ["ipban=>size=8;dbtable=ipban"] });
    await htableModule.init(host);
    const set: TableSet = { htable: [{ id: 1, key_name: "k", key_type: 0, value_type: 0, key_value: "v", expires: 0 }] };
    expect(() => kindDef("htable")!.compile(set)).not.toThrow();
    const { cp } = await compare(host, "htable", set);
    expect(cp.reason).toBe("no htable is defined with dbtable=htable");
  });

  it("a Hello with options that do not read is refused with one line naming the kind and the option", () => {
    expect(FLEET_OPTIONS.set(NODE, { lcr: '{"lcrCount":0}' })).toEqual(["lcr: lcr compile options: lcrCount must be an integer 1..65535, got 0"]);
    expect(FLEET_OPTIONS.set(NODE, { dispatcher: "{}" })).toEqual(["dispatcher: table kind 'dispatcher' takes no compile options"]);
    expect(FLEET_OPTIONS.set(NODE, { mtree: "{" })).toEqual(["mtree: mtree compile options are not JSON: {"]);
    expect(FLEET_OPTIONS.sets("lcr")).toEqual([]);
  });
});
