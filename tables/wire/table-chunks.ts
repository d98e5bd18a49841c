/**
 * Splits one version of a table kind into chunks that each stay well under the gRPC message size
 * limit, and reassembles them. A chunk is the encoded `tables` oneof field of a
 * StreamTablesResponse (tag + length + *Tables message holding a slice of the rows); rows of
 * several tables may share a chunk, and a table may span chunks. Receivers concatenate rows per
 * table and apply the kind only after the last chunk, so a version is applied whole or not at all.
 *
 * Encoding writes Kamailio rows straight to bytes (no intermediate message objects) and is done
 * once per version; every data plane gets the same chunk bytes.
 *
 * @example
 *   const { chunks } = encodeTableChunks("prefix_route", { prefix_route: rows }, { chunkBytes: 1 << 20 });
 *   const set: TableSet = {}; for (const c of chunks) decodeTableChunk(parseChunkField(c), set);
 */
import { TableError, type TableSet } from "../rows.js";
import type { RowDigest } from "./row-digest.js";
import { kindPlan, kindPlanByField, type KindPlan } from "./table-kinds.js";
import { varintSize, WIRE_LEN, WireFormatError, WireReader, WireWriter } from "./wire-buffer.js";

/** Default target size of one chunk's rows (1 MiB; gRPC's default receive limit is 4 MiB). */
export const DEFAULT_CHUNK_BYTES = 1 << 20;
/** Hard limit of one chunk; a single row larger than this cannot be sent. */
export const DEFAULT_MAX_CHUNK_BYTES = 4 * (1 << 20) - 64 * 1024;

/** One version of a kind, encoded. */
export interface EncodedTableChunks {
  readonly kind: string;
  /** Each chunk is the encoded oneof field (tag, length, *Tables message). */
  readonly chunks: Buffer[];
  readonly totalRows: number;
  /** Sum of chunk sizes. */
  readonly bytes: number;
}

/** Chunk size settings (bytes of encoded rows). */
export interface ChunkOptions {
  /** Start a new chunk once this many bytes of rows are in the current one. */
  chunkBytes?: number;
  /** Refuse rows that would make a chunk bigger than this. */
  maxChunkBytes?: number;
}

/** Per chunk, rows of each table of the kind (index = position in `KindPlan.tables`). */
export type ChunkTableRows = readonly (readonly number[])[];

/**
 * Encodes one version of a kind step by step (`run(rows)` encodes up to that many rows), so a
 * large set can be encoded in slices that yield to the event loop (the data plane re-encodes a
 * delta's result for its cache while calls keep flowing). `encodeTableChunks` runs it to the end.
 */
export class TableChunkEncoder {
  readonly plan: KindPlan;
  private readonly chunkBytes: number;
  private readonly maxChunkBytes: number;
  private readonly kindTag: number;
  private readonly w: WireWriter;
  private readonly chunks: Buffer[] = [];
  private readonly chunkRows: number[][] = [];
  private cur: number[];
  private bytes = 0;
  private totalRows = 0;
  private tableIdx = 0;
  private rowIdx = 0;
  private done = false;

  /** Checks the set's table names; throws TableError for a table that is not part of the kind. */
  constructor(
    readonly kind: string,
    private readonly set: TableSet,
    opts: ChunkOptions = {},
  ) {
    const plan = kindPlan(kind);
    if (!plan) throw new Error(`table kind '${kind}' has no message in olelo.control.v1.StreamTablesResponse`);
    this.plan = plan;
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.maxChunkBytes = opts.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
    for (const name of Object.keys(set)) {
      if (!plan.tableByName.has(name)) {
        throw new TableError(name, null, `not a table of kind ${kind} (expected ${plan.tables.map((t) => t.name).join(", ")})`);
      }
    }
    this.kindTag = ((plan.fieldNo << 3) | WIRE_LEN) >>> 0;
    this.w = new WireWriter(Math.min(this.chunkBytes, this.maxChunkBytes) + 1024);
    this.cur = new Array<number>(plan.tables.length).fill(0);
  }

  private flush(): void {
    const w = this.w;
    const bodyLen = w.pos;
    const head = varintSize(this.kindTag) + varintSize(bodyLen);
    const out = new WireWriter(head + bodyLen);
    out.varint(this.kindTag);
    out.varint(bodyLen);
    w.buf.copy(out.buf, out.pos, 0, bodyLen);
    out.pos += bodyLen;
    const chunk = out.finish();
    this.chunks.push(chunk);
    this.chunkRows.push(this.cur);
    this.cur = new Array<number>(this.plan.tables.length).fill(0);
    this.bytes += chunk.length;
    w.reset();
  }

  /**
   * Encodes up to `maxRows` more rows; returns true once every row is encoded. Throws TableError
   * naming table and row for a value that does not fit its column.
   */
  run(maxRows = Number.POSITIVE_INFINITY): boolean {
    if (this.done) return true;
    const w = this.w;
    let budget = maxRows;
    const tables = this.plan.tables;
    for (; this.tableIdx < tables.length; this.tableIdx++, this.rowIdx = 0) {
      const table = tables[this.tableIdx]!;
      const rows = this.set[table.name];
      if (rows === undefined) continue;
      if (!Array.isArray(rows)) throw new TableError(table.name, null, "rows must be an array");
      const codec = table.codec;
      for (; this.rowIdx < rows.length; this.rowIdx++) {
        if (budget-- <= 0) return false;
        const i = this.rowIdx;
        const row = rows[i];
        if (row === null || typeof row !== "object") throw new TableError(table.name, i + 1, "row is not an object");
        const size = codec.measure(row, i);
        const entry = table.tagSize + varintSize(size) + size;
        if (entry + 16 > this.maxChunkBytes) {
          throw new TableError(table.name, codec.rowKey(row, i), `row of ${entry} bytes exceeds the ${this.maxChunkBytes}-byte chunk limit`);
        }
        if (w.pos > 0 && w.pos + entry > this.chunkBytes) this.flush();
        w.ensure(entry);
        w.varint(table.tag);
        w.varint(size);
        codec.writeMeasured(w);
        this.cur[this.tableIdx]!++;
        this.totalRows++;
      }
    }
    if (w.pos > 0 || this.chunks.length === 0) this.flush();
    this.done = true;
    return true;
  }

  /** The encoded version (call after `run` returned true). */
  result(): EncodedTableChunks & { chunkRows: ChunkTableRows } {
    if (!this.done) throw new Error("TableChunkEncoder.result() before the last row");
    return { kind: this.kind, chunks: this.chunks, totalRows: this.totalRows, bytes: this.bytes, chunkRows: this.chunkRows };
  }
}

/**
 * Validates and encodes every row of `set` for `kind`, in chunks. Throws TableError naming the
 * table and row for a value that does not fit its column, or a table that is not part of the
 * kind; throws Error for a kind the protocol does not carry. `chunkRows` says how many rows of
 * each table went into each chunk (a delta's positions follow them).
 */
export function encodeTableChunks(kind: string, set: TableSet, opts: ChunkOptions = {}): EncodedTableChunks & { chunkRows: ChunkTableRows } {
  const enc = new TableChunkEncoder(kind, set, opts);
  enc.run();
  return enc.result();
}

/**
 * `encodeTableChunks` in slices of `sliceRows` rows with an event-loop turn between slices (the
 * same bytes): a million rows are about 300 ms of encoding, too long to hold the loop at once.
 */
export async function encodeTableChunksAsync(kind: string, set: TableSet, opts: ChunkOptions = {}, sliceRows = 20_000): Promise<EncodedTableChunks> {
  const enc = new TableChunkEncoder(kind, set, opts);
  while (!enc.run(sliceRows)) await new Promise<void>((resolve) => setImmediate(resolve));
  return enc.result();
}

/** A chunk field split from its StreamTablesResponse: which kind, and the *Tables message bytes. */
export interface ChunkBody {
  readonly plan: KindPlan;
  readonly body: Buffer;
}

/** Parses one encoded oneof field as produced by `encodeTableChunks` (cache files, tests). */
export function parseChunkField(chunk: Buffer): ChunkBody {
  const r = new WireReader(chunk);
  const tag = r.varint32();
  const plan = kindPlanByField(tag >>> 3);
  if (!plan || (tag & 7) !== WIRE_LEN) throw new WireFormatError(`chunk field ${tag >>> 3} is not a table kind`);
  const n = r.length();
  return { plan, body: chunk.subarray(r.pos, r.pos + n) };
}

/**
 * Decodes one chunk's *Tables message and appends its rows to `into` (creating every table of
 * the kind, so an empty version still yields `{ table: [] }`). Returns the number of rows read.
 * With `digest`, each row's bytes are added to it (row-digest.ts). Throws WireFormatError on
 * malformed bytes.
 */
export function decodeTableChunk(chunk: ChunkBody, into: TableSet, digest?: RowDigest): number {
  const { plan, body } = chunk;
  for (const t of plan.tables) if (into[t.name] === undefined) into[t.name] = [];
  const r = new WireReader(body);
  let n = 0;
  while (r.pos < r.end) {
    const tag = r.varint32();
    const no = tag >>> 3;
    const table = no < plan.tableByNo.length ? plan.tableByNo[no] : undefined;
    if (table === undefined || (tag & 7) !== WIRE_LEN) {
      r.skip(tag & 7);
      continue;
    }
    const len = r.length();
    const start = r.pos;
    const end = start + len;
    into[table.name]!.push(table.codec.decode(r, end));
    digest?.addBytes(table.fieldNo, body, start, end);
    if (r.pos !== end) throw new WireFormatError(`row of ${table.name} overran its length`);
    n++;
  }
  return n;
}
