/**
 * Control-plane mode with `workers: N`: the primary's one sync client (data-plane/sync/client.ts)
 * loads each version through this registry stand-in, which hands it to every running worker and
 * answers (→ ACK) only once every one applied it. If any worker refuses it, the answer is the first
 * refusal (→ NACK) and the workers that did apply it get the last good version back, so the node
 * runs one version. A worker that (re)starts gets the current version of every kind before it
 * counts as running (`prime`). Loads and primes run one at a time, in order.
 */
import { TableError, type SyncTables, type TableDeltaChange, type TableListener, type TableSet, type WireDelta } from "../core/tables/registry.js";
import type { SharedKind } from "./shared-kinds.js";
import { sortKinds } from "../../tables/wire/table-kinds.js";
import { createLogger } from "../../lib/log/logger.js";
import { NEEDS_FULL, ROWS_PER_MESSAGE, type ToWorker } from "./protocol.js";

const log = createLogger("olelo");

/** What the fan-out needs of the primary: its running workers and a call to one of them. */
export interface FanoutHost<S> {
  live(): S[];
  index(slot: S): number;
  send(slot: S, msg: Omit<Extract<ToWorker, { t: "tables" }>, "id"> | Omit<Extract<ToWorker, { t: "rows" }>, "id"> | Omit<Extract<ToWorker, { t: "shared" }>, "id">): Promise<unknown>;
}

type LoadResult = { ok: true; incremental: boolean } | { ok: false; error: TableError | Error };

export interface WorkerTables<S> extends SyncTables {
  /** Kinds the workers' modules registered (from worker 0's ready message). */
  setKinds(kinds: string[], options: Record<string, unknown>): void;
  /** The current version of every kind, to one worker (after a restart), before it takes its share of RPCs. */
  prime(slot: S): Promise<void>;
  /** Kind → version every running worker runs. */
  versions(): Record<string, string>;
  /** The kinds compiled once in shared memory: version, compiles by the primary, shared bytes. */
  sharedStatus(): Record<string, SharedStatus>;
}

export interface SharedStatus {
  version: string | null;
  /** Full compiles of the node (one per full version, plus one per fold). */
  compiles: number;
  deltaCompiles: number;
  folds: number;
  bytes: number;
  /** Compile time of the last version (ms) and from its receipt to every worker applied (ms). */
  lastCompileMs: number;
  lastApplyMs: number;
}

/** The worker's error back as an Error (a TableError again when it was one: the NACK names table and row). */
function asError(e: unknown, worker: number): Error {
  const err = e as { message?: string; data?: { tableError?: { table: string; row: string | number | null; reason: string } | null } };
  const te = err.data?.tableError;
  if (te) return new TableError(te.table, te.row, te.reason);
  return new Error(`worker ${worker}: ${err.message ?? String(e)}`);
}

export function createWorkerTables<S>(host: FanoutHost<S>, shared: ReadonlyMap<string, SharedKind> = new Map()): WorkerTables<S> {
  let kinds: string[] = [];
  let options: Record<string, unknown> = {};
  const listeners = new Set<TableListener>();
  /** The last version every worker applied, per kind: what a new worker gets, and what a partial failure rolls back to. */
  const current = new Map<string, { version: string; set: TableSet; source: string }>();
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn);
    queue = next.catch(() => undefined);
    return next;
  };

  /** A full version to one worker: big tables in slices ahead of the `tables` message, which answers once applied. */
  const sendFull = (w: S, kind: string, version: string, source: string, set: TableSet): Promise<unknown> => {
    let rows = 0;
    for (const t of Object.values(set)) rows += t.length;
    if (rows <= ROWS_PER_MESSAGE) return host.send(w, { t: "tables", kind, version, source, set, delta: null });
    return (async () => {
      // one slice at a time: the worker reads each between its SIP messages
      for (const [table, all] of Object.entries(set)) {
        if (all.length === 0) await host.send(w, { t: "rows", kind, version, table, rows: [] });
        for (let i = 0; i < all.length; i += ROWS_PER_MESSAGE) await host.send(w, { t: "rows", kind, version, table, rows: all.slice(i, i + ROWS_PER_MESSAGE) });
      }
      return host.send(w, { t: "tables", kind, version, source, set: {}, delta: null, chunked: true });
    })();
  };

  /** One worker gets the version: a delta as received (only the changed rows are cloned), or the full set when it cannot apply the delta. */
  const sendTo = async (w: S, kind: string, set: TableSet, version: string, source: string, wire: WireDelta | null): Promise<unknown> => {
    if (!wire) return sendFull(w, kind, version, source, set);
    try {
      return await host.send(w, { t: "tables", kind, version, source, set: wire.upserts, delta: { wire: wire.delta, baseDigest: wire.baseDigest } });
    } catch (e) {
      if ((e as { code?: number }).code !== NEEDS_FULL) throw e;
      log.info("a worker could not apply a delta; sending it the full set", { worker: host.index(w), kind, version, why: (e as Error).message });
      return sendFull(w, kind, version, source, set);
    }
  };

  /** Shared kinds: what every worker runs (its compiled form in the primary, over the shared buffers). */
  const sharedCur = new Map<string, { version: string; source: string; set: TableSet; compiled: unknown }>();
  const sstat = new Map<string, SharedStatus>();
  const statOf = (kind: string): SharedStatus => {
    let st = sstat.get(kind);
    if (!st) sstat.set(kind, (st = { version: null, compiles: 0, deltaCompiles: 0, folds: 0, bytes: 0, lastCompileMs: 0, lastApplyMs: 0 }));
    return st;
  };
  const postShared = (w: S, kind: string, c: { version: string; source: string; compiled: unknown }, fold = false) => {
    const sk = shared.get(kind)!;
    return host.send(w, { t: "shared", kind, version: c.version, source: c.source, compiled: sk.share(c.compiled), rows: sk.rows(c.compiled), fold });
  };
  /** After deltas pause, the overlay is folded into a new shared tree once, for every worker. */
  const foldTimers = new Map<string, NodeJS.Timeout>();
  const scheduleFold = (kind: string) => {
    clearTimeout(foldTimers.get(kind));
    const cur = sharedCur.get(kind);
    const sk = shared.get(kind)!;
    if (!cur || !sk.hasOverlay(cur.compiled)) return;
    const t = setTimeout(() => {
      void sk.compile(cur.set).then(
        (fresh) =>
          serial(async () => {
            if (sharedCur.get(kind) !== cur) return;
            statOf(kind).folds++;
            const next = { ...cur, compiled: fresh };
            const r = await Promise.allSettled(host.live().map((w) => postShared(w, kind, next, true)));
            if (r.every((x) => x.status === "fulfilled")) sharedCur.set(kind, next);
            statOf(kind).bytes = sk.bytes(fresh);
          }),
        (e: unknown) => log.error("folding a shared table's overlay failed; the overlay stays", { kind, error: String(e) }),
      );
    }, 2000);
    t.unref();
    foldTimers.set(kind, t);
  };

  /** A shared kind: compiled once here (the delta over the live structure when it can), then attached by every worker. */
  const loadShared = async (ws: S[], kind: string, set: TableSet, version: string, source: string, change: TableDeltaChange | null, baseVersion: string | null): Promise<LoadResult> => {
    const sk = shared.get(kind)!;
    const st = statOf(kind);
    const t0 = performance.now();
    const prev = sharedCur.get(kind);
    let compiled: unknown = null;
    let viaDelta = false;
    try {
      if (change && prev && prev.version === baseVersion) compiled = sk.delta(prev.compiled, change);
      if (compiled !== null) {
        st.deltaCompiles++;
        viaDelta = true;
      } else {
        compiled = await sk.compile(set);
        st.compiles++;
      }
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      for (const l of listeners) l({ kind, version, ok: false, error: error.message, source });
      return { ok: false, error };
    }
    st.lastCompileMs = Math.round(performance.now() - t0);
    const next = { version, source, set, compiled };
    const results = await Promise.allSettled(ws.map((w) => postShared(w, kind, next)));
    const failed = results.findIndex((r) => r.status === "rejected");
    if (failed < 0) {
      sharedCur.set(kind, next);
      current.set(kind, { version, set, source });
      Object.assign(st, { version, bytes: sk.bytes(compiled), lastApplyMs: Math.round(performance.now() - t0) });
      for (const l of listeners) l({ kind, version, ok: true, source });
      scheduleFold(kind);
      return { ok: true, incremental: viaDelta };
    }
    const error = asError((results[failed] as PromiseRejectedResult).reason, host.index(ws[failed]!));
    const applied = ws.filter((_, i) => results[i]!.status === "fulfilled");
    if (applied.length > 0 && prev) {
      log.warn("shared table version refused by a worker; rolling the others back", { kind, version, back: prev.version });
      await Promise.allSettled(applied.map((w) => postShared(w, kind, prev)));
    }
    for (const l of listeners) l({ kind, version, ok: false, error: error.message, source });
    return { ok: false, error };
  };

  const load = (kind: string, set: TableSet, version: string, source: string, wire: WireDelta | null, change: TableDeltaChange | null = null, baseVersion: string | null = null): Promise<LoadResult> =>
    serial(async () => {
      const ws = host.live();
      if (ws.length === 0) return { ok: false, error: new Error("no worker is running") };
      if (shared.has(kind)) return loadShared(ws, kind, set, version, source, change, baseVersion);
      const results = await Promise.allSettled(ws.map((w) => sendTo(w, kind, set, version, source, wire)));
      const failed = results.findIndex((r) => r.status === "rejected");
      if (failed < 0) {
        current.set(kind, { version, set, source });
        for (const l of listeners) l({ kind, version, ok: true, source });
        const inc = results.every((r) => r.status === "fulfilled" && (r.value as { incremental?: boolean } | null)?.incremental === true);
        return { ok: true, incremental: inc };
      }
      const error = asError((results[failed] as PromiseRejectedResult).reason, host.index(ws[failed]!));
      // the workers that applied it go back to the last good version: the node runs one version
      const prev = current.get(kind);
      const applied = ws.filter((_, i) => results[i]!.status === "fulfilled");
      if (applied.length > 0 && prev) {
        log.warn("table version refused by a worker; rolling the others back", { kind, version, back: prev.version, workers: applied.map((w) => host.index(w)) });
        await Promise.allSettled(applied.map((w) => sendFull(w, kind, prev.version, prev.source, prev.set)));
      }
      for (const l of listeners) l({ kind, version, ok: false, error: error.message, source });
      return { ok: false, error };
    });

  return {
    kinds: () => [...kinds],
    // the sinks' compile options (Hello compile_options), as worker 0's modules declared them
    sink: (kind) => (kinds.includes(kind) ? { options: options[kind] } : undefined),
    setKinds(k, o) {
      kinds = [...k];
      options = o;
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    loadAsync: (kind, set, version, source) => load(kind, set, version, source, null),
    // without the received delta (no caller does that today) every worker gets the built set whole
    loadDeltaAsync: (kind, change, version, source, baseVersion, wire) => load(kind, change.set, version, source, wire ?? null, change, baseVersion),
    prime: (slot) =>
      serial(async () => {
        for (const kind of sortKinds([...current.keys()])) {
          const c = current.get(kind)!;
          const sc = sharedCur.get(kind);
          try {
            // a shared kind: the buffers every worker runs, no rows, no compile
            if (sc) await postShared(slot, kind, sc);
            else await sendFull(slot, kind, c.version, c.source, c.set);
          } catch (e) {
            log.error("a restarted worker refused the current table version", { worker: host.index(slot), kind, version: c.version, error: String(e) });
          }
        }
      }),
    versions: () => Object.fromEntries([...current].map(([k, c]) => [k, c.version])),
    sharedStatus: () => Object.fromEntries([...shared.keys()].map((k) => [k, { ...statOf(k) }])),
  };
}
