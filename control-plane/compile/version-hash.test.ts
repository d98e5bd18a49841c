import { describe, expect, it } from "vitest";
import type { TableRow } from "../../tables/rows.js";
import { RowDigest } from "../../tables/wire/row-digest.js";
import { kindPlan } from "../../tables/wire/table-kinds.js";
import { spliceRows } from "./splice.js";
import { digestVersion, versionOfSet } from "./version-hash.js";

describe("versions from the RowDigest", () => {
  it("a spliced set's version from its base's digest and the changed rows equals the version of the whole set", () => {
    const rows: TableRow[] = Array.from({ length: 2000 }, (_, i) => ({ prefix: `49${String(i).padStart(5, "0")}`, route: "R1", comment: "" }));
    const base = versionOfSet("prefix_route", ["prefix_route"], { prefix_route: rows });
    expect(base.digest).toMatch(/^[0-9a-f]{16}$/);
    const fresh = [{ prefix: "4900007", route: "R2", comment: "moved" }, { prefix: "4999999", route: "R3", comment: "" }];
    const removed: TableRow[] = [];
    const next = spliceRows("prefix_route", rows, new Set(["4900007", "4900010", "4999999"]), fresh, removed);
    expect(removed.map((r) => r.prefix)).toEqual(["4900007", "4900010"]);
    const t = kindPlan("prefix_route")!.tables[0]!;
    const d = RowDigest.from(base.digest!);
    for (const r of removed) d.addRow(t, r, -1);
    for (const r of fresh) d.addRow(t, r, 1);
    const whole = versionOfSet("prefix_route", ["prefix_route"], { prefix_route: next });
    expect(digestVersion("prefix_route", ["prefix_route"], { prefix_route: next }, d.toString())).toBe(whole.version);
    expect(whole.version).not.toBe(base.version);
    // same rows, same version; a kind without a push message falls back to the text hash
    expect(versionOfSet("prefix_route", ["prefix_route"], { prefix_route: rows.slice() }).version).toBe(base.version);
    expect(versionOfSet("no_such_kind", ["t"], { t: [{ id: 1 }] })).toEqual({ version: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });
});
