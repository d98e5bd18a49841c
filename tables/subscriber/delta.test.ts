import { describe, expect, it } from "vitest";
import { seededRandom } from "../../lib/random/seeded.js";
import { TableError, type TableRow } from "../rows.js";
import { applySubscriberChanges, SUBSCRIBER_OVERLAY_MAX } from "./delta.js";
import { compileSubscriberRows, type SubscriberTable } from "./table.js";

const H32 = "0123456789abcdef0123456789abcdef";
const USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "1001", "1002"];
const DOMAINS = ["example.com", "Example.com ", "other.net", "", "sip.test"];

/** Everything a lookup can see: every key's subscriber, every username's winner, the counts. */
function view(t: SubscriberTable): unknown {
  const byKey = Object.fromEntries([...t.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const byUser = Object.fromEntries([...USERS, "nobody"].map((u) => [u, t.find(u, null)]));
  const counts = Object.fromEntries(USERS.map((u) => [u, t.userRows(u)]));
  const finds = USERS.flatMap((u) => ["EXAMPLE.com", "other.net", "", "sip.test", "x"].map((d) => t.find(u, d)?.id ?? null));
  return { byKey, byUser, counts, finds, size: t.size, withoutPassword: t.withoutPassword, rows: t.rows.length };
}

describe("applySubscriberChanges (overlay)", () => {
  it("equals the full compile after many random deltas: kamctl add / rm / passwd, users in several domains (property, replayable seeds)", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = seededRandom(seed);
      const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
      let id = 0;
      const randomRow = (rid: number): TableRow => {
        const pw = rnd() < 0.5;
        return { id: rid, username: pick(USERS), domain: pick(DOMAINS), password: pw ? `pw${Math.floor(rnd() * 100)}` : "", ha1: pw && rnd() < 0.5 ? "" : H32, ha1b: rnd() < 0.3 ? null : H32 };
      };
      const keyOf = (r: TableRow) => `${String(r.username)}\u0000${String(r.domain).trim().toLowerCase()}`;
      let rows: TableRow[] = [];
      while (rows.length < 20) {
        const r = randomRow(++id);
        if (!rows.some((x) => keyOf(x) === keyOf(r))) rows.push(r);
      }
      let c = compileSubscriberRows(rows);
      for (let step = 0; step < 15; step++) {
        const out = [...rows];
        const removed: TableRow[] = [];
        const added: TableRow[] = [];
        const n = 1 + Math.floor(rnd() * 4);
        for (let k = 0; k < n; k++) {
          const op = rnd();
          const at = Math.floor(rnd() * out.length);
          const old = out[at];
          if (op < 0.3 && old && !added.includes(old)) {
            removed.push(old);
            out.splice(at, 1);
            continue;
          }
          const replace = op < 0.6 && old !== undefined && !added.includes(old);
          const nr = replace ? randomRow(old.id as number) : randomRow(++id);
          if (out.some((x) => (!replace || x !== old) && keyOf(x) === keyOf(nr))) continue;
          if (replace) {
            removed.push(old);
            out[at] = nr;
          } else out.splice(Math.floor(rnd() * (out.length + 1)), 0, nr);
          added.push(nr);
        }
        const next = applySubscriberChanges(c, { removed, added }, { subscriber: out });
        expect(next, `seed ${seed} step ${step}`).not.toBeNull();
        expect(view(next!), `seed ${seed} step ${step}`).toEqual(view(compileSubscriberRows(out)));
        rows = out;
        c = next!;
      }
      expect(c.overlay, `seed ${seed}`).toBeDefined();
    }
  });

  it("leaves the table it starts from untouched", () => {
    const rows = [
      { id: 1, username: "alice", domain: "a.com", password: "x" },
      { id: 2, username: "alice", domain: "b.com", ha1: H32 },
    ];
    const c = compileSubscriberRows(rows);
    const before = view(c);
    const add = { id: 3, username: "bob", domain: "a.com", password: "y" };
    const d = applySubscriberChanges(c, { removed: [rows[0]!], added: [add] }, { subscriber: [rows[1]!, add] })!;
    expect(view(c)).toEqual(before);
    expect(d.find("alice", null)?.id).toBe(2); // the next alice in table order
    expect(d.find("alice", "A.com")).toBeNull();
    expect(d.find("bob", "a.com")?.password).toBe("y");
    expect([d.size, d.withoutPassword]).toEqual([2, 1]);
  });

  it("refuses a bad row with the full compile's table, key and reason (and the first bad one in table order)", () => {
    const rows: TableRow[] = [
      { id: 1, username: "alice", domain: "a.com", password: "x" },
      { id: 5, username: "bob", domain: "a.com", password: "y" },
    ];
    const c = compileSubscriberRows(rows);
    const cases: Array<{ removed?: TableRow[]; added: TableRow[]; order?: "first" }> = [
      { added: [{ id: 7, username: "", domain: "a.com", password: "p" }] },
      { added: [{ id: 7, username: "a b", domain: "a.com", password: "p" }] },
      { added: [{ id: 7, username: "carol", domain: "a.com", password: "", ha1: "", ha1b: "" }] },
      { added: [{ id: 7, username: "carol", domain: "a.com", ha1: "xyz" }] },
      { added: [{ id: 7, username: "carol", domain: "a.com", password: { x: 1 } }] },
      { added: [{ id: 7, username: "bob", domain: "A.COM", password: "z" }] }, // duplicate: row 7 is the later one
      { added: [{ id: 0, username: "bob", domain: "a.com", password: "z" }], order: "first" }, // duplicate: the existing row 5 is the later one
      { added: [{ id: 8, username: "dave", domain: "a.com", password: "p" }, { id: 9, username: "", domain: "a.com", password: "p" }, { id: 3, username: "e:f", domain: "a.com", password: "p" }] },
    ];
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
    for (const k of cases) {
      const out = k.order === "first" ? [...k.added, ...rows] : [...rows, ...k.added].sort((a, b) => (a.id as number) - (b.id as number));
      const full = reason(() => compileSubscriberRows(out));
      expect(full).not.toBe("accepted");
      expect(reason(() => applySubscriberChanges(c, { removed: k.removed ?? [], added: k.added }, { subscriber: out }))).toBe(full);
    }
    expect(reason(() => compileSubscriberRows([...rows, { id: 0, username: "bob", domain: "a.com", password: "z" }]))).toMatch(/subscriber 0 .*duplicate subscriber bob@a\.com/);
  });

  it("declines (null) an overlay past the limit", () => {
    const rows = [{ id: 1, username: "alice", domain: "a.com", password: "x" }];
    const c = compileSubscriberRows(rows);
    const many = Array.from({ length: SUBSCRIBER_OVERLAY_MAX / 2 + 1 }, (_, i) => ({ id: 10 + i, username: `u${i}`, domain: "a.com", password: "x" }));
    expect(applySubscriberChanges(c, { removed: [], added: many }, { subscriber: [...rows, ...many] })).toBeNull();
  });
});
