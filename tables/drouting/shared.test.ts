import { describe, expect, it } from "vitest";
import { seededRandom } from "../../lib/random/seeded.js";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import type { TableRow, TableSet } from "../rows.js";
import { runToEnd } from "../kit/sliced.js";
import { TableError } from "../rows.js";
import { createCalendar } from "./calendar.js";
import { findRule, orderGateways } from "./route.js";
import { applySharedDroutingChanges, attachDrouting, compileSharedDroutingSteps, droutingHasOverlay, droutingSharedBytes, shareDrouting, type SharedDrouting } from "./shared.js";
import { compileDroutingTables, type CompiledDrouting } from "./table.js";
import { applyDroutingChanges } from "./delta.js";

const rng = seededRandom;

const RECS = ["", "20240101T080000|10H|weekly|||MO,TU,WE,TH,FR", "20240101T220000|4H|daily", "20240101T000000|1H|daily||3", "20240115T000000|P1D|monthly||2", "20240101T090000|1H|daily|20240110T090000"];
const CHARS = "0123456789*#+";

function randomSet(seed: number, rules: number): TableSet {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const gws: TableRow[] = [];
  for (let i = 1; i <= 12; i++) {
    const address = i % 4 === 0 ? `gw${i}.example.com` : `10.0.${i % 3}.${i}${i % 2 ? ":5060" : ""}`;
    gws.push({ gwid: i, type: i % 3, address, strip: int(3), pri_prefix: i % 2 ? "00" : "", attrs: i % 5 ? `a=${i}` : "", description: `gw ${i} ü` });
  }
  const gwlist = (): string => {
    const groups: string[] = [];
    for (let g = 0, n = 1 + int(3); g < n; g++) {
      const ids: number[] = [];
      for (let k = 0, m = 1 + int(3); k < m; k++) ids.push(1 + int(12));
      groups.push(ids.join(r() < 0.5 ? "," : "|"));
    }
    return groups.join(";");
  };
  const lists: TableRow[] = [1, 2, 3].map((id) => ({ id, gwlist: gwlist() }));
  const rows: TableRow[] = [];
  for (let i = 0; i < rules; i++) {
    const len = r() < 0.05 ? 0 : 1 + int(6);
    let prefix = "";
    // mostly digits with a common start, so prefixes nest and collide
    for (let k = 0; k < len; k++) prefix += k < 2 ? "49"[k] : r() < 0.9 ? String(int(10)) : CHARS[10 + int(3)];
    const groups = [1 + int(4)];
    if (r() < 0.2) groups.push(1 + int(4));
    rows.push({
      ruleid: 1 + i * 3,
      groupid: [...new Set(groups)].join(","),
      prefix,
      timerec: RECS[r() < 0.6 ? 0 : int(RECS.length)]!,
      priority: int(4) - 1,
      routeid: r() < 0.3 ? `route_${int(4)}` : r() < 0.1 ? "0" : "",
      gwlist: r() < 0.2 ? `#${1 + int(3)}` : gwlist(),
      description: "",
    });
  }
  const groupsRows: TableRow[] = [];
  for (let i = 0; i < 20; i++) groupsRows.push({ id: i + 1, username: `u${i % 15}`, domain: i < 15 ? "Example.COM" : "other.org", groupid: 1 + int(4) });
  return { dr_gateways: gws, dr_gw_lists: lists, dr_rules: rows, dr_groups: groupsRows };
}

/** The posted form through a real MessagePort (the buffers are shared, the rest cloned), attached there. */
function viaPort(c: CompiledDrouting): CompiledDrouting {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(shareDrouting(c));
  const m = receiveMessageOnPort(port2)!.message;
  port1.close();
  return attachDrouting(m);
}

const numbers = (seed: number, n: number): string[] => {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let s = r() < 0.8 ? "49" : "";
    for (let k = 0, len = 2 + Math.floor(r() * 10); k < len; k++) s += r() < 0.95 ? String(Math.floor(r() * 10)) : CHARS[10 + Math.floor(r() * 3)];
    out.push(s);
  }
  return out;
};

const cal = createCalendar("UTC");
// Mondays, nights, a mid-month day and a time before any dtstart
const times = [Date.UTC(2024, 0, 1, 9) / 1000, Date.UTC(2024, 0, 2, 23) / 1000, Date.UTC(2024, 1, 15, 12) / 1000, Date.UTC(2023, 5, 1) / 1000, Date.UTC(2025, 2, 7, 15) / 1000];

/** Every lookup (rule and gateway order in the three sort orders) of `shared` as `plain` answers it; returns how many found a rule. */
function sameLookups(plain: CompiledDrouting, shared: CompiledDrouting, seed: number, count: number): number {
  expect(shared.ruleCount).toBe(plain.ruleCount);
  let found = 0;
  for (const number of numbers(seed, count)) {
    for (const group of [0, 1, 2, 3, 4, 5, 7]) {
      for (const now of times) {
        const a = findRule(plain, group, number, now, cal);
        const b = findRule(shared, group, number, now, cal);
        expect(b).toEqual(a);
        if (a === null) continue;
        found++;
        for (const so of [0, 1, 2] as const) expect(orderGateways(b!, so, rng(found)).map((g) => g.gwid)).toEqual(orderGateways(a, so, rng(found)).map((g) => g.gwid));
        for (const g of b!.gwGroups.flat()) expect(shared.gateways.get(g.gwid)).toBe(g);
      }
    }
  }
  return found;
}

/** A random dr_rules delta on `set`: rows removed, changed in place, and added (new groups, empty prefixes, existing prefixes). */
function randomDelta(set: TableSet, seed: number, n: number): { set: TableSet; changes: Map<string, { removed: TableRow[]; added: TableRow[] }> } {
  const r = rng(seed);
  const rows = [...(set.dr_rules as TableRow[])];
  const removed: TableRow[] = [];
  const added: TableRow[] = [];
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * rows.length);
    const old = rows[at]!;
    // each base row at most once (a real delta names a row once)
    if (added.includes(old) || removed.includes(old)) continue;
    removed.push(old);
    if (r() < 0.5) {
      rows.splice(at, 1);
    } else {
      const nu = { ...old, priority: Math.floor(r() * 4) - 1, gwlist: r() < 0.5 ? "#2" : "5;6,7", timerec: r() < 0.5 ? "" : RECS[2]! };
      rows[at] = nu;
      added.push(nu);
    }
  }
  for (let i = 0; i < n; i++) {
    const prefix = r() < 0.2 ? "" : r() < 0.5 ? String(rows[Math.floor(r() * rows.length)]!.prefix) : `49${Math.floor(r() * 1000)}`;
    const nu: TableRow = { ruleid: 1_000_000 + seed * 1000 + i, groupid: r() < 0.2 ? "7" : String(1 + Math.floor(r() * 4)), prefix, timerec: r() < 0.3 ? RECS[1]! : "", priority: Math.floor(r() * 4) - 1, routeid: r() < 0.3 ? "route_new" : "", gwlist: "3|4", description: "" };
    rows.push(nu);
    added.push(nu);
  }
  return { set: { ...set, dr_rules: rows }, changes: new Map([["dr_rules", { removed, added }]]) };
}

describe("drouting compiled into shared memory", () => {

  for (const [seed, size] of [[1, 300], [2, 3000], [3, 20_000]] as const) {
    it(`random set ${seed} (${size} rules): every lookup as the per-worker compile finds it`, () => {
      const set = randomSet(seed, size);
      const plain = compileDroutingTables(set);
      const shared = viaPort(runToEnd(compileSharedDroutingSteps(set)));
      expect([...shared.groups].every(([id, g]) => shared.sharedRules!.isBase(id, g))).toBe(true);
      expect(droutingSharedBytes(shared)).toBeGreaterThan(0);
      expect(shared.ruleCount).toBe(plain.ruleCount);
      expect(shared.gateways).toEqual(plain.gateways);
      expect(shared.byIp).toEqual(plain.byIp);
      expect(shared.userDomainGroups).toEqual(plain.userDomainGroups);
      expect(shared.userGroups).toEqual(plain.userGroups);
      expect(sameLookups(plain, shared, seed * 7, 2000)).toBeGreaterThan(1000);
    });
  }

  it("dr_rules deltas over the shared buffers (two in a row, posted with their overlay) answer as the full compile of the new set", () => {
    const set0 = randomSet(8, 5000);
    const primary0 = runToEnd(compileSharedDroutingSteps(set0));
    const d1 = randomDelta(set0, 1, 60);
    const primary1 = applySharedDroutingChanges(primary0, d1.changes, d1.set)!;
    expect(primary1).not.toBeNull();
    expect(droutingHasOverlay(primary1)).toBe(true);
    expect(droutingHasOverlay(primary0)).toBe(false);
    expect(primary1.sharedRules!.data).toBe(primary0.sharedRules!.data);
    const plain1 = compileDroutingTables(d1.set);
    // the per-worker delta path too (its tie order among equal priorities was wrong before)
    expect(sameLookups(plain1, applyDroutingChanges(compileDroutingTables(set0), d1.changes, d1.set)!, 10, 500)).toBeGreaterThan(200);
    expect(sameLookups(plain1, primary1, 11, 1000)).toBeGreaterThan(500);
    expect(sameLookups(plain1, viaPort(primary1), 12, 1000)).toBeGreaterThan(500);
    const d2 = randomDelta(d1.set, 2, 40);
    const primary2 = applySharedDroutingChanges(primary1, d2.changes, d2.set)!;
    const plain2 = compileDroutingTables(d2.set);
    expect(primary2.sharedRows).toBe(12 + 3 + (d2.set.dr_rules as TableRow[]).length + 20);
    expect(sameLookups(plain2, viaPort(primary2), 13, 1000)).toBeGreaterThan(500);
    // a ruleid of the buffers is refused as a duplicate, as by the full compile
    const dup = { ...(set0.dr_rules as TableRow[])[3]!, prefix: "4999" };
    const bad = { ...d2.set, dr_rules: [...(d2.set.dr_rules as TableRow[]), dup] };
    expect(() => applySharedDroutingChanges(primary2, new Map([["dr_rules", { removed: [], added: [dup] }]]), bad)).toThrow(/duplicate ruleid/);
    // a change to dr_gateways: the whole set is compiled
    expect(applySharedDroutingChanges(primary2, new Map([["dr_gateways", { removed: [], added: [{ gwid: 99, address: "10.9.9.9" }] }]]), d2.set)).toBeNull();
  });

  it("a bad row is refused with the same table, row and reason", () => {
    const set = randomSet(4, 50);
    (set.dr_rules as TableRow[]).push({ ruleid: 999_999, groupid: "1", prefix: "49", timerec: "", priority: 0, routeid: "", gwlist: "77", description: "" });
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(TableError);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(err(() => runToEnd(compileSharedDroutingSteps(set)))).toBe(err(() => compileDroutingTables(set)));
  });

  it("an empty set and a set without rules", () => {
    const e = viaPort(runToEnd(compileSharedDroutingSteps({})));
    expect(findRule(e, 1, "4930", 0, cal)).toBeNull();
    const set = randomSet(5, 10);
    set.dr_rules = [];
    const s = viaPort(runToEnd(compileSharedDroutingSteps(set)));
    expect(s.ruleCount).toBe(0);
    expect(s.gateways.size).toBe(12);
    expect(findRule(s, 1, "4930", 0, cal)).toBeNull();
  });

  it("the attached arrays are the primary's memory, not a copy", () => {
    const c = runToEnd(compileSharedDroutingSteps(randomSet(6, 100)));
    const w = viaPort(c);
    const a = (c.sharedRules!.data as SharedDrouting).a.listRules;
    const b = (w.sharedRules!.data as SharedDrouting).a.listRules;
    expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
    const old = a[0]!;
    a[0] = old + 12345;
    expect(b[0]).toBe(old + 12345);
    a[0] = old;
  });
});
