/**
 * The types of the control plane's snapshot source (source.ts): what a kind's compiled version,
 * compile error, refresh result, diff and status look like. Re-exported by source.ts.
 */
import type { TableRow, TableSet } from "../../tables/rows.js";
import type { RowChange, RowRef } from "./diff.js";
import type { RefusedEntry } from "./refusals.js";
import type { RefusedRow, RowPolicy } from "./row-isolation.js";
import type { ChangeCheckStats } from "./read-rows.js";
import type { ChangeTailStatus } from "./change-tail.js";

/** One compiled, validated version of a kind: what a data plane receives. */
export interface KindSnapshot {
  kind: string;
  /** Content hash of the rows (stable across restarts for the same rows). */
  version: string;
  set: TableSet;
  rows: number;
  compiledAt: string;
  /** RowDigest of the rows when the compile computed it (the push's delta base digest). */
  digest?: string;
  /**
   * Set when the change-capture fast path made this version from `base` (the kind's previous
   * version): the rows changed per table. The push's least-secret view derives its rows from its
   * view of the base with it (push/least-secret.ts) instead of redacting every row again.
   */
  changes?: { readonly base: string; readonly tables: ReadonlyMap<string, { readonly removed: readonly TableRow[]; readonly added: readonly TableRow[] }> };
}

/** Why a kind did not compile: the table and row (its key) at fault. */
export interface CompileError {
  kind: string;
  table: string;
  row: string | number | null;
  reason: string;
}

/** What the push side consumes (see control-plane/README.md). */
export interface SnapshotSource {
  kinds(): string[];
  current(kind: string): KindSnapshot | undefined;
  /** Recompile everything from the DB now; returns per-kind results. */
  refresh(reason: string): Promise<RefreshResult>;
  onChange(fn: (changedKinds: string[]) => void): () => void;
  /**
   * An older version of a kind from olelo_snapshots (the newest `keepSnapshots` per kind keep
   * their rows), checked against its content hash; the push server uses it as a delta base.
   */
  snapshot(kind: string, version: string): Promise<KindSnapshot | undefined>;
  /** What the next push would change vs current: per kind, added/removed/changed rows by id. */
  diff(): Promise<Array<{ kind: string; added: unknown[]; removed: unknown[]; changed: unknown[] }>>;
}

export interface RefreshResult {
  changed: string[];
  /** Kinds held (not compiled as read: hold policy, or an error that names no row). */
  errors: CompileError[];
  /** Rows left out of the kinds that went live (skip policy), and the first bad row of held kinds. */
  refused: RefusedRow[];
}

/** One kind's entry in `diff()`: the row changes plus the versions involved. */
export interface KindDiff {
  kind: string;
  /** Version currently served (null: nothing compiled yet). */
  from: string | null;
  /** Version the database would compile to now (null when it fails to compile). */
  to: string | null;
  /** Set when the database rows would not compile (they will not be pushed). */
  error?: CompileError;
  /** Rows that would be left out (skip policy). */
  refused?: RefusedRow[];
  added: RowRef[];
  removed: RowRef[];
  changed: RowChange[];
}

export interface KindStatus {
  kind: string;
  tables: readonly string[];
  validator: string;
  version: string | null;
  rows: number;
  compiledAt: string | null;
  /** Last compile attempt (success or failure). */
  checkedAt: string | null;
  lastError: CompileError | null;
  lastErrorAt: string | null;
  /** skip (bad rows refused alone) or hold (the kind waits for all rows to compile). */
  policy: RowPolicy;
  /** The kind is not at what the database holds: it stays at `version` (lastError says why). */
  held: boolean;
  /** Rows left out of `version`, with the time each was first refused. */
  refused: RefusedEntry[];
}

export interface SourceStatus {
  kinds: KindStatus[];
  /** Rows refused since start (each row once per reason); refusedRows: refused now, all kinds. */
  refusalsTotal: number;
  refusedRows: number;
  pollIntervalMs: number;
  lastPollAt: string | null;
  lastPollError: string | null;
  polls: number;
  /** Tables scanned vs skipped (unchanged big tables) by the change check. */
  scans: ChangeCheckStats;
  /** The change-log tail (null: change capture off, polling only). */
  cdc: ChangeTailStatus | null;
}
