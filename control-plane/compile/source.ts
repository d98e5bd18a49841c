/**
 * The control plane's source of truth for what gets pushed: per table kind, the last set of rows
 * that compiled (a `KindSnapshot`, versioned by content hash). The push side (control-plane/push/)
 * reads `current(kind)` and listens to `onChange`; the management API calls `refreshKinds` after a
 * write; an interval change check picks up rows that other programs wrote directly in SQL.
 *
 * A kind whose rows do not compile keeps its previous snapshot (Kamailio's ds_load_list keeps the
 * old list on a failed reload; xDS lesson 4): a bad row never reaches a data plane. The error is
 * kept in `status()` until a later compile of that kind succeeds.
 *
 * @example
 *   const source = await createDbSnapshotSource({ db, pool, pollIntervalMs: 5000 });
 *   source.onChange((kinds) => pushKinds(kinds.map((k) => source.current(k)!)));
 */
import type { Pool, PoolConnection } from "mysql2/promise";
import { createLogger, type Logger } from "../../lib/log/logger.js";
import { TableError, type TableSet } from "../../tables/rows.js";
import type { OleloDb } from "../db/connect.js";
import { diffSets, type RowChange, type RowRef } from "./diff.js";
import { KINDS, type KindDef } from "./kinds.js";
import { createChangeChecker, kindFingerprint, readFingerprints, readTables, type ChangeCheckStats } from "./read-rows.js";
import { loadLatestSnapshots, loadSnapshot, saveSnapshot } from "./snapshot-store.js";
import { contentVersion } from "./version-hash.js";

/** One compiled, validated version of a kind: what a data plane receives. */
export interface KindSnapshot {
  kind: string;
  /** Content hash of the rows (stable across restarts for the same rows). */
  version: string;
  set: TableSet;
  rows: number;
  compiledAt: string;
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
  refresh(reason: string): Promise<{ changed: string[]; errors: CompileError[] }>;
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
  errors: CompileError[];
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
}

export interface SourceStatus {
  kinds: KindStatus[];
  pollIntervalMs: number;
  lastPollAt: string | null;
  lastPollError: string | null;
  polls: number;
  /** Tables scanned vs skipped (unchanged big tables) by the change check. */
  scans: ChangeCheckStats;
}

/** The DB-backed SnapshotSource with the extras the management API uses. */
export interface DbSnapshotSource extends SnapshotSource {
  diff(): Promise<KindDiff[]>;
  /** Recompiles only these kinds (after an API write). */
  refreshKinds(kinds: readonly string[], reason: string): Promise<RefreshResult>;
  /** One interval change check now: fingerprints all tables, recompiles the kinds that moved. */
  checkNow(): Promise<RefreshResult & { checked: number }>;
  /** Compiles a candidate set without touching state (the API validates writes with it). */
  compileSet(kind: string, set: TableSet): { ok: true; version: string; rows: number } | { ok: false; error: CompileError };
  /** Reads and compiles kinds from the database without changing any state (the dry run's "after"). */
  candidate(kinds: readonly string[]): Promise<Map<string, { set: TableSet; version: string; compiled: unknown } | { error: CompileError }>>;
  status(): SourceStatus;
  /** Stops the interval check. */
  close(): Promise<void>;
}

export interface DbSnapshotSourceOptions {
  db: OleloDb;
  pool: Pool;
  /** Interval of the change check in ms; 0 disables it (default 5000). */
  pollIntervalMs?: number;
  /** Kinds to compile (default: all built-in kinds). */
  kinds?: readonly KindDef[];
  /** Store versions in olelo_snapshots and restore the last good ones at start (default true). */
  persist?: boolean;
  /** How many newest versions per kind keep their rows in olelo_snapshots (default 3). */
  keepSnapshots?: number;
  /** Tables with more rows than this are only scanned when UPDATE_TIME moved (default 50000). */
  bigTableRows?: number;
  log?: Logger;
}

/** Turns anything a compile function throws into a CompileError. */
export function toCompileError(def: KindDef, e: unknown): CompileError {
  if (e instanceof TableError) return { kind: def.kind, table: e.table, row: e.row, reason: e.reason };
  const o = e as { table?: unknown; row?: unknown; reason?: unknown; message?: unknown };
  if (typeof o?.table === "string" && typeof o.reason === "string") {
    const row = typeof o.row === "string" || typeof o.row === "number" ? o.row : null;
    return { kind: def.kind, table: o.table, row, reason: o.reason };
  }
  return { kind: def.kind, table: def.tables[0] ?? "", row: null, reason: `compile failed: ${String(o?.message ?? e)}` };
}

function countRows(set: TableSet): number {
  let n = 0;
  for (const rows of Object.values(set)) n += rows.length;
  return n;
}

interface KindState {
  def: KindDef;
  current: KindSnapshot | undefined;
  fingerprint: string | null;
  checkedAt: string | null;
  lastError: CompileError | null;
  lastErrorAt: string | null;
}

/**
 * Creates the source: restores the last good versions from olelo_snapshots, compiles every kind
 * from the database once, then starts the interval change check.
 */
export async function createDbSnapshotSource(opts: DbSnapshotSourceOptions): Promise<DbSnapshotSource> {
  const { pool } = opts;
  const log = opts.log ?? createLogger("control-plane.compile");
  const defs = opts.kinds ?? KINDS;
  const pollIntervalMs = opts.pollIntervalMs ?? 5000;
  const persist = opts.persist ?? true;
  const keep = opts.keepSnapshots ?? 3;
  const states = new Map<string, KindState>(
    defs.map((def) => [def.kind, { def, current: undefined, fingerprint: null, checkedAt: null, lastError: null, lastErrorAt: null }]),
  );
  const allTables = defs.flatMap((d) => d.tables);
  const checker = createChangeChecker(pool, allTables, { bigTableRows: opts.bigTableRows });
  const listeners = new Set<(kinds: string[]) => void>();
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const poll = { lastPollAt: null as string | null, lastPollError: null as string | null, polls: 0 };

  /** Runs jobs one at a time (refreshes, checks and diffs never interleave). */
  function serial<T>(job: () => Promise<T>): Promise<T> {
    const p = chain.then(job, job);
    chain = p.catch(() => undefined);
    return p;
  }

  /** Per kind, the last versions that compiled (see compileSet). */
  const compiledOk = new Map<string, string[]>();

  function compileSet(kind: string, set: TableSet): { ok: true; version: string; rows: number } | { ok: false; error: CompileError } {
    const st = states.get(kind);
    if (!st) return { ok: false, error: { kind, table: "", row: null, reason: `unknown kind '${kind}'` } };
    const version = contentVersion(kind, st.def.tables, set);
    // The compile is pure and the version is a hash of the rows: a version that compiled once
    // (a write's candidate, then the refresh after its commit) is not compiled again.
    if (st.current?.version !== version && !compiledOk.get(kind)?.includes(version)) {
      try {
        st.def.compile(set);
      } catch (e) {
        return { ok: false, error: toCompileError(st.def, e) };
      }
      const seen = compiledOk.get(kind) ?? [];
      seen.push(version);
      if (seen.length > 4) seen.shift();
      compiledOk.set(kind, seen);
    }
    return { ok: true, version, rows: countRows(set) };
  }

  /** Reads the kinds' rows and fingerprints in one consistent snapshot. */
  async function readKinds(ks: readonly KindState[]): Promise<Array<{ st: KindState; set: TableSet | null; fp: string; readError?: CompileError }>> {
    const conn: PoolConnection = await pool.getConnection();
    try {
      await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
      const fps = await readFingerprints(conn, ks.flatMap((s) => s.def.tables));
      const out: Array<{ st: KindState; set: TableSet | null; fp: string; readError?: CompileError }> = [];
      for (const st of ks) {
        const fp = kindFingerprint(st.def.tables, fps);
        const missing = st.def.tables.find((t) => fps.get(t) === "missing");
        if (missing) {
          out.push({ st, set: null, fp, readError: { kind: st.def.kind, table: missing, row: null, reason: `table '${missing}' does not exist` } });
          continue;
        }
        out.push({ st, set: await readTables(conn, st.def.tables), fp });
      }
      await conn.query("COMMIT");
      return out;
    } catch (e) {
      await conn.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      conn.release();
    }
  }

  async function doRefresh(kinds: readonly string[], reason: string): Promise<RefreshResult> {
    const ks = kinds.map((k) => {
      const st = states.get(k);
      if (!st) throw new Error(`unknown kind '${k}'`);
      return st;
    });
    const read = await readKinds(ks);
    const changed: string[] = [];
    const errors: CompileError[] = [];
    const now = new Date().toISOString();
    for (const { st, set, fp, readError } of read) {
      st.fingerprint = fp;
      st.checkedAt = now;
      const res = set ? compileSet(st.def.kind, set) : { ok: false as const, error: readError! };
      if (!res.ok) {
        errors.push(res.error);
        const repeated = st.lastError && JSON.stringify(st.lastError) === JSON.stringify(res.error);
        st.lastError = res.error;
        if (!repeated) st.lastErrorAt = now;
        log.warn("kind does not compile; keeping the previous version", { ...res.error, kept: st.current?.version ?? null, trigger: reason });
        continue;
      }
      st.lastError = null;
      st.lastErrorAt = null;
      if (st.current?.version === res.version) continue;
      st.current = { kind: st.def.kind, version: res.version, set: set!, rows: res.rows, compiledAt: now };
      changed.push(st.def.kind);
      log.info("kind compiled", { kind: st.def.kind, version: res.version, rows: res.rows, trigger: reason });
      if (persist) {
        try {
          await saveSnapshot(pool, { kind: st.def.kind, version: res.version, rows: res.rows, fingerprint: fp, reason, set: set! }, keep);
        } catch (e) {
          log.error("could not store snapshot", { kind: st.def.kind, error: (e as Error).message });
        }
      }
    }
    if (changed.length) {
      for (const fn of listeners) {
        try {
          fn(changed);
        } catch (e) {
          log.error("onChange listener failed", { error: (e as Error).message });
        }
      }
    }
    return { changed, errors };
  }

  async function doCheck(): Promise<RefreshResult & { checked: number }> {
    const fps = await checker.fingerprints();
    const moved = [...states.values()].filter((st) => kindFingerprint(st.def.tables, fps) !== st.fingerprint).map((st) => st.def.kind);
    poll.lastPollAt = new Date().toISOString();
    poll.polls++;
    if (moved.length === 0) return { changed: [], errors: [], checked: allTables.length };
    const res = await doRefresh(moved, `change check: ${moved.join(", ")} changed in the database`);
    return { ...res, checked: allTables.length };
  }

  function schedule(): void {
    if (closed || pollIntervalMs <= 0) return;
    timer = setTimeout(() => {
      serial(doCheck)
        .then(() => {
          poll.lastPollError = null;
        })
        .catch((e: Error) => {
          poll.lastPollError = e.message;
          log.error("change check failed", { error: e.message });
        })
        .finally(schedule);
    }, pollIntervalMs);
    timer.unref();
  }

  const source: DbSnapshotSource = {
    kinds: () => [...states.keys()],
    current: (kind) => states.get(kind)?.current,
    refresh: (reason) => serial(() => doRefresh([...states.keys()], reason)),
    refreshKinds: (kinds, reason) => serial(() => doRefresh(kinds, reason)),
    checkNow: () => serial(doCheck),
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    compileSet,
    async snapshot(kind, version) {
      const st = states.get(kind);
      if (!st) return undefined;
      if (st.current?.version === version) return st.current;
      if (!persist) return undefined;
      const stored = await loadSnapshot(pool, kind, version);
      // The version is a content hash: rows that do not hash to it are not that version.
      if (!stored || contentVersion(kind, st.def.tables, stored.set) !== version) return undefined;
      return { kind, version, set: stored.set, rows: countRows(stored.set), compiledAt: stored.createdAt };
    },
    diff: () =>
      serial(async () => {
        const read = await readKinds([...states.values()]);
        const out: KindDiff[] = [];
        for (const { st, set, readError } of read) {
          const res = set ? compileSet(st.def.kind, set) : { ok: false as const, error: readError! };
          const d = diffSets(st.def.tables, st.current?.set, set ?? {});
          const to = res.ok ? res.version : null;
          if (to === (st.current?.version ?? null) && res.ok) continue;
          out.push({ kind: st.def.kind, from: st.current?.version ?? null, to, ...(res.ok ? {} : { error: res.error }), ...d });
        }
        return out;
      }),
    candidate: (kinds) =>
      serial(async () => {
        const read = await readKinds(kinds.map((k) => states.get(k)).filter((st) => st !== undefined));
        const out = new Map<string, { set: TableSet; version: string; compiled: unknown } | { error: CompileError }>();
        for (const { st, set, readError } of read) {
          if (!set) {
            out.set(st.def.kind, { error: readError! });
            continue;
          }
          try {
            out.set(st.def.kind, { set, version: contentVersion(st.def.kind, st.def.tables, set), compiled: st.def.compile(set) });
          } catch (e) {
            out.set(st.def.kind, { error: toCompileError(st.def, e) });
          }
        }
        return out;
      }),
    status: () => ({
      kinds: [...states.values()].map((st) => ({
        kind: st.def.kind,
        tables: st.def.tables,
        validator: st.def.validator,
        version: st.current?.version ?? null,
        rows: st.current?.rows ?? 0,
        compiledAt: st.current?.compiledAt ?? null,
        checkedAt: st.checkedAt,
        lastError: st.lastError,
        lastErrorAt: st.lastErrorAt,
      })),
      pollIntervalMs,
      ...poll,
      scans: checker.stats(),
    }),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await chain;
    },
  };

  if (persist) {
    for (const [kind, stored] of await loadLatestSnapshots(pool)) {
      const st = states.get(kind);
      if (!st) continue;
      const res = compileSet(kind, stored.set);
      if (!res.ok) {
        log.warn("stored snapshot no longer compiles; ignoring it", { ...res.error, version: stored.version });
        continue;
      }
      st.current = { kind, version: res.version, set: stored.set, rows: res.rows, compiledAt: stored.createdAt };
    }
  }
  await source.refresh("start");
  schedule();
  return source;
}
