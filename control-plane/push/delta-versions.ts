/**
 * The control plane's memory for deltas: the last few snapshots of every kind (the bases data
 * planes may still run), their row digests, and each encoded delta, computed once per
 * (kind, base version, new version) and shared by every data plane on that base (as
 * encoded-versions.ts shares full encodes). An older base that is no longer kept is asked of the
 * source (`PushSource.snapshot`: the DB-backed source reads olelo_snapshots); without it the node
 * gets the whole version.
 *
 * @example
 *   const deltas = createDeltaVersions(source, resolveDeltaOptions({ maxRatio: 0.25 }));
 *   deltas.note(source.current("prefix_route")!);
 *   const d = await deltas.get("prefix_route", "p1", source.current("prefix_route")!);
 */
import type { ChunkOptions } from "../../tables/wire/table-chunks.js";
import { encodeKindDelta, type EncodedKindDelta } from "../../tables/wire/delta-chunks.js";
import { digestTableSet } from "../../tables/wire/row-digest.js";
import { kindPlan } from "../../tables/wire/table-kinds.js";
import { computeKindDelta } from "./compute-delta.js";
import type { PushSnapshot, PushSource } from "./push-source.js";

/** When the push server sends a delta instead of the whole version (xDS lesson 7). */
export interface DeltaOptions {
  /** Send deltas to data planes that support them (default true). */
  enabled?: boolean;
  /** A delta is used only while upserted + removed rows < maxRatio × rows of the new version (default 0.25). */
  maxRatio?: number;
  /** Kinds with fewer rows than this are always sent whole (state of the world; default 1000). */
  minRows?: number;
  /** Older versions kept per kind as delta bases, besides the current one (default 2). */
  keepVersions?: number;
}

/** DeltaOptions with defaults filled in. */
export type ResolvedDeltaOptions = Required<DeltaOptions>;

/** Fills in the defaults of DeltaOptions. */
export function resolveDeltaOptions(o: DeltaOptions = {}): ResolvedDeltaOptions {
  return { enabled: o.enabled ?? true, maxRatio: o.maxRatio ?? 0.25, minRows: o.minRows ?? 1000, keepVersions: o.keepVersions ?? 2 };
}

/** A delta ready to send, or why the whole version goes instead. */
export type DeltaResult =
  | { ok: true; enc: EncodedKindDelta; changedRows: number; resultDigest: string; computeMs: number }
  | { ok: false; reason: string };

/** See the file comment. */
export interface DeltaVersions {
  /** Remembers a snapshot as a possible base (the server calls it for every current version it sees). */
  note(snap: PushSnapshot): void;
  /** The delta from `baseVersion` to `next`, computed and encoded on first use. */
  get(kind: string, baseVersion: string, next: PushSnapshot): Promise<DeltaResult>;
  /** Versions kept per kind (oldest first), for status and tests. */
  kept(kind: string): string[];
}

/** Creates the delta cache over `source`. */
export function createDeltaVersions(source: PushSource, opts: ResolvedDeltaOptions, chunk: ChunkOptions = {}): DeltaVersions {
  const history = new Map<string, PushSnapshot[]>();
  const digests = new WeakMap<PushSnapshot, string>();
  const deltas = new Map<string, { next: PushSnapshot; result: Promise<DeltaResult> }>();

  const note = (snap: PushSnapshot) => {
    let list = history.get(snap.kind);
    if (!list) {
      list = [];
      history.set(snap.kind, list);
    }
    if (list.at(-1) === snap) return;
    const i = list.findIndex((s) => s.version === snap.version);
    if (i >= 0) list.splice(i, 1);
    list.push(snap);
    while (list.length > opts.keepVersions + 1) list.shift();
    // A version that may become a base needs its digest; a delta towards it derives the digest
    // from its base's, otherwise one full pass (about 200 ms per million rows) runs off the push path.
    if (snap.digest) digests.set(snap, snap.digest);
    else if (opts.enabled && snap.rows >= opts.minRows && kindPlan(snap.kind)) {
      setImmediate(() => {
        if (digests.has(snap) || !history.get(snap.kind)?.includes(snap)) return;
        try {
          digestOf(snap);
        } catch {
          // rows that do not encode: this version is never sent as or used for a delta
        }
      }).unref();
    }
  };

  const digestOf = (snap: PushSnapshot): string => {
    let d = digests.get(snap);
    if (d === undefined) {
      d = snap.digest ?? digestTableSet(snap.kind, snap.set);
      digests.set(snap, d);
    }
    return d;
  };

  const findBase = async (kind: string, version: string): Promise<PushSnapshot | undefined> => {
    const kept = history.get(kind)?.find((s) => s.version === version);
    if (kept) return kept;
    if (!source.snapshot) return undefined;
    try {
      return await source.snapshot(kind, version);
    } catch {
      return undefined;
    }
  };

  const compute = async (kind: string, baseVersion: string, next: PushSnapshot): Promise<DeltaResult> => {
    const base = await findBase(kind, baseVersion);
    if (!base) return { ok: false, reason: `base version ${baseVersion} is no longer kept` };
    const t0 = performance.now();
    try {
      const maxChangedRows = Math.max(0, Math.ceil(opts.maxRatio * next.rows) - 1);
      const comp = computeKindDelta(base, next, digestOf(base), { maxChangedRows });
      if (!comp.ok) return comp;
      const enc = encodeKindDelta(comp.delta, chunk);
      if (!digests.has(next)) digests.set(next, comp.delta.resultDigest);
      return { ok: true, enc, changedRows: comp.changedRows, resultDigest: comp.delta.resultDigest, computeMs: performance.now() - t0 };
    } catch (e) {
      // A row that does not encode: the whole version goes the usual way (and is reported there).
      return { ok: false, reason: e instanceof Error ? e.message : String(e) };
    }
  };

  return {
    note,
    kept: (kind) => (history.get(kind) ?? []).map((s) => s.version),
    get(kind, baseVersion, next) {
      if (!opts.enabled) return Promise.resolve({ ok: false, reason: "deltas are disabled" });
      if (!kindPlan(kind)) return Promise.resolve({ ok: false, reason: `kind ${kind} has no delta form` });
      if (next.rows < opts.minRows) return Promise.resolve({ ok: false, reason: `${next.rows} rows is below the delta threshold of ${opts.minRows}` });
      if (baseVersion === next.version) return Promise.resolve({ ok: false, reason: "base and new version are the same" });
      const key = `${kind}\u0000${baseVersion}\u0000${next.version}`;
      const hit = deltas.get(key);
      if (hit && hit.next === next) return hit.result;
      // Deltas towards an older version of this kind are no longer useful.
      for (const [k, v] of deltas) if (v.next.kind === kind && v.next !== next) deltas.delete(k);
      const result = compute(kind, baseVersion, next);
      deltas.set(key, { next, result });
      return result;
    },
  };
}
