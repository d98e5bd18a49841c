/**
 * Reassembles the chunks of one version of a kind into a `TableSet`. A version is complete only
 * when its last chunk has arrived with every earlier chunk in order under the same nonce and the
 * row count matches `total_rows`; only then may it be applied (all or nothing). A chunk 0 for a
 * kind that is half received starts over (the control plane moved on to a newer version).
 *
 * @example
 *   const asm = new ChunkAssembler(); const r = asm.push(parseResponseFrame(bytes));
 *   if (r.state === "complete") tables.load(r.kind, r.set, r.version, "control-plane");
 */
import type { TableSet } from "../core/tables/registry.js";
import { decodeTableChunk } from "./wire/table-chunks.js";
import type { ResponseFrame } from "./wire/response-frame.js";

/** A complete version. `frames` are the raw frames (kept for the cache) when asked for. */
export interface CompleteVersion {
  state: "complete";
  kind: string;
  version: string;
  nonce: string;
  compiledAt: string;
  set: TableSet;
  rows: number;
  frames: Buffer[];
}

/** A chunk that cannot be part of a valid version; the receiver NACKs it. */
export interface BadChunk {
  state: "bad";
  kind: string;
  version: string;
  nonce: string;
  reason: string;
}

/** Outcome of adding one chunk. */
export type AssembleResult = { state: "partial" } | CompleteVersion | BadChunk;

interface Partial {
  version: string;
  nonce: string;
  chunkCount: number;
  next: number;
  rows: number;
  set: TableSet;
  frames: Buffer[];
}

/** Per-kind reassembly of chunked versions; one per stream (and one per cache file read). */
export class ChunkAssembler {
  private readonly partial = new Map<string, Partial>();

  constructor(private readonly keepFrames = true) {}

  /** Adds one chunk; returns the complete version after its last chunk. */
  push(f: ResponseFrame): AssembleResult {
    const bad = (reason: string): BadChunk => {
      this.partial.delete(f.kind);
      return { state: "bad", kind: f.kind, version: f.version, nonce: f.nonce, reason };
    };
    if (f.kind === "") return bad("chunk without kind");
    if (!f.plan || f.plan.kind !== f.kind) return bad(`chunk of kind ${f.kind} carries ${f.plan ? f.plan.kind + " rows" : "no rows"}`);
    if (f.chunkCount < 1 || f.chunkIndex >= f.chunkCount) return bad(`chunk ${f.chunkIndex} of ${f.chunkCount} is out of range`);
    let p = this.partial.get(f.kind);
    if (f.chunkIndex === 0) {
      p = { version: f.version, nonce: f.nonce, chunkCount: f.chunkCount, next: 0, rows: 0, set: {}, frames: [] };
      this.partial.set(f.kind, p);
    } else if (!p || p.nonce !== f.nonce || p.version !== f.version || p.chunkCount !== f.chunkCount || p.next !== f.chunkIndex) {
      return bad(`chunk ${f.chunkIndex}/${f.chunkCount} of version ${f.version} arrived out of sequence`);
    }
    try {
      p.rows += decodeTableChunk({ plan: f.plan, body: f.body! }, p.set);
    } catch (e) {
      return bad(`chunk ${f.chunkIndex} does not decode: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.keepFrames) p.frames.push(f.raw);
    p.next++;
    if (p.next < p.chunkCount) return { state: "partial" };
    this.partial.delete(f.kind);
    if (p.rows !== f.totalRows) return bad(`received ${p.rows} rows, total_rows says ${f.totalRows}`);
    return { state: "complete", kind: f.kind, version: p.version, nonce: p.nonce, compiledAt: f.compiledAt, set: p.set, rows: p.rows, frames: p.frames };
  }

  /** Drops half-received versions (stream ended: a new stream starts every version over). */
  reset(): void {
    this.partial.clear();
  }
}
