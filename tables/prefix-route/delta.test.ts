import { describe, expect, it } from "vitest";
import { seededRandom } from "../../lib/random/seeded.js";
import { TableError, type TableRow } from "../rows.js";
import { applyPrefixRouteChanges } from "./delta.js";
import { compilePrefixRouteTables, dumpPrefixRouteLines, lookupPrefixRoute, type CompiledPrefixRoutes } from "./table.js";

const row = (id: number, prefix: string, route: string, comment = ""): TableRow => ({ id, prefix, route, comment });

/** Applies removed/added rows to a row list by id (what the control plane's delta does). */
function next(rows: TableRow[], removeIds: number[], add: TableRow[]): { rows: TableRow[]; removed: TableRow[] } {
  const drop = new Set([...removeIds, ...add.map((r) => r.id as number)]);
  const removed = rows.filter((r) => drop.has(r.id as number));
  return { rows: [...rows.filter((r) => !drop.has(r.id as number)), ...add], removed };
}

describe("prefix_route delta compile (overlay)", () => {
  it("agrees with a full compile of the new set on random tables, changes and numbers, through several deltas", () => {
    const rnd = seededRandom(7);
    const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(rnd() * 10))).join("");
    let rows: TableRow[] = [];
    const used = new Set<string>();
    let id = 1;
    while (rows.length < 3000) {
      const p = digits(1 + Math.floor(rnd() * 6));
      if (used.has(p)) continue;
      used.add(p);
      rows.push(row(id++, p, `R${Math.floor(rnd() * 5)}`));
    }
    let c: CompiledPrefixRoutes = compilePrefixRouteTables({ prefix_route: rows });
    for (let step = 0; step < 20; step++) {
      // remove a few rows, change the route of a few, add a few new prefixes (some longer or shorter than existing ones)
      const ids = rows.map((r) => r.id as number);
      const removeIds = Array.from({ length: 5 }, () => ids[Math.floor(rnd() * ids.length)]!);
      const changed = Array.from({ length: 5 }, () => rows[Math.floor(rnd() * rows.length)]!).filter((r) => !removeIds.includes(r.id as number));
      const add: TableRow[] = [...new Map(changed.map((r) => [r.id, { ...r, route: `X${step}` }])).values()];
      const live = new Set(rows.filter((r) => !removeIds.includes(r.id as number)).map((r) => String(r.prefix)));
      for (let k = 0; k < 5; k++) {
        const p = digits(1 + Math.floor(rnd() * 7));
        if (live.has(p)) continue;
        live.add(p);
        add.push(row(id++, p, `N${step}`));
      }
      const n = next(rows, [...new Set(removeIds)], add);
      const d = applyPrefixRouteChanges(c, { removed: n.removed, added: add }, { prefix_route: n.rows });
      expect(d).not.toBeNull();
      rows = n.rows;
      c = d!;
      const full = compilePrefixRouteTables({ prefix_route: rows });
      expect(c.count).toBe(full.count);
      expect(c.rows).toBe(rows.length);
      for (let q = 0; q < 400; q++) {
        const num = digits(1 + Math.floor(rnd() * 10));
        expect(lookupPrefixRoute(c, num), num).toEqual(lookupPrefixRoute(full, num));
      }
    }
    expect(c.overlay!.size).toBeGreaterThan(50);
    expect(dumpPrefixRouteLines(c)).toEqual(dumpPrefixRouteLines(compilePrefixRouteTables({ prefix_route: rows })));
  });

  it("a removed prefix falls back to the next shorter one; the default route can be removed and added", () => {
    const rows = [row(1, "", "DEFAULT"), row(2, "49", "DE"), row(3, "4930", "BERLIN")];
    const c = compilePrefixRouteTables({ prefix_route: rows });
    const d = applyPrefixRouteChanges(c, { removed: [rows[2]!], added: [] }, { prefix_route: rows.slice(0, 2) })!;
    expect(lookupPrefixRoute(d, "493012345")).toEqual({ prefix: "49", route: "DE", comment: "" });
    const e = applyPrefixRouteChanges(d, { removed: [rows[0]!, rows[1]!], added: [row(4, "4", "FOUR")] }, { prefix_route: [row(4, "4", "FOUR")] })!;
    expect(lookupPrefixRoute(e, "493012345")).toEqual({ prefix: "4", route: "FOUR", comment: "" });
    expect(lookupPrefixRoute(e, "1234")).toBeNull();
    expect(e.count).toBe(1);
    const f = applyPrefixRouteChanges(e, { removed: [], added: [row(1, "", "DEFAULT2")] }, { prefix_route: [row(4, "4", "FOUR"), row(1, "", "DEFAULT2")] })!;
    expect(lookupPrefixRoute(f, "1234")).toEqual({ prefix: "", route: "DEFAULT2", comment: "" });
    // the live structures are untouched
    expect(lookupPrefixRoute(c, "493012345")?.route).toBe("BERLIN");
    expect(lookupPrefixRoute(d, "1")?.route).toBe("DEFAULT");
  });

  it("refuses a bad row like the full compile: naming the table, the row and the reason (both rows of a duplicate)", () => {
    const rows = [row(1, "49", "DE"), row(2, "33", "FR")];
    const c = compilePrefixRouteTables({ prefix_route: rows }, { knownRoutes: ["DE", "FR"] });
    const err = (added: TableRow[], removed: TableRow[] = []) => {
      try {
        applyPrefixRouteChanges(c, { removed, added }, { prefix_route: [...rows.filter((r) => !removed.includes(r)), ...added] }, { knownRoutes: ["DE", "FR"] });
      } catch (e) {
        expect(e).toBeInstanceOf(TableError);
        return (e as Error).message;
      }
      return "accepted";
    };
    expect(err([row(3, "49", "FR")])).toBe("prefix_route row 3: prefix '49' already set to a route by row 1");
    expect(err([row(3, "4x9", "FR")])).toBe("prefix_route row 3: prefix '4x9': invalid character 'x' at position 1 (digits only)");
    expect(err([row(3, "44", "UK")])).toBe("prefix_route row 3: route 'UK' does not exist in the routing script");
    expect(err([row(3, "44", "")])).toBe("prefix_route row 3: route must not be empty");
    expect(err([row(3, "1".repeat(65), "DE")])).toContain("prefix longer than 64 characters");
    // moving a prefix from one row to another in the same delta is fine
    expect(err([row(3, "49", "FR")], [rows[0]!])).toBe("accepted");
    // the full compile's wording for the same duplicate
    expect(() => compilePrefixRouteTables({ prefix_route: [...rows, row(3, "49", "FR")] })).toThrow("prefix_route row 3: prefix '49' already set to a route by row 1");
  });

  it("asks for a full compile when the overlay would grow past its bound", () => {
    const c = compilePrefixRouteTables({ prefix_route: [row(1, "1", "A")] });
    const many = Array.from({ length: 50_001 }, (_, i) => row(i + 2, `2${i}`, "A"));
    expect(applyPrefixRouteChanges(c, { removed: [], added: many }, { prefix_route: many })).toBeNull();
  });
});
