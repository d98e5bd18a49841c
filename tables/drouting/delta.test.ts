import { describe, expect, it } from "vitest";
import { seededRandom } from "../../lib/random/seeded.js";
import { TableError, type TableRow, type TableSet } from "../rows.js";
import { compileDroutingTables, type CompiledDrouting } from "./table.js";
import { applyDroutingChanges, drRulesAt, DR_OVERLAY_MAX } from "./delta.js";
import { findRule } from "./route.js";
import { createCalendar } from "./calendar.js";

const gws = [1, 2, 3, 4].map((gwid) => ({ gwid, type: 1, address: `10.0.0.${gwid}:5060`, strip: 0, pri_prefix: "", attrs: "" }));
const lists = [{ id: 7, gwlist: "3|4" }];
const rule = (ruleid: number, over: TableRow = {}): TableRow => ({ ruleid, groupid: "1", prefix: "49", timerec: "", priority: 0, routeid: "", gwlist: "1", ...over });
const base = (rules: TableRow[]): TableSet => ({ dr_gateways: gws, dr_gw_lists: lists, dr_rules: rules, dr_groups: [] });

const prng = seededRandom;

const PREFIXES = ["", "4", "49", "491", "4930", "33", "331", "*1", "+44"];
const GROUPS = ["1", "2", "3", "1,2", "2,3"];
const RECS = ["", "", "", "20260101T000000|PT1H|daily"];

function randomRule(rnd: () => number, ruleid: number): TableRow {
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  return rule(ruleid, { groupid: pick(GROUPS), prefix: pick(PREFIXES), priority: Math.floor(rnd() * 3), timerec: pick(RECS), gwlist: pick(["1", "2;3", "#7", "1,4"]) });
}

/** Every group × prefix rule list (ruleids, in order), the no-prefix lists and some lookups. */
function view(c: CompiledDrouting): unknown {
  const cal = createCalendar("UTC");
  const out: Record<string, unknown> = { rules: c.ruleCount };
  for (const g of [1, 2, 3]) {
    const grp = c.groups.get(g);
    for (const p of PREFIXES) {
      const l = drRulesAt(grp, p).map((r) => r.ruleId);
      if (l.length > 0) out[`${g}/${p}`] = l;
    }
    for (const num of ["4930123", "49", "4", "331", "3", "*12", "+449", "1"]) {
      for (const t of [Date.UTC(2026, 5, 1, 0, 30) / 1000, Date.UTC(2026, 5, 1, 12) / 1000]) out[`find ${g} ${num} ${t}`] = findRule(c, g, num, t, cal)?.ruleId ?? null;
    }
  }
  return out;
}

/** One random delta: removals, in-place replacements, inserts at random positions; returns the new rows and the changes. */
function randomDelta(rnd: () => number, rows: TableRow[], nextId: () => number, n: number): { rows: TableRow[]; removed: TableRow[]; added: TableRow[] } {
  const out = [...rows];
  const removed: TableRow[] = [];
  const added: TableRow[] = [];
  for (let k = 0; k < n; k++) {
    const op = rnd();
    if (op < 0.3 && out.length > 0) {
      const at = Math.floor(rnd() * out.length);
      const r = out[at]!;
      if (added.includes(r)) continue;
      removed.push(r);
      out.splice(at, 1);
    } else if (op < 0.6 && out.length > 0) {
      const at = Math.floor(rnd() * out.length);
      const r = out[at]!;
      if (added.includes(r)) continue;
      removed.push(r);
      const nr = randomRule(rnd, r.ruleid as number);
      out[at] = nr;
      added.push(nr);
    } else {
      const nr = randomRule(rnd, nextId());
      out.splice(Math.floor(rnd() * (out.length + 1)), 0, nr);
      added.push(nr);
    }
  }
  return { rows: out, removed, added };
}

describe("applyDroutingChanges", () => {
  it("equals the full compile after many random dr_rules deltas (property, replayable seeds)", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = prng(seed);
      let id = 0;
      const nextId = () => ++id;
      let rows = Array.from({ length: 30 }, () => randomRule(rnd, nextId()));
      let c = compileDroutingTables(base(rows));
      for (let step = 0; step < 12; step++) {
        const d = randomDelta(rnd, rows, nextId, 1 + Math.floor(rnd() * 5));
        const set = base(d.rows);
        const next = applyDroutingChanges(c, new Map([["dr_rules", { removed: d.removed, added: d.added }]]), set);
        expect(next, `seed ${seed} step ${step}`).not.toBeNull();
        expect(view(next!), `seed ${seed} step ${step}`).toEqual(view(compileDroutingTables(set)));
        rows = d.rows;
        c = next!;
      }
      expect(c.overlaySize).toBeGreaterThan(0);
    }
  });

  it("leaves the structure it starts from untouched", () => {
    const rows = [rule(1), rule(2, { priority: 5 }), rule(3, { prefix: "" })];
    const c = compileDroutingTables(base(rows));
    const before = view(c);
    const d = applyDroutingChanges(c, new Map([["dr_rules", { removed: [rows[1]!, rows[2]!], added: [rule(4, { priority: 9 })] }]]), base([rows[0]!, rule(4, { priority: 9 })]))!;
    expect(view(c)).toEqual(before);
    expect(drRulesAt(d.groups.get(1), "49").map((r) => r.ruleId)).toEqual([4, 1]);
    expect(d.groups.get(1)!.noPrefix).toEqual([]);
  });

  it("refuses a bad row with the full compile's table, key and reason", () => {
    const rows = [rule(1), rule(2, { prefix: "33" })];
    const c = compileDroutingTables(base(rows));
    const bad: TableRow[][] = [
      [rule(3, { prefix: "49a" })],
      [rule(3, { gwlist: "9" })],
      [rule(3, { gwlist: "#8" })],
      [rule(3, { groupid: "x" })],
      [rule(3, { timerec: "garbage" })],
      [rule(2)], // duplicate ruleid (row 2 kept)
      [rule(5), rule(4, { gwlist: "1;9" }), rule(3, { prefix: "x" })], // several new rows: the first bad one in table order
    ];
    for (const added of bad) {
      const set = base([...rows, ...added]);
      const reason = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          expect(e).toBeInstanceOf(TableError);
          const t = e as TableError;
          return `${t.table} ${String(t.row)} ${t.message}`;
        }
        return "accepted";
      };
      const full = reason(() => compileDroutingTables(set));
      expect(full).not.toBe("accepted");
      expect(reason(() => applyDroutingChanges(c, new Map([["dr_rules", { removed: [], added }]]), set))).toBe(full);
    }
  });

  it("declines (null) a change to another drouting table or an overlay past the limit", () => {
    const rows = [rule(1)];
    const c = compileDroutingTables(base(rows));
    const gw5 = { gwid: 5, type: 1, address: "10.0.0.5", strip: 0, pri_prefix: "", attrs: "" };
    expect(applyDroutingChanges(c, new Map([["dr_gateways", { removed: [], added: [gw5] }]]), { ...base(rows), dr_gateways: [...gws, gw5] })).toBeNull();
    const many = Array.from({ length: DR_OVERLAY_MAX }, (_, i) => rule(100 + i, { prefix: String(i) }));
    expect(applyDroutingChanges(c, new Map([["dr_rules", { removed: [], added: many }]]), base([...rows, ...many]))).toBeNull();
  });

  it("keeps table order among equal priorities in a list that a tie in another group's list gave positions to", () => {
    // A and C are in groups 1 and 2, B in group 1 only; all priority 2 on prefix 4
    const rows = [rule(9, { prefix: "5" }), rule(1, { groupid: "1,2", prefix: "4", priority: 2 }), rule(2, { prefix: "4", priority: 2 }), rule(3, { groupid: "1,2", prefix: "4", priority: 2 })];
    const c = compileDroutingTables(base(rows));
    // group 2 gets a tie at priority 2, group 1 a new rule of another priority
    const added = [rule(4, { groupid: "2", prefix: "4", priority: 2 }), rule(5, { prefix: "4", priority: 0 })];
    const next = applyDroutingChanges(c, new Map([["dr_rules", { removed: [], added }]]), base([...rows, ...added]))!;
    expect(drRulesAt(next.groups.get(1), "4").map((r) => r.ruleId)).toEqual([1, 2, 3, 5]);
    expect(drRulesAt(next.groups.get(2), "4").map((r) => r.ruleId)).toEqual([1, 3, 4]);
  });
});
