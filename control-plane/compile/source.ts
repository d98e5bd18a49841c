/**
 * The control plane's source of truth for what gets pushed: per table kind, the last set of rows
 * that compiled (a `KindSnapshot`, versioned by content hash). The push side (control-plane/push/)
 * reads `current(kind)` and listens to `onChange`; the management API calls `refreshKinds` after a
 * write; an interval change check picks up rows that other programs wrote directly in SQL.
 *
 * A bad row never reaches a data plane. Per kind policy (row-isolation.ts): `skip` (default, as
 * Kamailio's modules load the good rows) refuses the bad rows alone and pushes the rest; `hold`
 * keeps the previous snapshot (as Kamailio's ds_load_list keeps the old list on a failed reload)
 * with only deletions applied. Refused rows are listed per kind in `status()` (refusals.ts logs and
 * audits them); a held kind's error is kept until a later compile of that kind succeeds.
 *
 * @example
 *   const source = await createDbSnapshotSource({ db, pool, pollIntervalMs: 5000 });
 *   source.onChange((kinds) => pushKinds(kinds.map((k) => source.current(k)!)));
 */
import type { Pool, PoolConnection } from "mysql2/promise";
import { createLogger, type Logger } from "../../lib/log/logger.js";
import { TableError, type TableSet } from "../../tables/rows.js";
import type { OleloDb } from "../db/connect.js";
import { diffSets } from "./diff.js";
import { KINDS, type KindDef } from "./kinds.js";
import { createRefusalTracker } from "./refusals.js";
import { compileIsolated, withDeletionsAndDisables, withoutRows, type RefusedRow, type RowPolicy } from "./row-isolation.js";
import { createChangeChecker, kindFingerprint, readFingerprints, readTables } from "./read-rows.js";
import { loadLatestSnapshots, loadSnapshot, saveSnapshot } from "./snapshot-store.js";
import { createChangeTail } from "./change-tail.js";
import { applyTableChanges } from "./apply-changes.js";
import type { TableChanges } from "./change-tail.js";
import { versionOfSet } from "./version-hash.js";
import { compileSpliced, type FastState } from "./fast-compile.js";

import type { CompileError, KindDiff, KindSnapshot, KindStatus, RefreshResult, SnapshotSource, SourceStatus } from "./source-types.js";
export type { CompileError, KindDiff, KindSnapshot, KindStatus, RefreshResult, SnapshotSource, SourceStatus } from "./source-types.js";

/** The DB-backed SnapshotSource with the extras the management API uses. */
export interface DbSnapshotSource extends SnapshotSource {
  diff(): Promise<KindDiff[]>;
  /** Recompiles only these kinds (after an API write). */
  refreshKinds(kinds: readonly string[], reason: string): Promise<RefreshResult>;
  /** One interval change check now: fingerprints all tables, recompiles the kinds that moved. */
  checkNow(): Promise<RefreshResult & { checked: number }>;
  /** Compiles a candidate set without touching state (the API validates writes with it). */
  compileSet(kind: string, set: TableSet): CompiledSet;
  /** Reads and compiles kinds from the database without changing any state (the dry run's "after"). */
  candidate(kinds: readonly string[]): Promise<Map<string, { set: TableSet; version: string; compiled: unknown } | { error: CompileError }>>;
  status(): SourceStatus;
  /** Stops the interval check. */
  close(): Promise<void>;
}

/** A compile of a candidate set: ok with what would go live (without the refused rows), or held. */
export type CompiledSet =
  | { ok: true; version: string; rows: number; set: TableSet; refused: RefusedRow[]; fast?: FastState; changes?: KindSnapshot["changes"] }
  | { ok: false; error: CompileError; refused: RefusedRow[] };

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
  /** Bad-row policy per kind (default skip; see row-isolation.ts). */
  rowPolicy?: Readonly<Record<string, RowPolicy>>;
  /** Write refused rows to olelo_audit (default: as persist). */
  audit?: boolean;
  /** Tail olelo_changes every N ms (change capture, change-tail.ts); 0/undefined = off. */
  cdcIntervalMs?: number;
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
  /** FastState of `current` (kinds with compileDelta only). */
  fast?: FastState;
  fingerprint: string | null;
  checkedAt: string | null;
  lastError: CompileError | null;
  lastErrorAt: string | null;
  policy: RowPolicy;
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
    defs.map((def) => [def.kind, { def, current: undefined, fingerprint: null, checkedAt: null, lastError: null, lastErrorAt: null, policy: opts.rowPolicy?.[def.kind] ?? "skip" }]),
  );
  const refusals = createRefusalTracker({ pool, log, audit: opts.audit ?? persist });
  const allTables = defs.flatMap((d) => d.tables);
  const checker = createChangeChecker(pool, allTables, { bigTableRows: opts.bigTableRows });
  const listeners = new Set<(kinds: string[]) => void>();
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const poll = { lastPollAt: null as string | null, lastPollError: null as string | null, polls: 0 };

  let persistChain: Promise<unknown> = Promise.resolve();
  /** Snapshot stores, one at a time, beside the compile queue. */
  function persisting<T>(job: () => Promise<T>): Promise<T> {
    const p = persistChain.then(job, job);
    persistChain = p.catch(() => undefined);
    return p;
  }

  /** Runs jobs one at a time (refreshes, checks and diffs never interleave). */
  function serial<T>(job: () => Promise<T>): Promise<T> {
    const p = chain.then(job, job);
    chain = p.catch(() => undefined);
    return p;
  }

  /** Per kind, the last versions that compiled (see compileSet). */
  const compiledOk = new Map<string, string[]>();
  const lastRefused = new Map<string, { raw: string; version: string; refused: RefusedRow[] }>();

  function compileSet(kind: string, set: TableSet): CompiledSet {
    const st = states.get(kind);
    if (!st) return { ok: false, error: { kind, table: "", row: null, reason: `unknown kind '${kind}'` }, refused: [] };
    const { version, digest } = versionOfSet(kind, st.def.tables, set);
    // The compile is pure and the version is a hash of the rows: a version that compiled whole once
    // (a write's candidate, then the refresh after its commit) is not compiled again.
    if (st.current?.version === version || compiledOk.get(kind)?.includes(version)) return { ok: true, version, rows: countRows(set), set, refused: [] };
    // Rows with refusals: the last such result per kind is kept as its refused keys, so the same
    // rows again (the refresh after a write, the write's before-check) cost a filter, not N compiles.
    const known = lastRefused.get(kind);
    if (known?.raw === version) {
      const kept = withoutRows(st.def, set, known.refused);
      return { ok: true, version: known.version, rows: countRows(kept), set: kept, refused: known.refused };
    }
    const r = compileIsolated(st.def, set, st.policy, (e) => toCompileError(st.def, e));
    if (!r.ok) return r;
    if (r.refused.length) {
      const kept = versionOfSet(kind, st.def.tables, r.set);
      lastRefused.set(kind, { raw: version, version: kept.version, refused: r.refused });
      // the kept rows' compiled result: later changes take the fast path, bad rows and all
      const fastKept = st.def.compileDelta && kept.digest ? { fast: { version: kept.version, compiled: r.compiled, digest: kept.digest } } : {};
      return { ok: true, version: kept.version, rows: countRows(r.set), set: r.set, refused: r.refused, ...fastKept };
    }
    const seen = compiledOk.get(kind) ?? [];
    seen.push(version);
    if (seen.length > 4) seen.shift();
    compiledOk.set(kind, seen);
    const fast = st.def.compileDelta && digest ? { version, compiled: r.compiled, digest } : undefined;
    return { ok: true, version, rows: countRows(set), set, refused: [], ...(fast ? { fast } : {}) };
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
    const out: RefreshResult = { changed: [], errors: [], refused: [] };
    const now = new Date().toISOString();
    for (const { st, set, fp, readError } of read) {
      st.fingerprint = fp;
      await accept(st, set, readError, fp, reason, now, out);
    }
    notify(out.changed);
    await persisting(() => persistAll(saves));
    return out;
  }

  /** Compiles one kind's new rows and makes them current (or records why it is held). */
  async function accept(st: KindState, set: TableSet | null, readError: CompileError | undefined, fp: string, reason: string, now: string, out: RefreshResult, precompiled?: CompiledSet): Promise<void> {
    st.checkedAt = now;
    const res: CompiledSet = precompiled ?? (set ? compileSet(st.def.kind, set) : { ok: false, error: readError!, refused: [] });
    out.refused.push(...res.refused);
    let next: { version: string; rows: number; set: TableSet; fast?: FastState; changes?: KindSnapshot["changes"] } | null = res.ok ? res : null;
    if (!res.ok) {
      out.errors.push(res.error);
      const repeated = st.lastError && JSON.stringify(st.lastError) === JSON.stringify(res.error);
      st.lastError = res.error;
      if (!repeated) st.lastErrorAt = now;
      // Deletions and disables go live on a held kind too (when the rest still compiles).
      const pruned = st.current && set ? withDeletionsAndDisables(st.def, st.current.set, set) : null;
      const p = pruned ? compileSet(st.def.kind, pruned) : null;
      if (p?.ok && p.refused.length === 0) next = p;
      log.warn("kind held at its last good version", { ...res.error, policy: st.policy, kept: next?.version ?? st.current?.version ?? null, deletionsApplied: next !== null, trigger: reason });
    } else {
      st.lastError = null;
      st.lastErrorAt = null;
    }
    await refusals.update(st.def.kind, res.refused, next?.version ?? st.current?.version ?? null, st.policy);
    if (!next || st.current?.version === next.version) return;
    const live = next;
    st.current = { kind: st.def.kind, version: live.version, set: live.set, rows: live.rows, compiledAt: now, ...(live.fast ? { digest: live.fast.digest } : {}), ...(live.changes ? { changes: live.changes } : {}) };
    st.fast = live.fast;
    out.changed.push(st.def.kind);
    log.info("kind compiled", { kind: st.def.kind, version: live.version, rows: live.rows, refused: res.refused.length, trigger: reason });
    saves.push({ kind: st.def.kind, version: live.version, rows: live.rows, fingerprint: fp, reason, set: live.set });
  }

  /** Change capture: splices the changed rows into the kinds they belong to, or re-reads a kind. */
  async function doApply(changes: TableChanges, reason: string): Promise<RefreshResult> {
    // a kind whose database rows do not compile is re-read whole: splicing into its last good
    // version would silently drop the bad row and clear the error. A kind with refused rows is
    // spliced only on the fast path under `skip` (fast-compile.ts), with its refused rows' keys
    // read back too so each is checked again against the new rows; otherwise it is re-read whole
    // (its current set lacks them, and a splice would "clear" them).
    const fastIsolation = (st: KindState) => st.policy === "skip" && st.fast !== undefined && st.fast.version === st.current?.version;
    const batch = new Map(changes);
    for (const st of states.values()) {
      const refused = refusals.list(st.def.kind);
      if (!refused.length || !fastIsolation(st) || !st.def.tables.some((t) => changes.has(t))) continue;
      for (const r of refused) {
        const keys = batch.get(r.table);
        if (keys === null) continue;
        batch.set(r.table, new Set([...(keys ?? []), r.key]));
      }
    }
    const plan = await applyTableChanges(pool, batch, (kind) => {
      const st = states.get(kind);
      if (!st || st.lastError || (refusals.list(kind).length && !fastIsolation(st))) return undefined;
      return st.current?.set;
    });
    const out: RefreshResult = { changed: [], errors: [], refused: [] };
    const now = new Date().toISOString();
    for (const { kind, set, changes } of plan.spliced) {
      const st = states.get(kind)!;
      // the fingerprint no longer matches these rows: the next safety check re-reads the kind
      st.fingerprint = null;
      const base = st.current?.version;
      const before = refusals.list(kind);
      const fast = compileSpliced(st.def, st.fast, base, set, changes, st.policy, before);
      if (!fast && before.length) {
        plan.reread.push(kind);
        continue;
      }
      const pre: CompiledSet | undefined = fast
        ? { ok: true, version: fast.version, set: fast.set, rows: countRows(fast.set), refused: fast.refused, fast: fast.fast, changes: { base: base!, tables: fast.changes } }
        : undefined;
      await accept(st, set, undefined, "", reason, now, out, pre);
    }
    notify(out.changed);
    if (plan.reread.length) {
      const r = await doRefresh(plan.reread, reason);
      out.changed.push(...r.changed);
      out.errors.push(...r.errors);
      out.refused.push(...r.refused);
    }
    schedulePersist();
    return out;
  }

  let persistTimer: NodeJS.Timeout | null = null;
  /** CDC versions are stored a moment later, batched: a burst of one-row changes stores one version. */
  function schedulePersist(): void {
    if (persistTimer || saves.length === 0) return;
    persistTimer = setTimeout(() => {
      persistTimer = null;
      const latest = new Map(saves.splice(0).map((s) => [s.kind, s]));
      // its own queue: storing a 1M-row version must not hold up the next change batch
      void persisting(() => persistAll([...latest.values()]));
    }, 2000);
    persistTimer.unref();
  }

  const saves: Array<Parameters<typeof saveSnapshot>[1]> = [];
  /** Stores the new versions, after the data planes were told (a 1M-row gzip takes a second). */
  async function persistAll(list: typeof saves): Promise<void> {
    if (!persist) {
      list.length = 0;
      return;
    }
    for (const s of list.splice(0)) {
      try {
        await saveSnapshot(pool, s, keep);
      } catch (e) {
        log.error("could not store snapshot", { kind: s.kind, error: (e as Error).message });
      }
    }
  }

  function notify(changed: string[]): void {
    if (!changed.length) return;
    for (const fn of listeners) {
      try {
        fn(changed);
      } catch (e) {
        log.error("onChange listener failed", { error: (e as Error).message });
      }
    }
  }

  async function doCheck(): Promise<RefreshResult & { checked: number }> {
    const fps = await checker.fingerprints();
    const moved = [...states.values()].filter((st) => kindFingerprint(st.def.tables, fps) !== st.fingerprint).map((st) => st.def.kind);
    poll.lastPollAt = new Date().toISOString();
    poll.polls++;
    if (moved.length === 0) return { changed: [], errors: [], refused: [], checked: allTables.length };
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
      if (!stored || versionOfSet(kind, st.def.tables, stored.set).version !== version) return undefined;
      return { kind, version, set: stored.set, rows: countRows(stored.set), compiledAt: stored.createdAt };
    },
    diff: () =>
      serial(async () => {
        const read = await readKinds([...states.values()]);
        const out: KindDiff[] = [];
        for (const { st, set, readError } of read) {
          const res: CompiledSet = set ? compileSet(st.def.kind, set) : { ok: false, error: readError!, refused: [] };
          const d = diffSets(st.def.tables, st.current?.set, res.ok ? res.set : (set ?? {}));
          const to = res.ok ? res.version : null;
          if (to === (st.current?.version ?? null) && res.ok && res.refused.length === 0) continue;
          out.push({ kind: st.def.kind, from: st.current?.version ?? null, to, ...(res.ok ? {} : { error: res.error }), ...(res.refused.length ? { refused: res.refused } : {}), ...d });
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
          // as a push would: bad rows refused (row policy), then the rows that would go live
          const res = compileSet(st.def.kind, set);
          if (!res.ok) {
            out.set(st.def.kind, { error: res.error });
            continue;
          }
          try {
            out.set(st.def.kind, { set: res.set, version: res.version, compiled: st.def.compile(res.set) });
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
        policy: st.policy,
        held: st.lastError !== null,
        refused: refusals.list(st.def.kind),
      })),
      refusalsTotal: refusals.total(),
      refusedRows: [...states.keys()].reduce((n, k) => n + refusals.list(k).length, 0),
      pollIntervalMs,
      ...poll,
      scans: checker.stats(),
      cdc: tail?.status() ?? null,
    }),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (persistTimer) clearTimeout(persistTimer);
      await tail?.close();
      await chain;
      await persistChain;
    },
  };

  if (persist) {
    for (const [kind, stored] of await loadLatestSnapshots(pool)) {
      const st = states.get(kind);
      if (!st) continue;
      const res = compileSet(kind, stored.set);
      if (!res.ok || res.refused.length) {
        log.warn("stored snapshot no longer compiles; ignoring it", { ...(res.ok ? res.refused[0] : res.error), version: stored.version });
        continue;
      }
      st.current = { kind, version: res.version, set: stored.set, rows: res.rows, compiledAt: stored.createdAt, ...(res.fast ? { digest: res.fast.digest } : {}) };
      st.fast = res.fast;
    }
  }
  const tail = opts.cdcIntervalMs
    ? createChangeTail({
        pool,
        intervalMs: opts.cdcIntervalMs,
        onChanges: (changes, info) => serial(() => doApply(changes, `change log: ${info.ids} change(s) up to #${info.lastId}`)).then(() => undefined),
        onGap: (why) => serial(() => doRefresh([...states.keys()], `change log: ${why}`)).then(() => undefined),
        log,
      })
    : null;
  // the newest change id is read before the full read at start: later changes are tailed, so a
  // write made while the control plane was down is in the full read and nothing is missed
  await tail?.init();
  await source.refresh("start");
  tail?.start();
  schedule();
  return source;
}
