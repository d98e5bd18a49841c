import { afterEach, describe, expect, it, vi } from "vitest";
import { ALL_METHODS, Binding, allowsMethod, formatQ, parseMethods, parseQ, type BindingInfo } from "./binding.js";
import { ExpiryHeap } from "./expiry-heap.js";
import { LocationTable, nowSeconds, type ChangeKind } from "./location-table.js";
import { MatchCode, matchContact } from "./match-contact.js";
import { RuidGenerator } from "./ruid.js";

const info = (contact: string, over: Partial<BindingInfo> = {}): BindingInfo => ({
  contact,
  expires: nowSeconds() + 3600,
  q: -1,
  callid: "cid-1",
  cseq: 1,
  ...over,
});

describe("q values and methods", () => {
  it("parses RFC 3261 qvalues into thousandths and prints them back", () => {
    expect(parseQ("1")).toBe(1000);
    expect(parseQ("1.000")).toBe(1000);
    expect(parseQ("0.5")).toBe(500);
    expect(parseQ("0.05")).toBe(50);
    expect(parseQ("0")).toBe(0);
    expect(parseQ("0.123")).toBe(123);
    expect(parseQ("1.5")).toBeNull();
    expect(parseQ("0.1234")).toBeNull();
    expect(parseQ("abc")).toBeNull();
    expect(formatQ(500)).toBe("0.5");
    expect(formatQ(1000)).toBe("1");
    expect(formatQ(50)).toBe("0.05");
    expect(formatQ(0)).toBe("0");
    expect(formatQ(-1)).toBe("");
  });

  it("maps Allow lists to Kamailio's method bits", () => {
    const m = parseMethods("INVITE, ACK, BYE, CANCEL, OPTIONS")!;
    expect(m).toBe(1 | 4 | 8 | 2 | 512);
    expect(allowsMethod(m, "INVITE")).toBe(true);
    expect(allowsMethod(m, "MESSAGE")).toBe(false);
    expect(allowsMethod(ALL_METHODS, "MESSAGE")).toBe(true);
    expect(parseMethods("INVITE, bad token")).toBeNull();
  });
});

describe("ExpiryHeap", () => {
  it("keeps the earliest expiry on top through inserts, refreshes and removals", () => {
    const h = new ExpiryHeap();
    const bs = [50, 10, 40, 30, 20].map((e, i) => new Binding("a", `r${i}`, info(`sip:a@h${i}`, { expires: e }), 0));
    for (const b of bs) h.upsert(b);
    expect(h.peek()!.expires).toBe(10);
    bs[1]!.expires = 60; // refresh the earliest
    h.upsert(bs[1]!);
    expect(h.peek()!.expires).toBe(20);
    h.remove(bs[4]!); // expires 20
    expect(h.peek()!.expires).toBe(30);
    const out: number[] = [];
    for (let b = h.popExpired(100); b; b = h.popExpired(100)) out.push(b.expires);
    expect(out).toEqual([30, 40, 50, 60]);
    expect(h.size).toBe(0);
    for (const b of bs) expect(b.heapIndex).toBe(-1);
  });

  it("leaves permanent bindings out and stops at the first unexpired one", () => {
    const h = new ExpiryHeap();
    const perm = new Binding("a", "p", info("sip:a@p", { expires: 0 }), 0);
    h.upsert(perm);
    expect(h.size).toBe(0);
    const b = new Binding("a", "x", info("sip:a@x", { expires: 100 }), 0);
    h.upsert(b);
    expect(h.popExpired(99)).toBeUndefined();
    expect(h.popExpired(100)).toBe(b);
  });

  it("stays ordered under a random workload", () => {
    const h = new ExpiryHeap();
    const live = new Set<Binding>();
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const op = rnd();
      if (op < 0.5 || live.size === 0) {
        const b = new Binding("a", `r${i}`, info("sip:x", { expires: 1 + Math.floor(rnd() * 1000) }), 0);
        h.upsert(b);
        live.add(b);
      } else if (op < 0.8) {
        const b = [...live][Math.floor(rnd() * live.size)]!;
        b.expires = 1 + Math.floor(rnd() * 1000);
        h.upsert(b);
      } else {
        const b = [...live][Math.floor(rnd() * live.size)]!;
        h.remove(b);
        live.delete(b);
      }
    }
    const popped: number[] = [];
    for (let b = h.popExpired(2000); b; b = h.popExpired(2000)) popped.push(b.expires);
    expect(popped.length).toBe(live.size);
    expect([...popped].sort((a, b) => a - b)).toEqual(popped);
  });
});

describe("LocationTable", () => {
  afterEach(() => vi.useRealTimers());

  const table = () => new LocationTable("location", new RuidGenerator(), false);

  it("orders an AoR's bindings by q, older first among equals, and counts users/contacts", () => {
    const t = table();
    const o = { source: "test" };
    t.insert("alice", info("sip:alice@1", { q: 500 }), o);
    t.insert("alice", info("sip:alice@2", { q: 1000 }), o);
    t.insert("alice", info("sip:alice@3", { q: 500 }), o);
    t.insert("bob", info("sip:bob@1"), o);
    expect(t.valid("alice").map((b) => b.contact)).toEqual(["sip:alice@2", "sip:alice@1", "sip:alice@3"]);
    expect(t.users).toBe(2);
    expect(t.contactCount).toBe(4);
    const b1 = t.get("alice").find((b) => b.contact === "sip:alice@1")!;
    t.update(b1, info("sip:alice@1", { q: 1000, cseq: 2 }), o);
    expect(t.valid("alice").map((b) => b.contact)).toEqual(["sip:alice@2", "sip:alice@1", "sip:alice@3"]);
    t.removeAor("alice", o);
    expect(t.users).toBe(1);
    expect(t.contactCount).toBe(1);
    expect(t.has("alice")).toBe(false);
  });

  it("gives every binding a distinct ruid and finds bindings by ruid", () => {
    const t = table();
    const a = t.insert("a", info("sip:a@1"), { source: "t" });
    const b = t.insert("a", info("sip:a@2"), { source: "t" });
    expect(a.ruid).not.toBe(b.ruid);
    expect(a.ruid).toMatch(/^uloc-[0-9a-f]+-[0-9a-f]{6}-\d+$/);
    expect(t.byRuid("a", b.ruid)).toBe(b);
    expect(t.findRuid(a.ruid)).toBe(a);
  });

  it("tells the listener about every change with its kind", () => {
    const t = table();
    const seen: Array<[ChangeKind, string]> = [];
    t.listener = (k, b) => seen.push([k, b.contact]);
    const o = { source: "t" };
    const b = t.insert("a", info("sip:a@1"), o);
    t.update(b, info("sip:a@1", { cseq: 2 }), o);
    t.remove(b, o);
    t.insert("a", info("sip:a@2", { expires: 5 }), o);
    t.expire(10);
    expect(seen).toEqual([
      ["added", "sip:a@1"],
      ["refreshed", "sip:a@1"],
      ["removed", "sip:a@1"],
      ["added", "sip:a@2"],
      ["expired", "sip:a@2"],
    ]);
    expect(t.expiredCount).toBe(1);
  });

  it("removes a binding on time with its own timer, and keeps permanent ones", () => {
    vi.useFakeTimers({ now: new Date("2026-01-01T00:00:00Z") });
    const t = new LocationTable("location", new RuidGenerator(), true);
    const expired: string[] = [];
    t.listener = (k, b) => {
      if (k === "expired") expired.push(b.contact);
    };
    const now = nowSeconds();
    t.insert("a", info("sip:a@short", { expires: now + 2 }), { source: "t" });
    t.insert("a", info("sip:a@long", { expires: now + 10 }), { source: "t" });
    t.insert("a", info("sip:a@perm", { expires: 0 }), { source: "t" });
    vi.advanceTimersByTime(1999);
    expect(t.contactCount).toBe(3);
    expect(t.valid("a").length).toBe(3);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(["sip:a@short"]);
    expect(t.valid("a").map((b) => b.contact)).toEqual(["sip:a@long", "sip:a@perm"]);
    vi.advanceTimersByTime(8000);
    expect(expired).toEqual(["sip:a@short", "sip:a@long"]);
    expect(t.valid("a").map((b) => b.contact)).toEqual(["sip:a@perm"]);
    t.stop();
  });

  it("re-arms the timer when a refresh moves the next expiry", () => {
    vi.useFakeTimers({ now: new Date("2026-01-01T00:00:00Z") });
    const t = new LocationTable("location", new RuidGenerator(), true);
    const now = nowSeconds();
    const b = t.insert("a", info("sip:a@1", { expires: now + 5 }), { source: "t" });
    vi.advanceTimersByTime(3000);
    t.update(b, info("sip:a@1", { expires: nowSeconds() + 5, cseq: 2 }), { source: "t" });
    vi.advanceTimersByTime(3000);
    expect(t.contactCount).toBe(1);
    vi.advanceTimersByTime(2000);
    expect(t.contactCount).toBe(0);
    t.stop();
  });
});

describe("matchContact (Kamailio get_ucontact_by_instance)", () => {
  const b = (over: Partial<BindingInfo>, lastModified = 100) => {
    const x = new Binding("a", "r", info("sip:a@1", over), lastModified);
    return x;
  };
  const q = { contact: "sip:a@1", callid: "cid-1", path: null, cseq: 5, instance: null, regId: 0 };

  it("matches by contact URI and checks Call-ID/CSeq order", () => {
    const bs = [b({ cseq: 3 })];
    expect(matchContact(bs, q, 0, 20, 200).code).toBe(MatchCode.FOUND);
    expect(matchContact(bs, { ...q, cseq: 2 }, 0, 20, 200).code).toBe(MatchCode.INVALID_CSEQ);
    // same CSeq: a retransmission within cseq_delay, out of order later
    expect(matchContact(bs, { ...q, cseq: 3 }, 0, 20, 110).code).toBe(MatchCode.SKIP);
    expect(matchContact(bs, { ...q, cseq: 3 }, 0, 20, 200).code).toBe(MatchCode.INVALID_CSEQ);
    // another Call-ID: any CSeq refreshes
    expect(matchContact(bs, { ...q, callid: "other", cseq: 1 }, 0, 20, 200).code).toBe(MatchCode.FOUND);
    expect(matchContact(bs, { ...q, contact: "sip:a@2" }, 0, 20, 200).code).toBe(MatchCode.NOT_FOUND);
  });

  it("matches by +sip.instance and reg-id when the contact has an instance", () => {
    const bs = [b({ instance: "<urn:uuid:1>", regId: 1, contact: "sip:a@old" })];
    const iq = { ...q, contact: "sip:a@new", instance: '<urn:uuid:1>', regId: 1 };
    expect(matchContact(bs, iq, 0, 20, 200).binding).toBe(bs[0]);
    expect(matchContact(bs, { ...iq, instance: "urn:uuid:1" }, 0, 20, 200).code).toBe(MatchCode.FOUND);
    expect(matchContact(bs, { ...iq, regId: 2 }, 0, 20, 200).code).toBe(MatchCode.NOT_FOUND);
  });

  it("honours matching_mode 1 (contact + Call-ID) and 3 (Call-ID only)", () => {
    const bs = [b({ cseq: 3 })];
    expect(matchContact(bs, { ...q, callid: "other" }, 1, 20, 200).code).toBe(MatchCode.NOT_FOUND);
    expect(matchContact(bs, { ...q, contact: "sip:a@9" }, 3, 20, 200).code).toBe(MatchCode.FOUND);
  });
});
