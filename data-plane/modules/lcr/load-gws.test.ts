import { describe, expect, it } from "vitest";
import type { TableRow, TableSet } from "../../core/api.js";
import { seededRandom } from "../../testing/fake-host.js";
import { loadGws, type LoadGwsInput, type LoadGwsOptions } from "../../../tables/lcr/load-gws.js";
import { compileLcrTables, type LcrGw } from "../../../tables/lcr/table.js";
import { firstChoiceProbabilities, type LcrWeighting } from "../../../tables/lcr/weights.js";

const gw = (id: number, over: TableRow = {}): TableRow => ({ id, lcr_id: 1, ip_addr: `10.0.0.${id}`, ...over });
const rule = (id: number, prefix: string, over: TableRow = {}): TableRow => ({ id, lcr_id: 1, prefix, ...over });
let tid = 0;
const target = (ruleId: number, gwId: number, priority: number, weight = 1): TableRow => ({ id: ++tid, lcr_id: 1, rule_id: ruleId, gw_id: gwId, priority, weight });

function inst(set: TableSet) {
  return compileLcrTables(set).instances.get(1)!;
}

function input(uriUser: string, over: Partial<LoadGwsInput> = {}): LoadGwsInput {
  return { uriUser, callerUri: "", callerUser: null, requestUri: "sip:" + uriUser + "@proxy", ...over };
}

function options(over: Partial<LoadGwsOptions> = {}): LoadGwsOptions {
  return {
    now: 1_000_000,
    random: seededRandom(1),
    weighting: "proportional",
    priorityOrdering: false,
    mtree: null,
    defunctUntil: (g: LcrGw) => g.defunctUntil,
    ...over,
  };
}

function ids(res: ReturnType<typeof loadGws>): number[] {
  if (!res.ok) throw new Error(res.error);
  return res.gws.map((m) => m.gw.gwId);
}

describe("load_gws ordering", () => {
  const base = inst({
    lcr_gw: [gw(1), gw(2), gw(3), gw(4), gw(5)],
    lcr_rule: [rule(10, ""), rule(11, "49"), rule(12, "4930")],
    lcr_rule_target: [target(10, 5, 0), target(11, 3, 1), target(11, 4, 0), target(12, 1, 2), target(12, 2, 1)],
  });

  it("longest prefix first, then priority ascending", () => {
    // 4930 → gw2 (prio 1), gw1 (prio 2); 49 → gw4 (0), gw3 (1); "" → gw5
    expect(ids(loadGws(base, input("4930123"), options()))).toEqual([2, 1, 4, 3, 5]);
    expect(ids(loadGws(base, input("4940"), options()))).toEqual([4, 3, 5]);
    expect(ids(loadGws(base, input("33"), options()))).toEqual([5]);
  });

  it("priority_ordering=1 ignores the prefix length", () => {
    // priorities: gw5 0, gw4 0, gw2 1, gw3 1, gw1 2 — equal priorities ordered by weight key
    const order = ids(loadGws(base, input("4930123"), options({ priorityOrdering: true })));
    expect(order.slice(0, 2).sort()).toEqual([4, 5]);
    expect(order.slice(2, 4).sort()).toEqual([2, 3]);
    expect(order[4]).toBe(1);
  });

  it("an empty list when nothing matches (return code 2)", () => {
    const i = inst({ lcr_gw: [gw(1)], lcr_rule: [rule(1, "49")], lcr_rule_target: [target(1, 1, 0)] });
    expect(loadGws(i, input("33"), options())).toEqual({ ok: true, gws: [] });
  });

  it("a gateway reachable through several rules keeps its best position only", () => {
    const i = inst({
      lcr_gw: [gw(1), gw(2)],
      lcr_rule: [rule(1, "4"), rule(2, "49")],
      lcr_rule_target: [target(1, 1, 0), target(1, 2, 5), target(2, 2, 9)],
    });
    const res = loadGws(i, input("491"), options());
    expect(ids(res)).toEqual([2, 1]);
    if (res.ok) expect(res.gws[0]).toMatchObject({ ruleId: 2, prefixLength: 2, priority: 9 });
  });
});

describe("stopper rules", () => {
  const i = inst({
    lcr_gw: [gw(1), gw(2), gw(3)],
    lcr_rule: [rule(1, "4"), rule(2, "49", { stopper: 1, from_uri: "^sip:vip@" }), rule(3, "4930")],
    lcr_rule_target: [target(1, 1, 0), target(2, 2, 0), target(3, 3, 0)],
  });

  it("a matching stopper hides shorter prefixes, not longer ones", () => {
    expect(ids(loadGws(i, input("49301", { callerUri: "sip:vip@example.com" }), options()))).toEqual([3, 2]);
  });

  it("a stopper that does not match (from_uri) stops nothing", () => {
    expect(ids(loadGws(i, input("49301", { callerUri: "sip:joe@example.com" }), options()))).toEqual([3, 1]);
  });

  it("rules sharing the stopper's prefix are still considered", () => {
    const j = inst({
      lcr_gw: [gw(1), gw(2), gw(3)],
      lcr_rule: [rule(1, "4"), rule(2, "49", { stopper: 1 }), rule(3, "49", { from_uri: "example" })],
      lcr_rule_target: [target(1, 1, 0), target(2, 2, 0), target(3, 3, 1)],
    });
    expect(ids(loadGws(j, input("491", { callerUri: "sip:a@example.com" }), options()))).toEqual([2, 3]);
  });
});

describe("matching conditions", () => {
  it("from_uri is searched in the caller URI; an empty caller URI only matches patterns that accept ''", () => {
    const i = inst({
      lcr_gw: [gw(1), gw(2)],
      lcr_rule: [rule(1, "1", { from_uri: "@trusted\\.example$" }), rule(2, "1", { from_uri: "^$" })],
      lcr_rule_target: [target(1, 1, 0), target(2, 2, 0)],
    });
    expect(ids(loadGws(i, input("123", { callerUri: "sip:a@trusted.example" }), options()))).toEqual([1]);
    expect(ids(loadGws(i, input("123"), options()))).toEqual([2]);
  });

  it("request_uri needs the Request-URI; without it the call is an error (-1)", () => {
    const i = inst({ lcr_gw: [gw(1)], lcr_rule: [rule(1, "1", { request_uri: ";user=phone" })], lcr_rule_target: [target(1, 1, 0)] });
    expect(ids(loadGws(i, input("1", { requestUri: "sip:1@x;user=phone" }), options()))).toEqual([1]);
    expect(ids(loadGws(i, input("1", { requestUri: "sip:1@x" }), options()))).toEqual([]);
    const err = loadGws(i, input("1", { requestUri: null }), options());
    expect(err.ok).toBe(false);
  });

  it("mt_tvalue compares with the caller user's mtree values, only when a caller URI is given", () => {
    const i = inst({ lcr_gw: [gw(1), gw(2)], lcr_rule: [rule(1, "1", { mt_tvalue: "gold" }), rule(2, "1", { mt_tvalue: "silver", from_uri: "x" })], lcr_rule_target: [target(1, 1, 0), target(2, 2, 0)] });
    const calls: string[] = [];
    const mtree = {
      tree: "lcr",
      lookup: {
        matchAll: (tree: string, value: string) => {
          calls.push(`${tree}:${value}`);
          return value.startsWith("555") ? ["gold", "bronze"] : null;
        },
      },
    };
    expect(ids(loadGws(i, input("1", { callerUri: "sip:5551@x", callerUser: "5551" }), options({ mtree })))).toEqual([1]);
    expect(ids(loadGws(i, input("1", { callerUri: "sip:6661@x", callerUser: "6661" }), options({ mtree })))).toEqual([]);
    expect(calls).toEqual(["lcr:5551", "lcr:6661"]);
    // Kamailio skips the mt_tvalue test when no caller URI is given
    expect(ids(loadGws(i, input("1"), options({ mtree })))).toEqual([1]);
  });

  it("skips defunct gateways and gateways whose strip is longer than the number", () => {
    const i = inst({
      lcr_gw: [gw(1, { defunct: 2_000_000 }), gw(2, { defunct: 500_000 }), gw(3, { strip: 5 }), gw(4)],
      lcr_rule: [rule(1, "1")],
      lcr_rule_target: [target(1, 1, 0), target(1, 2, 1), target(1, 3, 2), target(1, 4, 3)],
    });
    expect(ids(loadGws(i, input("1234"), options({ now: 1_000_000 })))).toEqual([2, 4]);
    expect(ids(loadGws(i, input("12345"), options({ now: 2_000_001 })))).toEqual([1, 2, 3, 4]);
    // a runtime defunct mark wins over the table value
    expect(ids(loadGws(i, input("1234"), options({ now: 1_000_000, defunctUntil: (g) => (g.gwId === 4 ? 1_000_060 : g.defunctUntil) })))).toEqual([2]);
  });
});

describe("weights among equal prefix length and priority", () => {
  function firstShares(weights: number[], alg: LcrWeighting, samples: number, seed: number): number[] {
    const rows: TableRow[] = weights.map((_, k) => gw(k + 1));
    const i = inst({
      lcr_gw: rows,
      lcr_rule: [rule(1, "1")],
      lcr_rule_target: weights.map((w, k) => target(1, k + 1, 0, w)),
    });
    const counts = new Array<number>(weights.length).fill(0);
    const opts = options({ weighting: alg, random: seededRandom(seed) });
    for (let n = 0; n < samples; n++) counts[ids(loadGws(i, input("1"), opts))[0]! - 1]!++;
    return counts.map((c) => c / samples);
  }

  // 40,000 samples: the standard error of a share p is sqrt(p(1-p)/n) ≤ 0.0025, so ±0.012 is
  // more than 4.5 standard errors.
  const N = 40_000;
  const TOL = 0.012;

  it("kamailio weighting: weights 1 and 2 give 1/4 and 3/4", () => {
    const s = firstShares([1, 2], "kamailio", N, 11);
    expect(s[0]).toBeCloseTo(0.25, 1);
    expect(Math.abs(s[0]! - 0.25)).toBeLessThan(TOL);
  });

  it("proportional weighting: weights 1 and 2 give 1/3 and 2/3", () => {
    const s = firstShares([1, 2], "proportional", N, 12);
    expect(Math.abs(s[0]! - 1 / 3)).toBeLessThan(TOL);
  });

  for (const alg of ["kamailio", "proportional"] as const) {
    it(`${alg}: weights 1, 2, 3, 10 match the exact first-choice probabilities`, () => {
      const weights = [1, 2, 3, 10];
      const exact = firstChoiceProbabilities(weights, alg);
      const s = firstShares(weights, alg, N, 13);
      s.forEach((share, k) => expect(Math.abs(share - exact[k]!), `gw ${k + 1}`).toBeLessThan(TOL));
    });
  }

  it("equal weights share evenly", () => {
    const s = firstShares([5, 5, 5], "kamailio", N, 14);
    for (const share of s) expect(Math.abs(share - 1 / 3)).toBeLessThan(TOL);
  });

  it("the whole order is a proportional draw without replacement", () => {
    // weights 1,1,2: P(second = gw1) = P(gw2 first)·1/3 + P(gw3 first)·1/2 = 1/4·1/3 + 1/2·1/2 = 1/3
    const i = inst({ lcr_gw: [gw(1), gw(2), gw(3)], lcr_rule: [rule(1, "1")], lcr_rule_target: [target(1, 1, 0, 1), target(1, 2, 0, 1), target(1, 3, 0, 2)] });
    const opts = options({ random: seededRandom(15) });
    let secondIsGw1 = 0;
    for (let n = 0; n < N; n++) if (ids(loadGws(i, input("1"), opts))[1] === 1) secondIsGw1++;
    expect(Math.abs(secondIsGw1 / N - 1 / 3)).toBeLessThan(TOL);
  });
});
