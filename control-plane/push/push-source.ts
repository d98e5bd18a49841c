/**
 * What the push server needs from the control plane's compiled tables: the current snapshot per
 * kind and a change signal. `SnapshotSource` in control-plane/compile/source.ts (the MySQL-backed
 * compile step) satisfies it structurally; tests and benchmarks use `createMemorySource`.
 *
 * @example
 *   const source = createMemorySource();
 *   source.set("dispatcher", { dispatcher: rows }, "v1"); // notifies onChange(["dispatcher"])
 */
import type { TableSet } from "../../tables/rows.js";
import type { KindSnapshot } from "../compile/source-types.js";

/** One compiled version of one table kind: the compile step's KindSnapshot (its digest, when known, saves the push a full pass). */
export type PushSnapshot = KindSnapshot;

/** The part of SnapshotSource the push server reads. */
export interface PushSource {
  kinds(): string[];
  current(kind: string): PushSnapshot | undefined;
  onChange(fn: (changedKinds: string[]) => void): () => void;
  /**
   * An older version of a kind, when the source still has its rows (the base of a delta to a data
   * plane that runs it; the push server keeps recent ones itself). Optional.
   */
  snapshot?(kind: string, version: string): Promise<PushSnapshot | undefined>;
}

/** In-memory PushSource: tables are set by code (tests, benchmarks, a fixture control plane). */
export interface MemorySource extends PushSource {
  /** Replaces a kind's tables; `version` defaults to a counter ("m1", "m2", ...). Notifies listeners. */
  set(kind: string, set: TableSet, version?: string): PushSnapshot;
  /** Removes a kind (no further pushes of it; data planes keep what they have). */
  delete(kind: string): void;
}

/** Options of `createMemorySource`. */
export interface MemorySourceOptions {
  /** Older versions per kind that `snapshot()` can still return (default 0: none). */
  keepVersions?: number;
}

/** Creates an in-memory PushSource. */
export function createMemorySource(opts: MemorySourceOptions = {}): MemorySource {
  const snaps = new Map<string, PushSnapshot>();
  const older = new Map<string, PushSnapshot[]>();
  const keep = opts.keepVersions ?? 0;
  const listeners = new Set<(kinds: string[]) => void>();
  let counter = 0;
  const notify = (kinds: string[]) => {
    for (const l of [...listeners]) l(kinds);
  };
  return {
    kinds: () => [...snaps.keys()],
    current: (kind) => snaps.get(kind),
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async snapshot(kind, version) {
      const cur = snaps.get(kind);
      if (cur?.version === version) return cur;
      return older.get(kind)?.find((s) => s.version === version);
    },
    set(kind, set, version) {
      const rows = Object.values(set).reduce((n, r) => n + r.length, 0);
      const snap: PushSnapshot = { kind, version: version ?? `m${++counter}`, set, rows, compiledAt: new Date().toISOString() };
      const prev = snaps.get(kind);
      if (prev && keep > 0 && prev.version !== snap.version) {
        const list = older.get(kind) ?? [];
        list.push(prev);
        while (list.length > keep) list.shift();
        older.set(kind, list);
      }
      snaps.set(kind, snap);
      notify([kind]);
      return snap;
    },
    delete(kind) {
      if (snaps.delete(kind)) notify([kind]);
    },
  };
}
