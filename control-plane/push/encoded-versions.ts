/**
 * Encodes each kind's current version once and shares the chunks with every data plane (only the
 * small per-stream envelope with the nonce is encoded per send). Holds one version per kind; a
 * new version replaces it. A version whose rows do not fit the protocol (TableError) is
 * remembered as an encode error and never sent.
 *
 * @example
 *   const enc = createEncodedVersions({ chunkBytes: 1 << 20 });
 *   const e = enc.get(snapshot); if (e.ok) for (const c of e.chunks) ...
 */
import { TableError } from "../../tables/rows.js";
import { encodeTableChunks, type ChunkOptions } from "../../tables/wire/table-chunks.js";
import type { PushSnapshot } from "./push-source.js";

/** Result of encoding one version of one kind. */
export type EncodedVersion =
  | { ok: true; kind: string; version: string; chunks: Buffer[]; totalRows: number; bytes: number; encodeMs: number }
  | { ok: false; kind: string; version: string; error: Error };

/** An encode failure, for status output. */
export interface EncodeFailure {
  kind: string;
  version: string;
  error: string;
  table: string | null;
  row: string | number | null;
}

/** Encode cache: `get` encodes a snapshot on first use; `failures` lists versions that could not be encoded. */
export interface EncodedVersions {
  get(snap: PushSnapshot): EncodedVersion;
  failures(): EncodeFailure[];
}

/** Creates the per-kind encode cache. */
export function createEncodedVersions(opts: ChunkOptions = {}): EncodedVersions {
  const byKind = new Map<string, { snap: PushSnapshot; enc: EncodedVersion }>();
  return {
    get(snap) {
      const hit = byKind.get(snap.kind);
      if (hit && hit.snap.version === snap.version && hit.snap.set === snap.set) return hit.enc;
      const t0 = performance.now();
      let enc: EncodedVersion;
      try {
        const r = encodeTableChunks(snap.kind, snap.set, opts);
        enc = { ok: true, kind: snap.kind, version: snap.version, chunks: r.chunks, totalRows: r.totalRows, bytes: r.bytes, encodeMs: performance.now() - t0 };
      } catch (e) {
        enc = { ok: false, kind: snap.kind, version: snap.version, error: e instanceof Error ? e : new Error(String(e)) };
      }
      byKind.set(snap.kind, { snap, enc });
      return enc;
    },
    failures() {
      const out: EncodeFailure[] = [];
      for (const { enc } of byKind.values()) {
        if (enc.ok) continue;
        const te = enc.error instanceof TableError ? enc.error : null;
        out.push({ kind: enc.kind, version: enc.version, error: enc.error.message, table: te?.table ?? null, row: te?.row ?? null });
      }
      return out;
    },
  };
}
