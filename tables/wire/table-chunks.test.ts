import { describe, expect, it } from "vitest";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { StreamTablesResponseSchema } from "../../gen/olelo/control/v1/control_pb.js";
import { TableError, type TableSet } from "../rows.js";
import { ChunkAssembler } from "./chunk-assembler.js";
import { dispatcherRows, lcrGwRows, prefixRouteRows } from "../testing/sample-rows.js";
import { messageToTableSet, responseToTableSet, tableSetToMessage } from "./convert-tables.js";
import { encodeResponseFrame, parseResponseFrame, type FrameEnvelope } from "./response-frame.js";
import { decodeTableChunk, encodeTableChunks, parseChunkField } from "./table-chunks.js";
import { KIND_ORDER, kindPlan } from "./table-kinds.js";

function decodeAll(chunks: Buffer[]): TableSet {
  const set: TableSet = {};
  for (const c of chunks) decodeTableChunk(parseChunkField(c), set);
  return set;
}

const env = (o: Partial<FrameEnvelope> = {}): FrameEnvelope => ({
  kind: "lcr", version: "v1", nonce: "n1", chunkIndex: 0, chunkCount: 1, totalRows: 0, compiledAt: "2026-01-01T00:00:00.000Z", ...o,
});

const lcrSet: TableSet = {
  lcr_gw: [
    { id: 1, lcr_id: 1, gw_name: "gw1", ip_addr: "10.0.0.1", hostname: null, port: 5060, params: null, uri_scheme: 1, transport: 1, strip: 0, prefix: null, tag: "Zürich ☎", flags: 0, defunct: 4294967295 },
    { id: 2, lcr_id: 0, gw_name: "gw2", ip_addr: null, hostname: "gw2.example.com", port: null, params: ";x=y", uri_scheme: 2, transport: 3, strip: 2, prefix: "00", tag: "", flags: 7, defunct: null },
  ],
  lcr_rule: [{ id: 10, lcr_id: 1, prefix: "49", from_uri: null, request_uri: "^sip:.*", mt_tvalue: null, stopper: 0, enabled: 1 }],
  lcr_rule_target: [{ id: 100, lcr_id: 1, rule_id: 10, gw_id: 1, priority: 0, weight: 254 }],
};

describe("table chunks: rows ⇄ protobuf", () => {
  it("every kind has a plan, in KIND_ORDER, with Kamailio table names", () => {
    for (const k of KIND_ORDER) expect(kindPlan(k), k).toBeDefined();
    expect(kindPlan("lcr")!.tables.map((t) => t.name)).toEqual(["lcr_gw", "lcr_rule", "lcr_rule_target"]);
    expect(kindPlan("alias_db")!.tables.map((t) => t.name)).toEqual(["dbaliases"]);
    expect(kindPlan("carrierroute")!.tables.map((t) => t.name)).toEqual(["carrierroute", "carrierfailureroute", "carrier_name", "domain_name"]);
    expect(kindPlan("lcr")!.tables[0]!.codec.columns).toEqual([
      "id", "lcr_id", "gw_name", "ip_addr", "hostname", "port", "params", "uri_scheme", "transport", "strip", "prefix", "tag", "flags", "defunct",
    ]);
  });

  it("round-trips rows with nulls, unicode, max uint32 and negative int32", () => {
    const enc = encodeTableChunks("lcr", lcrSet);
    expect(enc.totalRows).toBe(4);
    expect(decodeAll(enc.chunks)).toEqual(lcrSet);
    const d = { dispatcher: [{ id: 1, setid: -3, destination: "sip:a", flags: -1, priority: -2147483648, attrs: null, description: null }] };
    expect(decodeAll(encodeTableChunks("dispatcher", d).chunks)).toEqual(d);
  });

  it("callfwd: olelo_callfwd + olelo_callblock rows round-trip (codec, protobuf-es frame, typed converters)", () => {
    expect(kindPlan("callfwd")!.tables.map((t) => t.name)).toEqual(["olelo_callfwd", "olelo_callblock"]);
    expect(kindPlan("callfwd")!.tables[0]!.codec.columns).toEqual(["id", "username", "domain", "cf_type", "target", "timeout", "enabled", "description"]);
    const set: TableSet = {
      olelo_callfwd: [
        { id: 1, username: "carol", domain: "", cf_type: "unconditional", target: "sip:bob@example.com", timeout: 0, enabled: 1, description: "" },
        { id: 4294967295, username: "erin", domain: "example.com", cf_type: "noanswer", target: "tel:+4930123", timeout: 3600, enabled: 0, description: "Zürich ☎" },
      ],
      olelo_callblock: [{ id: 7, username: "bob", domain: "", list_type: "deny", caller: "+1900*", description: null }],
    };
    const enc = encodeTableChunks("callfwd", set);
    expect(enc.totalRows).toBe(3);
    expect(decodeAll(enc.chunks)).toEqual(set);
    const viaEs = fromBinary(StreamTablesResponseSchema, encodeResponseFrame(env({ kind: "callfwd", totalRows: 3 }), enc.chunks[0]!));
    expect(viaEs.tables.case).toBe("callfwd");
    expect(responseToTableSet(viaEs)).toEqual({ kind: "callfwd", set });
    const msg = tableSetToMessage("callfwd", set);
    expect(msg.oleloCallblock[0]!.caller).toBe("+1900*");
    expect(messageToTableSet("callfwd", msg)).toEqual(set);
    // a value that does not fit its column names the table and row
    expect(() => encodeTableChunks("callfwd", { olelo_callfwd: [{ id: 3, timeout: -1 }] })).toThrow(/olelo_callfwd row 3.*timeout/);
  });

  it("missing columns come back as null; unknown columns are ignored (Kamailio selects known columns)", () => {
    const enc = encodeTableChunks("dispatcher", { dispatcher: [{ setid: 1, destination: "sip:x", extra_col: "zzz" }] });
    expect(decodeAll(enc.chunks)).toEqual({ dispatcher: [{ id: null, setid: 1, destination: "sip:x", flags: null, priority: null, attrs: null, description: null }] });
  });

  it("an empty version still names every table of the kind", () => {
    const enc = encodeTableChunks("drouting", {});
    expect(enc.chunks).toHaveLength(1);
    expect(decodeAll(enc.chunks)).toEqual({ dr_gateways: [], dr_rules: [], dr_groups: [], dr_gw_lists: [] });
  });

  it("coerces numeric strings, booleans and bigint; doubles stay exact", () => {
    const enc = encodeTableChunks("carrierroute", {
      carrierroute: [{ id: "7", carrier: 1n, domain: 2, scan_prefix: 49, flags: 0, mask: 0, prob: "0.1", strip: true, rewrite_host: "h", rewrite_prefix: "", rewrite_suffix: "", description: null }],
    });
    const row = decodeAll(enc.chunks).carrierroute![0]!;
    expect(row).toMatchObject({ id: 7, carrier: 1, domain: 2, scan_prefix: "49", prob: 0.1, strip: 1 });
  });

  it("rejects values that do not fit with a TableError naming table, row and column", () => {
    const bad = (set: TableSet) => {
      try {
        encodeTableChunks(Object.keys(set)[0] === "lcr_gw" ? "lcr" : "dispatcher", set);
      } catch (e) {
        return e;
      }
      throw new Error("no error");
    };
    const e1 = bad({ dispatcher: [{ id: 1, setid: 1 }, { id: 2, setid: "one" }] }) as TableError;
    expect(e1).toBeInstanceOf(TableError);
    expect([e1.table, e1.row]).toEqual(["dispatcher", 2]);
    expect(e1.reason).toMatch(/setid/);
    const e2 = bad({ lcr_gw: [{ id: 5, port: -1 }] }) as TableError;
    expect([e2.table, e2.row]).toEqual(["lcr_gw", 5]);
    expect(e2.reason).toMatch(/port|integer/);
    const e3 = bad({ lcr_gw: [{ id: 6, defunct: 4294967296 }] }) as TableError;
    expect(e3.reason).toMatch(/defunct/);
    const e4 = bad({ dispatcher: [{ id: 9, destination: { x: 1 } }] }) as TableError;
    expect(e4.reason).toMatch(/destination: expected a string, got an object/);
    expect(() => encodeTableChunks("dispatcher", { lcr_gw: [] })).toThrow(TableError);
    expect(() => encodeTableChunks("nosuchkind", {})).toThrow(/no message/);
  });

  it("is byte-identical to protobuf-es for the same rows, and the typed converters round-trip", () => {
    const msg = tableSetToMessage("lcr", lcrSet);
    expect(msg.lcrGw[1]!.hostname).toBe("gw2.example.com");
    expect(msg.lcrGw[1]!.port).toBeUndefined();
    expect(messageToTableSet("lcr", msg)).toEqual(lcrSet);
    const plan = kindPlan("lcr")!;
    const body = parseChunkField(encodeTableChunks("lcr", lcrSet).chunks[0]!).body;
    expect(Buffer.from(toBinary(plan.tablesSchema, msg)).equals(body)).toBe(true);
  });

  it("frames decode with protobuf-es fromBinary to the same envelope and rows", () => {
    const enc = encodeTableChunks("lcr", lcrSet);
    const bytes = encodeResponseFrame(env({ totalRows: enc.totalRows }), enc.chunks[0]!);
    const viaEs = fromBinary(StreamTablesResponseSchema, bytes);
    expect(viaEs).toMatchObject({ kind: "lcr", version: "v1", nonce: "n1", chunkIndex: 0, chunkCount: 1, totalRows: 4 });
    expect(responseToTableSet(viaEs)).toEqual({ kind: "lcr", set: lcrSet });
    const mine = parseResponseFrame(bytes);
    expect(mine).toMatchObject({ kind: "lcr", version: "v1", nonce: "n1", chunkIndex: 0, chunkCount: 1, totalRows: 4, compiledAt: viaEs.compiledAt });
    expect(mine.plan!.kind).toBe("lcr");
  });

  it("chunks a 300k-row table under the size target and reassembles it exactly", () => {
    const rows = prefixRouteRows(300_000);
    const enc = encodeTableChunks("prefix_route", { prefix_route: rows }, { chunkBytes: 256 * 1024 });
    expect(enc.chunks.length).toBeGreaterThan(20);
    for (const c of enc.chunks) expect(c.length).toBeLessThanOrEqual(256 * 1024 + 64);
    const set = decodeAll(enc.chunks);
    expect(set.prefix_route).toHaveLength(300_000);
    expect(set.prefix_route![123_456]).toEqual(rows[123_456]);
    expect(set.prefix_route![299_999]).toEqual(rows[299_999]);
  });

  it("mixes several tables across chunk borders", () => {
    const set = { lcr_gw: lcrGwRows(2000), lcr_rule: [], lcr_rule_target: [{ id: 1, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 1, weight: 1 }] };
    const enc = encodeTableChunks("lcr", set, { chunkBytes: 8 * 1024 });
    expect(enc.chunks.length).toBeGreaterThan(5);
    expect(decodeAll(enc.chunks)).toEqual(set);
  });

  it("refuses a single row larger than the hard chunk limit", () => {
    const big = "x".repeat(5000);
    expect(() => encodeTableChunks("dispatcher", { dispatcher: [{ id: 3, attrs: big }] }, { maxChunkBytes: 4096 })).toThrow(/row of \d+ bytes exceeds/);
  });
});

describe("chunk assembler", () => {
  const framesOf = (kind: string, set: TableSet, version: string, nonce: string, chunkBytes: number) => {
    const enc = encodeTableChunks(kind, set, { chunkBytes });
    return enc.chunks.map((c, i) =>
      parseResponseFrame(encodeResponseFrame(env({ kind, version, nonce, chunkIndex: i, chunkCount: enc.chunks.length, totalRows: enc.totalRows }), c)),
    );
  };

  it("completes only on the last chunk", () => {
    const set = { dispatcher: dispatcherRows(500) };
    const frames = framesOf("dispatcher", set, "v1", "n1", 4096);
    expect(frames.length).toBeGreaterThan(2);
    const asm = new ChunkAssembler();
    for (const f of frames.slice(0, -1)) expect(asm.push(f).state).toBe("partial");
    const done = asm.push(frames.at(-1)!);
    expect(done.state).toBe("complete");
    if (done.state === "complete") {
      expect(done.set).toEqual(set);
      expect(done.frames).toHaveLength(frames.length);
    }
  });

  it("reports a chunk out of sequence, and a row count that does not match", () => {
    const frames = framesOf("dispatcher", { dispatcher: dispatcherRows(500) }, "v1", "n1", 4096);
    const asm = new ChunkAssembler();
    asm.push(frames[0]!);
    const r = asm.push(frames[2]!);
    expect(r).toMatchObject({ state: "bad", kind: "dispatcher", version: "v1", nonce: "n1" });
    const enc = encodeTableChunks("dispatcher", { dispatcher: dispatcherRows(3) });
    const lying = parseResponseFrame(encodeResponseFrame(env({ kind: "dispatcher", totalRows: 4 }), enc.chunks[0]!));
    expect(new ChunkAssembler().push(lying)).toMatchObject({ state: "bad", reason: expect.stringMatching(/total_rows/) });
    const wrongKind = parseResponseFrame(encodeResponseFrame(env({ kind: "lcr", totalRows: 3 }), enc.chunks[0]!));
    expect(new ChunkAssembler().push(wrongKind)).toMatchObject({ state: "bad", reason: expect.stringMatching(/carries dispatcher rows/) });
  });

  it("a new chunk 0 replaces a half-received version", () => {
    const old = framesOf("dispatcher", { dispatcher: dispatcherRows(500) }, "v1", "n1", 4096);
    const next = framesOf("dispatcher", { dispatcher: dispatcherRows(2) }, "v2", "n2", 4096);
    const asm = new ChunkAssembler();
    asm.push(old[0]!);
    const r = asm.push(next[0]!);
    expect(r).toMatchObject({ state: "complete", version: "v2", nonce: "n2", rows: 2 });
  });
});
