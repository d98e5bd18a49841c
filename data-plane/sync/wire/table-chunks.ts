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
import { TableError, type TableSet } from "../../core/tables/registry.js";
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

/**
 * Validates and encodes every row of `set` for `kind`, in chunks. Throws TableError naming the
 * table and row for a value that does not fit its column, or a table that is not part of the
 * kind; throws Error for a kind the protocol does not carry.
 */
export function encodeTableChunks(kind: string, set: TableSet, opts: ChunkOptions = {}): EncodedTableChunks {
  const plan = kindPlan(kind);
  if (!plan) throw new Error(`table kind '${kind}' has no message in olelo.control.v1.StreamTablesResponse`);
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const maxChunkBytes = opts.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
  for (const name of Object.keys(set)) {
    if (!plan.tableByName.has(name)) {
      throw new TableError(name, null, `not a table of kind ${kind} (expected ${plan.tables.map((t) => t.name).join(", ")})`);
    }
  }
  const kindTag = ((plan.fieldNo << 3) | WIRE_LEN) >>> 0;
  const chunks: Buffer[] = [];
  let bytes = 0;
  let totalRows = 0;
  const w = new WireWriter(Math.min(chunkBytes, maxChunkBytes) + 1024);
  const flush = () => {
    const bodyLen = w.pos;
    const head = varintSize(kindTag) + varintSize(bodyLen);
    const out = new WireWriter(head + bodyLen);
    out.varint(kindTag);
    out.varint(bodyLen);
    w.buf.copy(out.buf, out.pos, 0, bodyLen);
    out.pos += bodyLen;
    const chunk = out.finish();
    chunks.push(chunk);
    bytes += chunk.length;
    w.reset();
  };
  for (const table of plan.tables) {
    const rows = set[table.name];
    if (rows === undefined) continue;
    if (!Array.isArray(rows)) throw new TableError(table.name, null, "rows must be an array");
    const codec = table.codec;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (row === null || typeof row !== "object") throw new TableError(table.name, i + 1, "row is not an object");
      const size = codec.measure(row, i);
      const entry = table.tagSize + varintSize(size) + size;
      if (entry + 16 > maxChunkBytes) {
        throw new TableError(table.name, codec.rowKey(row, i), `row of ${entry} bytes exceeds the ${maxChunkBytes}-byte chunk limit`);
      }
      if (w.pos > 0 && w.pos + entry > chunkBytes) flush();
      w.ensure(entry);
      w.varint(table.tag);
      w.varint(size);
      codec.writeMeasured(w);
      totalRows++;
    }
  }
  if (w.pos > 0 || chunks.length === 0) flush();
  return { kind, chunks, totalRows, bytes };
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
 * Throws WireFormatError on malformed bytes.
 */
export function decodeTableChunk(chunk: ChunkBody, into: TableSet): number {
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
    const end = r.pos + len;
    into[table.name]!.push(table.codec.decode(r, end));
    if (r.pos !== end) throw new WireFormatError(`row of ${table.name} overran its length`);
    n++;
  }
  return n;
}
