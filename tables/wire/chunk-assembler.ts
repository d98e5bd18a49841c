/**
 * Reassembles the chunks of one version of a kind into a `TableSet`. A version is complete only
 * when its last chunk has arrived with every earlier chunk in order under the same nonce and the
 * row count matches `total_rows`; only then may it be applied (all or nothing). A chunk 0 for a
 * kind that is half received starts over (the control plane moved on to a newer version).
 * A delta (chunks carrying the `delta` field) completes the same way; its `set` holds only the
 * upserted rows and `delta` the rest (positions, removed keys, checks) for apply-delta.ts.
 *
 * @example
 *   const asm = new ChunkAssembler(); const r = asm.push(parseResponseFrame(bytes));
 *   if (r.state === "complete") tables.load(r.kind, r.set, r.version, "control-plane");
 */
import type { TableSet } from "../rows.js";
import { DeltaAccumulator, type ReceivedDelta } from "./delta-chunks.js";
import type { ResponseFrame } from "./response-frame.js";
import { RowDigest } from "./row-digest.js";
import { decodeTableChunk } from "./table-chunks.js";

/** A complete version. `frames` are the raw frames (kept for the cache) when asked for. */
export interface CompleteVersion {
  state: "complete";
  kind: string;
  version: string;
  nonce: string;
  compiledAt: string;
  /** Every row of the version, or for a delta only the upserted rows. */
  set: TableSet;
  rows: number;
  frames: Buffer[];
  /** Set for a delta: base version, positions, removed keys, result checks. */
  delta: ReceivedDelta | null;
  /** RowDigest of a full version's rows, when the assembler was asked to compute digests. */
  digest: string | null;
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
  delta: DeltaAccumulator | null;
  digest: RowDigest | null;
}

/** Options of a ChunkAssembler. */
export interface AssemblerOptions {
  /** Keep the raw frames of complete versions (for the cache). Default true. */
  keepFrames?: boolean;
  /** Compute the RowDigest of full versions while decoding (needed to apply later deltas). */
  digest?: boolean;
}

/** Per-kind reassembly of chunked versions; one per stream (and one per cache file read). */
export class ChunkAssembler {
  private readonly partial = new Map<string, Partial>();

  private readonly keepFrames: boolean;
  private readonly digest: boolean;

  /** `keepFrames` as a boolean is the older form of `{ keepFrames }`. */
  constructor(opts: boolean | AssemblerOptions = {}) {
    const o = typeof opts === "boolean" ? { keepFrames: opts } : opts;
    this.keepFrames = o.keepFrames ?? true;
    this.digest = o.digest ?? false;
  }

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
      p = {
        version: f.version,
        nonce: f.nonce,
        chunkCount: f.chunkCount,
        next: 0,
        rows: 0,
        set: {},
        frames: [],
        delta: f.delta ? new DeltaAccumulator(f.plan) : null,
        digest: this.digest && !f.delta ? new RowDigest() : null,
      };
      this.partial.set(f.kind, p);
    } else if (!p || p.nonce !== f.nonce || p.version !== f.version || p.chunkCount !== f.chunkCount || p.next !== f.chunkIndex) {
      return bad(`chunk ${f.chunkIndex}/${f.chunkCount} of version ${f.version} arrived out of sequence`);
    } else if ((p.delta === null) !== (f.delta === null)) {
      return bad(`chunk ${f.chunkIndex} of version ${f.version} mixes delta and full chunks`);
    }
    try {
      p.rows += decodeTableChunk({ plan: f.plan, body: f.body! }, p.set, p.digest ?? undefined);
    } catch (e) {
      return bad(`chunk ${f.chunkIndex} does not decode: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (p.delta) {
      try {
        p.delta.add(f.delta!);
      } catch (e) {
        return bad(`chunk ${f.chunkIndex}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (this.keepFrames) p.frames.push(f.raw);
    p.next++;
    if (p.next < p.chunkCount) return { state: "partial" };
    this.partial.delete(f.kind);
    if (p.rows !== f.totalRows) return bad(`received ${p.rows} rows, total_rows says ${f.totalRows}`);
    let delta: ReceivedDelta | null = null;
    if (p.delta) {
      try {
        delta = p.delta.finish();
      } catch (e) {
        return bad(e instanceof Error ? e.message : String(e));
      }
    }
    return {
      state: "complete",
      kind: f.kind,
      version: p.version,
      nonce: p.nonce,
      compiledAt: f.compiledAt,
      set: p.set,
      rows: p.rows,
      frames: p.frames,
      delta,
      digest: p.digest ? p.digest.toString() : null,
    };
  }

  /** Drops half-received versions (stream ended: a new stream starts every version over). */
  reset(): void {
    this.partial.clear();
  }
}
