/**
 * The data plane's local copy of its last good tables, one file per kind, so a data plane that
 * restarts while the control plane is down keeps routing with what it ran before. A file holds the
 * frames of one version exactly as they came over the wire (no re-encoding); it is written to a
 * temporary name, fsynced and renamed, so a crash leaves the old file or the new one, never half.
 *
 * File format (`<kind>.tables`): the 8 bytes "OLELOTC1", then per frame a 4-byte big-endian length
 * and a StreamTablesResponse.
 *
 * @example
 *   await writeCachedKind(dir, "dispatcher", frames);
 *   const v = await readCachedKind(dir, "dispatcher"); // { version, set, rows } or a reason
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { TableSet } from "../core/tables/registry.js";
import { ChunkAssembler } from "../../tables/wire/chunk-assembler.js";
import { encodeResponseFrame, parseResponseFrame } from "../../tables/wire/response-frame.js";
import { encodeTableChunksAsync, type ChunkOptions } from "../../tables/wire/table-chunks.js";

const MAGIC = Buffer.from("OLELOTC1", "latin1");
const KIND_RE = /^[a-z][a-z0-9_]{0,63}$/;

/** The cache file of a kind. Kind names are checked so they cannot escape the directory. */
export function cacheFileOf(dir: string, kind: string): string {
  if (!KIND_RE.test(kind)) throw new Error(`bad table kind name '${kind}'`);
  return join(dir, `${kind}.tables`);
}

/** Atomically replaces the cache file of `kind` with these frames. */
export async function writeCachedKind(dir: string, kind: string, frames: readonly Buffer[]): Promise<number> {
  const file = cacheFileOf(dir, kind);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await fs.mkdir(dir, { recursive: true });
  const fh = await fs.open(tmp, "w", 0o600);
  let bytes = 0;
  try {
    const parts: Buffer[] = [MAGIC];
    for (const f of frames) {
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32BE(f.length, 0);
      parts.push(len, f);
    }
    for (const p of parts) bytes += p.length;
    await fh.writev(parts);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fs.rename(tmp, file);
  return bytes;
}

/**
 * Writes a version the data plane built itself (base + delta) as full frames, the same format a
 * full push leaves. Rows are encoded in slices with event-loop turns between them.
 */
export async function writeCachedSet(
  dir: string,
  v: { kind: string; version: string; compiledAt: string; set: TableSet },
  opts: ChunkOptions = {},
): Promise<number> {
  const enc = await encodeTableChunksAsync(v.kind, v.set, opts);
  const n = enc.chunks.length;
  const frames = enc.chunks.map((c, i) =>
    encodeResponseFrame({ kind: v.kind, version: v.version, nonce: "", chunkIndex: i, chunkCount: n, totalRows: enc.totalRows, compiledAt: v.compiledAt }, c),
  );
  return writeCachedKind(dir, v.kind, frames);
}

/** A version read back from the cache. */
export interface CachedKind {
  kind: string;
  version: string;
  compiledAt: string;
  set: TableSet;
  rows: number;
  /** RowDigest of the rows (the base of a later delta). */
  digest: string;
}

/**
 * Reads and checks the cache file of `kind`. Returns null when there is none; throws with the
 * reason when it is unreadable or incomplete (the caller then starts that kind empty).
 */
export async function readCachedKind(dir: string, kind: string): Promise<CachedKind | null> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(cacheFileOf(dir, kind));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${kind} cache: not an Olelo table cache file`);
  const asm = new ChunkAssembler({ keepFrames: false, digest: true });
  let pos = MAGIC.length;
  while (pos < buf.length) {
    if (pos + 4 > buf.length) throw new Error(`${kind} cache: truncated frame length`);
    const len = buf.readUInt32BE(pos);
    pos += 4;
    if (pos + len > buf.length) throw new Error(`${kind} cache: truncated frame`);
    const frame = parseResponseFrame(buf.subarray(pos, pos + len));
    pos += len;
    if (frame.kind !== kind) throw new Error(`${kind} cache: holds kind ${frame.kind}`);
    if (frame.delta) throw new Error(`${kind} cache: holds a delta chunk`);
    const r = asm.push(frame);
    if (r.state === "bad") throw new Error(`${kind} cache: ${r.reason}`);
    if (r.state === "complete") {
      if (pos !== buf.length) throw new Error(`${kind} cache: trailing bytes after the last chunk`);
      return { kind, version: r.version, compiledAt: r.compiledAt, set: r.set, rows: r.rows, digest: r.digest! };
    }
  }
  throw new Error(`${kind} cache: ends before the last chunk`);
}

/** Kinds that have a cache file in `dir`. */
export async function listCachedKinds(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((n) => n.endsWith(".tables")).map((n) => n.slice(0, -".tables".length)).filter((k) => KIND_RE.test(k));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}
