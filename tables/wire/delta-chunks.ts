/**
 * The delta form of a version on the wire (xDS incremental: only changed resources plus the
 * names of removed ones, each chunk of the push carrying the `delta` field). The upserted rows
 * travel in the usual `tables` oneof, chunked exactly like a full version; the `delta` field of
 * each chunk says where each of that chunk's upserted rows goes in the resulting table
 * (`positions`), which keys are removed, the base version, and the checks of the result (rows
 * per table, digest). Positions make the result row-for-row equal to the control plane's
 * version, including row order (some modules keep table order, e.g. dispatcher destinations).
 *
 * Encoding happens once per (base, version) pair on the control plane and is shared by every
 * data plane running that base; the data plane accumulates the chunks (`DeltaAccumulator`) and
 * applies the result with apply-delta.ts.
 *
 * @example
 *   const enc = encodeKindDelta({ kind: "prefix_route", baseVersion: "p1", resultDigest, tables });
 *   for (const c of enc.chunks) encodeResponseFrame(envelope, c.rows, c.delta);
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { TableDeltaSchema, type TableDelta } from "../../gen/olelo/control/v1/control_pb.js";
import type { TableRow, TableSet } from "../rows.js";
import { DELTA_FIELD_NO } from "./response-frame.js";
import { encodeTableChunks, type ChunkOptions, DEFAULT_CHUNK_BYTES } from "./table-chunks.js";
import { kindPlan, type KindPlan } from "./table-kinds.js";
import { varintSize, WIRE_LEN, WireWriter } from "./wire-buffer.js";

/** A row key as the data plane compares it: string for text key columns, number for integer ones. */
export type RowKey = string | number;

/** One table's change inside a delta, as the control plane computed it. */
export interface TableChangeSet {
  table: string;
  /** Key column: id, gwid, ruleid or prefix. */
  keyColumn: string;
  /** Rows of the table in the resulting version. */
  resultRows: number;
  /** Upserted rows, in ascending order of `positions`. */
  upserts: TableRow[];
  /** Position of each upserted row in the resulting table (ascending). */
  positions: number[];
  /** Keys of removed rows. */
  removed: RowKey[];
  /**
   * Base positions of the rows leaving the base (removed or replaced), ascending. Absent: the
   * data plane finds them by key.
   */
  basePositions?: number[];
}

/** A whole delta of one kind from `baseVersion` to the version it is sent as. */
export interface KindDelta {
  kind: string;
  baseVersion: string;
  /** RowDigest of the resulting version. */
  resultDigest: string;
  /** One entry per table of the kind, in the kind's table order. */
  tables: TableChangeSet[];
}

/** One encoded delta chunk: the `delta` field (tag included) and the `tables` field. */
export interface EncodedDeltaChunk {
  readonly delta: Buffer;
  readonly rows: Buffer;
}

/** A delta, encoded once and shared by all streams. */
export interface EncodedKindDelta {
  readonly kind: string;
  readonly baseVersion: string;
  readonly chunks: EncodedDeltaChunk[];
  /** Upserted rows (the frames' total_rows). */
  readonly totalRows: number;
  readonly totalRemoved: number;
  /** Bytes of all chunks (both fields). */
  readonly bytes: number;
}

function planOf(kind: string): KindPlan {
  const plan = kindPlan(kind);
  if (!plan) throw new Error(`table kind '${kind}' has no message in the push protocol`);
  return plan;
}

/** The key type of a table's key column, or throws for a column the row message lacks. */
export function keyTypeOf(plan: KindPlan, table: string, keyColumn: string): "string" | "int" {
  const t = plan.tableByName.get(table);
  if (!t) throw new Error(`${table} is not a table of kind ${plan.kind}`);
  const type = t.codec.columnType(keyColumn);
  if (type === undefined) throw new Error(`${table} has no column ${keyColumn}`);
  if (type === "double") throw new Error(`${table}.${keyColumn} is not a usable key column`);
  return type;
}

/** `tables` oneof field of a chunk without rows (a chunk that only removes keys). */
function emptyRowsField(plan: KindPlan): Buffer {
  const tag = ((plan.fieldNo << 3) | WIRE_LEN) >>> 0;
  const w = new WireWriter(8);
  w.varint(tag);
  w.varint(0);
  return w.finish();
}

function deltaField(msg: TableDelta): Buffer {
  const body = toBinary(TableDeltaSchema, msg);
  const tag = ((DELTA_FIELD_NO << 3) | WIRE_LEN) >>> 0;
  const w = new WireWriter(varintSize(tag) + varintSize(body.length) + body.length);
  w.varint(tag);
  w.varint(body.length);
  w.raw(body);
  return w.finish();
}

/**
 * Encodes a delta in chunks of about `chunkBytes` (upserted rows as in a full version, then the
 * removed keys, packed into the last chunk while it has room and into key-only chunks after
 * that). Throws TableError for an upserted row whose values do not fit their columns.
 */
export function encodeKindDelta(delta: KindDelta, opts: ChunkOptions = {}): EncodedKindDelta {
  const plan = planOf(delta.kind);
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const byTable = new Map(delta.tables.map((t) => [t.table, t]));
  const upsertSet: TableSet = {};
  for (const t of delta.tables) {
    if (t.upserts.length !== t.positions.length) throw new Error(`${t.table}: ${t.upserts.length} upserts but ${t.positions.length} positions`);
    upsertSet[t.table] = t.upserts;
  }
  const enc = encodeTableChunks(delta.kind, upsertSet, opts);

  // Per chunk and table: the slice of positions that goes with its rows, and removed keys.
  type Part = { positions: number[]; strKeys: string[]; intKeys: bigint[]; basePositions: number[] };
  const parts: Part[][] = [];
  const rowFields: Buffer[] = [];
  const sizes: number[] = [];
  const offsets = new Array<number>(plan.tables.length).fill(0);
  for (let c = 0; c < enc.chunks.length; c++) {
    const perTable: Part[] = [];
    let size = enc.chunks[c]!.length;
    for (let i = 0; i < plan.tables.length; i++) {
      const n = enc.chunkRows[c]![i]!;
      const ch = byTable.get(plan.tables[i]!.name);
      const positions = ch ? ch.positions.slice(offsets[i], offsets[i]! + n) : [];
      offsets[i]! += n;
      size += positions.length * 4;
      perTable.push({ positions, strKeys: [], intKeys: [], basePositions: [] });
    }
    parts.push(perTable);
    rowFields.push(enc.chunks[c]!);
    sizes.push(size);
  }
  /** The chunk that has room for `cost` more bytes (the last one, or a new key-only chunk). */
  const roomFor = (cost: number): number => {
    const c = parts.length - 1;
    if (sizes[c]! + cost <= chunkBytes || sizes[c]! === 0) return c;
    parts.push(plan.tables.map(() => ({ positions: [], strKeys: [], intKeys: [], basePositions: [] })));
    rowFields.push(emptyRowsField(plan));
    sizes.push(0);
    return c + 1;
  };
  let totalRemoved = 0;
  const positionsSent = delta.tables.every((t) => t.basePositions !== undefined);
  for (let i = 0; i < plan.tables.length; i++) {
    const ch = byTable.get(plan.tables[i]!.name);
    if (!ch) continue;
    const type = keyTypeOf(plan, ch.table, ch.keyColumn);
    for (const key of ch.removed) {
      const cost = type === "string" ? Buffer.byteLength(String(key)) + 2 : 6;
      const c = roomFor(cost);
      if (type === "string") parts[c]![i]!.strKeys.push(String(key));
      else parts[c]![i]!.intKeys.push(BigInt(key));
      sizes[c]! += cost;
      totalRemoved++;
    }
    if (!positionsSent) continue;
    for (const p of ch.basePositions!) {
      const c = roomFor(5);
      parts[c]![i]!.basePositions.push(p);
      sizes[c]! += 5;
    }
  }

  const chunks: EncodedDeltaChunk[] = [];
  let bytes = 0;
  for (let c = 0; c < parts.length; c++) {
    const msg = create(TableDeltaSchema, {
      baseVersion: delta.baseVersion,
      totalRemoved,
      resultDigest: delta.resultDigest,
      tables: plan.tables.map((t, i) => {
        const ch = byTable.get(t.name);
        const p = parts[c]![i]!;
        return {
          table: t.name,
          keyColumn: ch?.keyColumn ?? t.codec.columns[0]!,
          resultRows: ch?.resultRows ?? 0,
          positions: p.positions,
          removedStringKeys: p.strKeys,
          removedIntKeys: p.intKeys,
          basePositions: p.basePositions,
          basePositionsSent: positionsSent,
        };
      }),
    });
    const d = deltaField(msg);
    chunks.push({ delta: d, rows: rowFields[c]! });
    bytes += d.length + rowFields[c]!.length;
  }
  return { kind: delta.kind, baseVersion: delta.baseVersion, chunks, totalRows: enc.totalRows, totalRemoved, bytes };
}

/** A table's part of a received delta (all chunks). */
export interface ReceivedTableChange {
  keyColumn: string;
  keyType: "string" | "int";
  resultRows: number;
  positions: number[];
  removed: RowKey[];
  /** Base positions of the dropped rows (ascending over the chunks), when the sender gave them. */
  basePositions?: number[];
}

/** A complete received delta, without its upserted rows (those are in the version's TableSet). */
export interface ReceivedDelta {
  baseVersion: string;
  resultDigest: string;
  /** Table name → change; every table of the kind is present. */
  tables: Map<string, ReceivedTableChange>;
  totalRemoved: number;
}

/**
 * Collects the `delta` fields of one delta's chunks and checks they belong together. `add`
 * throws Error with the reason for a field that does not fit (the receiver NACKs BAD_CHUNK).
 */
export class DeltaAccumulator {
  private result: ReceivedDelta | null = null;
  private removed = 0;

  constructor(private readonly plan: KindPlan) {}

  /** Adds one chunk's `delta` field bytes. */
  add(bytes: Buffer): void {
    let msg: TableDelta;
    try {
      msg = fromBinary(TableDeltaSchema, bytes);
    } catch (e) {
      throw new Error(`delta field does not decode: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (msg.baseVersion === "") throw new Error("delta without base_version");
    if (!/^[0-9a-f]{16}$/.test(msg.resultDigest)) throw new Error(`delta result_digest '${msg.resultDigest}' is not 16 hex digits`);
    if (!this.result) {
      const tables = new Map<string, ReceivedTableChange>();
      for (const t of msg.tables) {
        if (tables.has(t.table)) throw new Error(`delta names table ${t.table} twice`);
        const keyType = keyTypeOf(this.plan, t.table, t.keyColumn);
        tables.set(t.table, { keyColumn: t.keyColumn, keyType, resultRows: t.resultRows, positions: [], removed: [], ...(t.basePositionsSent ? { basePositions: [] } : {}) });
      }
      for (const t of this.plan.tables) if (!tables.has(t.name)) throw new Error(`delta lacks table ${t.name}`);
      this.result = { baseVersion: msg.baseVersion, resultDigest: msg.resultDigest, tables, totalRemoved: msg.totalRemoved };
    } else if (msg.baseVersion !== this.result.baseVersion || msg.resultDigest !== this.result.resultDigest || msg.totalRemoved !== this.result.totalRemoved) {
      throw new Error("delta chunks disagree on base_version, result_digest or total_removed");
    }
    const res = this.result;
    for (const t of msg.tables) {
      const acc = res.tables.get(t.table);
      if (!acc || acc.keyColumn !== t.keyColumn || acc.resultRows !== t.resultRows) throw new Error(`delta chunk changes table ${t.table}'s key column or row count`);
      if (t.basePositionsSent !== (acc.basePositions !== undefined)) throw new Error(`delta chunks disagree on base_positions_sent for ${t.table}`);
      for (const p of t.positions) acc.positions.push(p);
      if (acc.basePositions) for (const p of t.basePositions) acc.basePositions.push(p);
      if (acc.keyType === "string") {
        if (t.removedIntKeys.length > 0) throw new Error(`${t.table}: integer keys removed from a text key column`);
        for (const k of t.removedStringKeys) acc.removed.push(k);
      } else {
        if (t.removedStringKeys.length > 0) throw new Error(`${t.table}: text keys removed from an integer key column`);
        for (const k of t.removedIntKeys) acc.removed.push(Number(k));
      }
      this.removed += t.removedStringKeys.length + t.removedIntKeys.length;
    }
  }

  /** The complete delta after the last chunk; checks the removed-key count. */
  finish(): ReceivedDelta {
    if (!this.result) throw new Error("delta without chunks");
    if (this.removed !== this.result.totalRemoved) throw new Error(`received ${this.removed} removed keys, total_removed says ${this.result.totalRemoved}`);
    return this.result;
  }
}
