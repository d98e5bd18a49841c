import { describe, expect, it } from "vitest";
import { DialogTable } from "./dialog-table.js";
import type { Dialog } from "./dialog.js";

function dlg(t: DialogTable, callId: string, ftag: string, ttag = ""): Dialog {
  return { hEntry: t.entryOf(callId), hId: t.newId(), callId, caller: { tag: ftag }, callee: { tag: ttag } } as unknown as Dialog;
}

describe("DialogTable", () => {
  it("hashes Call-IDs into the table size and hands out increasing ids", () => {
    const t = new DialogTable(16);
    for (const c of ["a", "b", "call-1@host", "x".repeat(300)]) {
      const e = t.entryOf(c);
      expect(e).toBeGreaterThanOrEqual(0);
      expect(e).toBeLessThan(16);
      expect(t.entryOf(c)).toBe(e);
    }
    const a = t.newId();
    expect(t.newId()).toBe(a + 1);
  });

  it("finds dialogs by id and by Call-ID + tags in both directions", () => {
    const t = new DialogTable(16);
    const d1 = dlg(t, "c", "A", "B");
    const d2 = dlg(t, "c", "C");
    t.add(d1);
    t.add(d2);
    expect(t.count).toBe(2);
    expect(t.lookup(d1.hEntry, d1.hId)).toBe(d1);
    expect(t.matchTags("c", "A", "B")).toBe(d1);
    expect(t.matchTags("c", "B", "A")).toBe(d1);
    expect(t.matchTags("c", "C", "")).toBe(d2);
    expect(t.matchTags("c", "", "C")).toBeUndefined(); // an empty callee tag never matches as From
    expect(t.byCall("c")).toEqual([d1, d2]);
    t.remove(d1);
    expect(t.lookup(d1.hEntry, d1.hId)).toBeUndefined();
    expect(t.byCall("c")).toEqual([d2]);
    t.remove(d2);
    expect(t.byCall("c")).toEqual([]);
    expect(t.count).toBe(0);
  });

  it("with workers, each worker's h_ids name it (h_id mod count), also across the 32-bit wrap", () => {
    for (const index of [0, 1, 2]) {
      const t = new DialogTable(16, index, 3);
      for (let i = 0; i < 5; i++) expect(t.ownerOf(t.newId())).toBe(index);
      (t as unknown as { nextId: number }).nextId = 0xffffffff - ((0xffffffff - index) % 3); // the last id of this worker
      const last = t.newId();
      const wrapped = t.newId();
      expect([last % 3, wrapped % 3]).toEqual([index, index]);
      expect(wrapped).toBeGreaterThan(0);
      expect(wrapped).toBeLessThan(4);
    }
  });
});
