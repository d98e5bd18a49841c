import { describe, expect, it } from "vitest";
import { fromBinary } from "@bufbuild/protobuf";
import { StreamTablesResponseSchema } from "../../gen/olelo/control/v1/control_pb.js";
import type { TableRow, TableSet } from "../../tables/rows.js";
import { applyKindDelta, DeltaMismatchError } from "../../tables/wire/apply-delta.js";
import { ChunkAssembler, type CompleteVersion } from "../../tables/wire/chunk-assembler.js";
import { dispatcherRows, lcrGwRows, prefixRouteRows } from "../../tables/testing/sample-rows.js";
import { encodeKindDelta, type EncodedKindDelta } from "../../tables/wire/delta-chunks.js";
import { encodeResponseFrame, parseResponseFrame } from "../../tables/wire/response-frame.js";
import { digestTableSet, RowDigest } from "../../tables/wire/row-digest.js";
import { encodeTableChunks } from "../../tables/wire/table-chunks.js";
import { KIND_ORDER, kindPlan } from "../../tables/wire/table-kinds.js";
import { TABLES } from "../db/catalog.js";
import { keyColumnOf } from "../compile/diff.js";
import { computeKindDelta } from "./compute-delta.js";
import type { PushSnapshot } from "./push-source.js";
import { seededRandom as rng } from "../../lib/random/seeded.js";

const snap = (kind: string, version: string, set: TableSet): PushSnapshot => ({
  kind,
  version,
  set,
  rows: Object.values(set).reduce((n, r) => n + r.length, 0),
  compiledAt: "2026-01-01T00:00:00.000Z",
});

/** What a data plane holds after a full push of `set`: decoded rows and their digest. */
function receiveFull(kind: string, version: string, set: TableSet, chunkBytes = 4096): CompleteVersion {
  const enc = encodeTableChunks(kind, set, { chunkBytes });
  const asm = new ChunkAssembler({ keepFrames: false, digest: true });
  let r: ReturnType<ChunkAssembler["push"]> = { state: "partial" };
  for (let i = 0; i < enc.chunks.length; i++) {
    r = asm.push(parseResponseFrame(encodeResponseFrame({ kind, version, nonce: "n", chunkIndex: i, chunkCount: enc.chunks.length, totalRows: enc.totalRows, compiledAt: "" }, enc.chunks[i]!)));
  }
  if (r.state !== "complete") throw new Error(`full version did not assemble: ${JSON.stringify(r)}`);
  return r;
}

function deltaFrames(kind: string, version: string, enc: EncodedKindDelta): Buffer[] {
  return enc.chunks.map((c, i) =>
    encodeResponseFrame({ kind, version, nonce: "d", chunkIndex: i, chunkCount: enc.chunks.length, totalRows: enc.totalRows, compiledAt: "" }, c.rows, c.delta),
  );
}

function receiveDelta(frames: Buffer[]): CompleteVersion {
  const asm = new ChunkAssembler({ keepFrames: false, digest: true });
  let r: ReturnType<ChunkAssembler["push"]> = { state: "partial" };
  for (const f of frames) r = asm.push(parseResponseFrame(f));
  if (r.state !== "complete") throw new Error(`delta did not assemble: ${JSON.stringify(r)}`);
  return r;
}


/** Updates, inserts (at random places), removals and one move, on a copy of `rows`. */
function mutate(rows: TableRow[], rnd: () => number, newRow: (i: number) => TableRow, edit: (r: TableRow) => TableRow): TableRow[] {
  const out = rows.slice();
  for (let i = 0; i < 5; i++) {
    const j = Math.floor(rnd() * out.length);
    out[j] = edit(out[j]!);
  }
  for (let i = 0; i < 3; i++) out.splice(Math.floor(rnd() * out.length), 1);
  for (let i = 0; i < 4; i++) out.splice(Math.floor(rnd() * (out.length + 1)), 0, newRow(i));
  // An unchanged row moved elsewhere: kept rows must stay in order, so it is sent again.
  const [moved] = out.splice(2, 1);
  out.splice(out.length - 3, 0, moved!);
  return out;
}

/** Runs base → next through compute, encode, chunks, assemble and apply; returns what the data plane built. */
function roundTrip(kind: string, base: TableSet, next: TableSet, chunkBytes = 512) {
  const dp = receiveFull(kind, "v1", base);
  const computed = computeKindDelta(snap(kind, "v1", base), snap(kind, "v2", next), digestTableSet(kind, base), { maxChangedRows: 1000 });
  if (!computed.ok) throw new Error(computed.reason);
  const enc = encodeKindDelta(computed.delta, { chunkBytes });
  const got = receiveDelta(deltaFrames(kind, "v2", enc));
  const applied = applyKindDelta(kind, dp.set, dp.digest!, got.set, got.delta!);
  return { dp, computed, enc, got, applied };
}

describe("delta: key columns", () => {
  it("the control plane's key (catalog primary key, as diff.ts) is the first column of every pushed row message", () => {
    for (const kind of KIND_ORDER) {
      for (const t of kindPlan(kind)!.tables) {
        expect(keyColumnOf(t.name), t.name).toBe(TABLES.get(t.name)!.pk);
        expect(t.codec.columns[0], t.name).toBe(keyColumnOf(t.name));
      }
    }
    expect(keyColumnOf("prefix_route")).toBe("prefix");
    expect(keyColumnOf("dr_gateways")).toBe("gwid");
    expect(keyColumnOf("dr_rules")).toBe("ruleid");
  });
});

describe("delta: row digest", () => {
  it("is the same computed from decoded wire bytes, from rows, in any order, and updates per row", () => {
    const set: TableSet = { lcr_gw: lcrGwRows(300), lcr_rule: [], lcr_rule_target: [{ id: 1, lcr_id: 1, rule_id: 1, gw_id: 2, priority: 1, weight: 2 }] };
    const full = digestTableSet("lcr", set);
    expect(full).toMatch(/^[0-9a-f]{16}$/);
    expect(receiveFull("lcr", "v", set).digest).toBe(full);
    expect(digestTableSet("lcr", { ...set, lcr_gw: set.lcr_gw!.slice().reverse() })).toBe(full);
    // DB-typed values (numeric strings) hash like the numbers they encode to.
    expect(digestTableSet("lcr", { ...set, lcr_gw: set.lcr_gw!.map((r) => ({ ...r, port: String(r.port) })) })).toBe(full);
    const plan = kindPlan("lcr")!;
    const d = RowDigest.from(full);
    d.addRow(plan.tables[0]!, set.lcr_gw![7]!, -1);
    const changed = { ...set.lcr_gw![7]!, port: 5080 };
    d.addRow(plan.tables[0]!, changed, 1);
    const next = { ...set, lcr_gw: set.lcr_gw!.map((r, i) => (i === 7 ? changed : r)) };
    expect(d.toString()).toBe(digestTableSet("lcr", next));
    expect(d.toString()).not.toBe(full);
    // A row moved to another table of the kind changes the digest.
    const moved = { lcr_gw: [], lcr_rule: [], lcr_rule_target: [{ id: 5, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 0, weight: 1 }] };
    const other = { lcr_gw: [], lcr_rule: [{ id: 5, lcr_id: 1, prefix: null, from_uri: null, request_uri: null, mt_tvalue: null, stopper: 0, enabled: 1 }], lcr_rule_target: [] };
    expect(digestTableSet("lcr", moved)).not.toBe(digestTableSet("lcr", other));
  });
});

describe("delta: compute → encode → chunks → apply", () => {
  it("prefix_route (text keys): updates, inserts, removals and a move give the control plane's rows in its order", () => {
    const rnd = rng(7);
    const base = { prefix_route: prefixRouteRows(2000) };
    const next = { prefix_route: mutate(base.prefix_route, rnd, (i) => ({ prefix: `3${i}99`, route: "new", comment: "" }), (r) => ({ ...r, route: "changed" })) };
    const { computed, enc, got, applied } = roundTrip("prefix_route", base, next);
    expect(computed.ok && computed.changedRows).toBeLessThanOrEqual(5 + 3 + 4 + 1);
    expect(enc.chunks.length).toBeGreaterThanOrEqual(1);
    expect(got.delta!.baseVersion).toBe("v1");
    expect(got.delta!.tables.get("prefix_route")!.removed).toHaveLength(3);
    expect(applied.set).toEqual(receiveFull("prefix_route", "v2", next).set);
    expect(applied.digest).toBe(digestTableSet("prefix_route", next));
    expect(applied.digest).toBe(got.delta!.resultDigest);
    // Unchanged rows are shared with the base (not copied).
    const dpBase = receiveFull("prefix_route", "v1", base);
    const again = applyKindDelta("prefix_route", dpBase.set, dpBase.digest!, got.set, got.delta!);
    const keep = dpBase.set.prefix_route!.find((r) => r.prefix === next.prefix_route.at(-1)!.prefix);
    expect(again.set.prefix_route!.includes(keep!)).toBe(true);
  });

  it("lcr (three tables, integer keys, DB-typed values), chunked small: many chunks, key-only chunks for removals", () => {
    const rnd = rng(11);
    const gw = lcrGwRows(600);
    const base: TableSet = {
      lcr_gw: gw,
      lcr_rule: Array.from({ length: 50 }, (_, i) => ({ id: i + 1, lcr_id: 1, prefix: `4${i}`, from_uri: null, request_uri: null, mt_tvalue: null, stopper: 0, enabled: 1 })),
      lcr_rule_target: Array.from({ length: 50 }, (_, i) => ({ id: i + 1, lcr_id: 1, rule_id: i + 1, gw_id: (i % 600) + 1, priority: 1, weight: 1 })),
    };
    const next: TableSet = {
      // Removals: 120 gateways go (more keys than fit in one tiny chunk).
      lcr_gw: mutate(gw, rnd, (i) => ({ ...gw[0]!, id: 10_000 + i, gw_name: `new${i}` }), (r) => ({ ...r, strip: 1 })).filter((r) => (r.id as number) % 5 !== 0),
      lcr_rule: base.lcr_rule!.map((r) => (r.id === 3 ? { ...r, prefix: "499" } : r)),
      lcr_rule_target: base.lcr_rule_target!.map((r) => ({ ...r, weight: r.id === 9 ? "7" : r.weight })), // "7": mysql2 DECIMAL text
    };
    const { enc, got, applied } = roundTrip("lcr", base, next, 256);
    expect(enc.chunks.length).toBeGreaterThan(3);
    expect(enc.totalRemoved).toBeGreaterThan(100);
    expect(got.delta!.tables.get("lcr_gw")!.keyColumn).toBe("id");
    expect(applied.set).toEqual(receiveFull("lcr", "v2", next).set);
    expect(applied.digest).toBe(got.delta!.resultDigest);
    // The delta frames are plain protobuf: protobuf-es reads the delta field.
    const f = fromBinary(StreamTablesResponseSchema, deltaFrames("lcr", "v2", enc)[0]!);
    expect(f.delta?.baseVersion).toBe("v1");
    expect(f.delta?.tables.map((t) => t.table)).toEqual(["lcr_gw", "lcr_rule", "lcr_rule_target"]);
  });

  it("random edits anywhere (first/last rows, swaps, inserts, removals) always rebuild the new version exactly", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = rng(seed);
      const rows = dispatcherRows(1 + Math.floor(rnd() * 40));
      const next = rows.slice();
      let nextId = 1000;
      for (let n = Math.floor(rnd() * 8); n > 0; n--) {
        const op = Math.floor(rnd() * 5);
        const at = Math.floor(rnd() * next.length);
        if (op === 0 && next.length) next[at] = { ...next[at]!, priority: 9 };
        else if (op === 1) next.splice(Math.floor(rnd() * (next.length + 1)), 0, { ...rows[0]!, id: nextId++, destination: `sip:n${nextId}` });
        else if (op === 2 && next.length) next.splice(at, 1);
        else if (op === 3 && next.length > 1) [next[0], next[next.length - 1]] = [next[next.length - 1]!, next[0]!];
        else if (op === 4 && next.length) next.push(...next.splice(at, 1));
      }
      const { applied } = roundTrip("dispatcher", { dispatcher: rows }, { dispatcher: next }, 200);
      expect(applied.set, `seed ${seed}`).toEqual(receiveFull("dispatcher", "v2", { dispatcher: next }).set);
      expect(applied.digest, `seed ${seed}`).toBe(digestTableSet("dispatcher", { dispatcher: next }));
    }
  });

  it("an unchanged table is passed through as the base's array; an empty delta keeps every row", () => {
    const base: TableSet = { dispatcher: dispatcherRows(40) };
    const { computed, applied, dp } = roundTrip("dispatcher", base, { dispatcher: base.dispatcher!.slice() });
    expect(computed.ok && computed.changedRows).toBe(0);
    expect(applied.set.dispatcher).toBe(dp.set.dispatcher);
  });

  it("refuses deltas that cannot be keyed or are too large", () => {
    const rows = dispatcherRows(100);
    const d = digestTableSet("dispatcher", { dispatcher: rows });
    const base = snap("dispatcher", "v1", { dispatcher: rows });
    const tooMany = computeKindDelta(base, snap("dispatcher", "v2", { dispatcher: rows.map((r) => ({ ...r, flags: 1 })) }), d, { maxChangedRows: 24 });
    expect(tooMany).toEqual({ ok: false, reason: "more than 24 rows changed" });
    const dup = computeKindDelta(base, snap("dispatcher", "v2", { dispatcher: [...rows.slice(1, 99), { ...rows[5]!, destination: "sip:x" }] }), d, { maxChangedRows: 50 });
    expect(dup).toEqual({ ok: false, reason: "dispatcher has id 6 twice" });
    const noKey = computeKindDelta(base, snap("dispatcher", "v2", { dispatcher: [...rows, { setid: 1, destination: "sip:y" }] }), d, { maxChangedRows: 50 });
    expect(noKey).toEqual({ ok: false, reason: "dispatcher row 101 has no id" });
  });
});

describe("delta: the data plane notices a delta that does not fit its rows", () => {
  const base = { prefix_route: prefixRouteRows(500) };
  const next = { prefix_route: base.prefix_route.filter((_, i) => i !== 10).map((r, i) => (i === 20 ? { ...r, route: "x" } : r)) };

  it("a base that differs in one value: the result digest differs from the expected one", () => {
    const { got } = roundTrip("prefix_route", base, next);
    const wrong = receiveFull("prefix_route", "v1", { prefix_route: base.prefix_route.map((r, i) => (i === 300 ? { ...r, comment: "drift" } : r)) });
    const r = applyKindDelta("prefix_route", wrong.set, wrong.digest!, got.set, got.delta!);
    expect(r.rows).toBe(499);
    expect(r.digest).not.toBe(got.delta!.resultDigest);
  });

  it("a duplicate key the control plane does not look for (aligned rows) is refused by the data plane", () => {
    const rows = dispatcherRows(100);
    const next = { dispatcher: [...rows, { ...rows[0]!, destination: "sip:x" }] };
    const { got, dp } = (() => {
      const dp = receiveFull("dispatcher", "v1", { dispatcher: rows });
      const c = computeKindDelta(snap("dispatcher", "v1", { dispatcher: rows }), snap("dispatcher", "v2", next), dp.digest!, { maxChangedRows: 50 });
      if (!c.ok) throw new Error(c.reason);
      // the key walk (a delta without base positions, from an older control plane) looks every base row up
      const keysOnly = { ...c.delta, tables: c.delta.tables.map(({ basePositions: _b, ...t }) => t) };
      return { got: receiveDelta(deltaFrames("dispatcher", "v2", encodeKindDelta(keysOnly))), dp };
    })();
    expect(got.delta!.tables.get("dispatcher")!.basePositions).toBeUndefined();
    expect(() => applyKindDelta("dispatcher", dp.set, dp.digest!, got.set, got.delta!)).toThrow(DeltaMismatchError);
  });

  it("base positions: the result equals the key walk's; positions that lie are refused or change the digest", () => {
    const rnd = rng(5);
    const big = { prefix_route: prefixRouteRows(3000) };
    const next2 = { prefix_route: mutate(big.prefix_route, rnd, (i) => ({ prefix: `4${i}77`, route: "new", comment: "" }), (r) => ({ ...r, route: "changed" })) };
    const { got, dp, applied, computed } = roundTrip("prefix_route", big, next2, 256);
    const pos = got.delta!.tables.get("prefix_route")!.basePositions!;
    // 5 updated + 3 removed + 1 moved row leave their base positions (an update may hit a removed row)
    expect(pos.length).toBeGreaterThanOrEqual(7);
    expect(pos).toEqual(computed.ok ? computed.delta.tables[0]!.basePositions : []);
    expect([...pos].sort((a, b) => a - b)).toEqual(pos);
    expect(applied.set).toEqual(receiveFull("prefix_route", "v2", next2).set);
    const walk = applyKindDelta("prefix_route", dp.set, dp.digest!, got.set, { ...got.delta!, tables: new Map([...got.delta!.tables].map(([k, t]) => [k, { ...t, basePositions: undefined }])) });
    expect(walk.set).toEqual(applied.set);
    expect(walk.digest).toBe(applied.digest);
    const lie = (p: number[]) => applyKindDelta("prefix_route", dp.set, dp.digest!, got.set, { ...got.delta!, tables: new Map([...got.delta!.tables].map(([k, t]) => [k, { ...t, basePositions: p }])) });
    // a position shifted by one names a row that is neither removed nor upserted
    expect(() => lie(pos.map((p, i) => (i === 0 ? p + 1 : p)))).toThrow(DeltaMismatchError);
    expect(() => lie(pos.slice(1))).toThrow(/do not make/);
    expect(() => lie([...pos].reverse())).toThrow(/out of order/);
  });

  it("a removed key missing from the base, or a base of another size, throws DeltaMismatchError", () => {
    const { got } = roundTrip("prefix_route", base, next);
    const missing = receiveFull("prefix_route", "v1", { prefix_route: base.prefix_route.filter((_, i) => i !== 10) });
    expect(() => applyKindDelta("prefix_route", missing.set, missing.digest!, got.set, got.delta!)).toThrow(DeltaMismatchError);
    const longer = receiveFull("prefix_route", "v1", { prefix_route: [...base.prefix_route, { prefix: "1", route: "r", comment: "" }] });
    expect(() => applyKindDelta("prefix_route", longer.set, longer.digest!, got.set, got.delta!)).toThrow(/do not make 499/);
  });

  it("chunks that mix delta and full frames, or lose a removal, are bad chunks", () => {
    const many = { prefix_route: base.prefix_route.map((r, i) => (i % 20 === 0 ? { ...r, route: "y" } : r)) };
    const { enc } = roundTrip("prefix_route", base, many, 64);
    const frames = deltaFrames("prefix_route", "v2", enc);
    expect(frames.length).toBeGreaterThan(1);
    const asm = new ChunkAssembler(false);
    asm.push(parseResponseFrame(frames[0]!));
    const full = encodeTableChunks("prefix_route", { prefix_route: [] }).chunks[0]!;
    const mixed = asm.push(parseResponseFrame(encodeResponseFrame({ kind: "prefix_route", version: "v2", nonce: "d", chunkIndex: 1, chunkCount: frames.length, totalRows: enc.totalRows, compiledAt: "" }, full)));
    expect(mixed).toMatchObject({ state: "bad", reason: expect.stringMatching(/mixes delta and full/) });
    // The same delta claiming one more removed key than it carries.
    const lying = encodeKindDelta({ kind: "prefix_route", baseVersion: "v1", resultDigest: "0".repeat(16), tables: [{ table: "prefix_route", keyColumn: "prefix", resultRows: 1, upserts: [], positions: [], removed: ["1"] }] });
    const one = parseResponseFrame(encodeResponseFrame({ kind: "prefix_route", version: "v2", nonce: "x", chunkIndex: 0, chunkCount: 1, totalRows: 0, compiledAt: "" }, lying.chunks[0]!.rows, lying.chunks[0]!.delta));
    const tampered = { ...one, delta: Buffer.from(one.delta!) };
    // total_removed is field 2 (varint) right after base_version "v1": tag 0x10, value 1 → 2.
    const at = tampered.delta.indexOf(Buffer.from([0x10, 0x01]));
    tampered.delta[at + 1] = 2;
    expect(new ChunkAssembler(false).push(tampered)).toMatchObject({ state: "bad", reason: "received 1 removed keys, total_removed says 2" });
  });
});
