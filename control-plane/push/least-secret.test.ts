import { describe, expect, it } from "vitest";
import type { TableRow } from "../../tables/rows.js";
import { hashOnlyRow, leastSecretSource } from "./least-secret.js";
import type { PushSnapshot, PushSource } from "./push-source.js";

const user = (id: number, pw = `pw${id}`): TableRow => ({ id, username: `u${id}`, domain: "d.test", password: pw, ha1: "", ha1b: "" });

/** A source whose current() is set by hand (snapshots with `changes`, as the fast path makes them). */
function handSource(): PushSource & { cur: PushSnapshot | undefined } {
  const s = {
    cur: undefined as PushSnapshot | undefined,
    kinds: () => ["subscriber"],
    current: () => s.cur,
    onChange: () => () => undefined,
  };
  return s;
}

const snap = (version: string, rows: TableRow[], extra: Partial<PushSnapshot> = {}): PushSnapshot => ({ kind: "subscriber", version, set: { subscriber: rows }, rows: rows.length, compiledAt: "", ...extra });

describe("leastSecretSource on fast-path versions", () => {
  it("derives a change's redacted rows from the base's view: same rows as a full redaction, unchanged rows shared, no raw digest or changes", () => {
    const src = handSource();
    const w = leastSecretSource(src, { passwords: false });
    const rows1 = Array.from({ length: 50 }, (_, i) => user(i + 1));
    src.cur = snap("v1", rows1, { digest: "raw-digest-1" });
    const r1 = w.current("subscriber")!;
    expect(r1.version).toBe("v1.h");
    expect(r1.digest).toBeUndefined();
    // kamctl rm u7, kamctl passwd u9, kamctl add u60 (ids in key order, as the compile's splice keeps them)
    const changed = user(9, "new");
    const added = user(60);
    const rows2 = [...rows1.filter((r) => r.id !== 7 && r.id !== 9), changed, added].sort((a, b) => (a.id as number) - (b.id as number));
    const tables = new Map([["subscriber", { removed: [rows1[6]!, rows1[8]!], added: [changed, added] }]]);
    src.cur = snap("v2", rows2, { digest: "raw-digest-2", changes: { base: "v1", tables } });
    const r2 = w.current("subscriber")!;
    expect(r2.version).toBe("v2.h");
    expect(r2.set.subscriber).toEqual(rows2.map(hashOnlyRow));
    expect(r2.set.subscriber!.every((r) => r.password === "")).toBe(true);
    expect(r2.set.subscriber![0]).toBe(r1.set.subscriber![0]); // shared, not redacted again
    expect(r2.digest).toBeUndefined();
    expect("changes" in r2).toBe(false);
  });

  it("redacts every row when the change's base is not the last view (a skipped version)", () => {
    const src = handSource();
    const w = leastSecretSource(src, { passwords: false });
    const rows1 = [user(1), user(2)];
    src.cur = snap("v1", rows1);
    w.current("subscriber");
    const rows3 = [user(1), user(3)];
    src.cur = snap("v3", rows3, { changes: { base: "v2", tables: new Map([["subscriber", { removed: [], added: [rows3[1]!] }]]) } });
    expect(w.current("subscriber")!.set.subscriber).toEqual(rows3.map(hashOnlyRow));
  });
});
