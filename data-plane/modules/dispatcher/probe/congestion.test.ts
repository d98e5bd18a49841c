import { describe, expect, it } from "vitest";
import { compileDispatcherTables } from "../../../../tables/dispatcher/table.js";
import { buildLiveTable, type LiveSet } from "../state.js";
import { seededRandom } from "../../../../tables/dispatcher/hash.js";
import { updateCongestion } from "./congestion.js";

function liveSet(attrs: string[]): LiveSet {
  const c = compileDispatcherTables({ dispatcher: attrs.map((a, i) => ({ id: i + 1, setid: 1, destination: `sip:10.0.0.${i + 1}`, priority: 10 - i, attrs: a })) });
  return buildLiveTable(c, null, "keep", seededRandom(1)).table.sets.get(1)!;
}

function shares(set: LiveSet): number[] {
  const n = new Array(set.size).fill(0);
  for (const i of set.rwlist) n[i]++;
  return n;
}

/** Sets latency figures so that EST − AVG = congestion ms. */
function congest(set: LiveSet, i: number, avg: number, congestion: number): void {
  const l = set.rt[i]!.latency;
  l.init(avg, 10000);
  l.estimate = avg + congestion;
}

describe("alg 11 congestion control (cc=1)", () => {
  it("lowers rweight by 1 per ms of congestion and rebuilds the shares", () => {
    const set = liveSet(["weight=50;rweight=50;cc=1", "weight=50;rweight=50;cc=1"]);
    expect(shares(set)).toEqual([50, 50]);
    congest(set, 0, 20, 20);
    congest(set, 1, 20, 0);
    expect(updateCongestion(set, seededRandom(2))).toBe(true);
    expect([set.rt[0]!.rweight, set.rt[1]!.rweight]).toEqual([30, 50]);
    // 30/80 → 37 slots, 50/80 → 62 slots, the one left goes to the last inserted
    expect(shares(set)).toEqual([37, 63]);
    expect(updateCongestion(set, seededRandom(3))).toBe(false);
  });

  it("when every destination is congested, spreads in inverse proportion to congestion", () => {
    const set = liveSet(["weight=50;rweight=50;cc=1", "weight=50;rweight=50;cc=1"]);
    congest(set, 0, 10, 80);
    congest(set, 1, 10, 60);
    updateCongestion(set, seededRandom(4));
    expect([set.rt[0]!.rweight, set.rt[1]!.rweight]).toEqual([Math.trunc((140 * 16) / 80), Math.trunc((140 * 16) / 60)]);
    const s = shares(set);
    expect(s[1]!).toBeGreaterThan(s[0]!);
    expect(s[0]! + s[1]!).toBe(100);
  });

  it("leaves sets without cc alone", () => {
    const set = liveSet(["rweight=50", "rweight=50"]);
    congest(set, 0, 10, 500);
    expect(updateCongestion(set, seededRandom(5))).toBe(false);
    expect(shares(set)).toEqual([50, 50]);
  });
});
