/**
 * Routing tables arrive by *kind* (one kind groups the Kamailio tables that must change together:
 * kind "lcr" = lcr_gw + lcr_rule + lcr_rule_target). The rows keep Kamailio's column names,
 * whether they come from a local table file (standalone mode), from MySQL, or from the control
 * plane over gRPC — so every source goes through one loader per kind: `compile` validates and
 * builds the lookup structure to one side, `apply` swaps it in with a single reference write.
 *
 * @example
 *   tables.register({ kind: "dispatcher", tables: ["dispatcher"], compile: compileSets, apply: (s) => { live = s; } });
 */
import { TableError, type TableRow, type TableSet } from "../../../tables/rows.js";
import type { ReceivedDelta } from "../../../tables/wire/delta-chunks.js";
export { TableError, type TableRow, type TableSet };

export interface TableSink<C = unknown> {
  /** Kind name: dispatcher, lcr, drouting, carrierroute, prefix_route, mtree, subscriber, address, htable, ... */
  readonly kind: string;
  /** Kamailio table names that make up this kind. */
  readonly tables: readonly string[];
  /**
   * Validates and compiles rows; throws (or rejects) with a TableError naming the first bad row.
   * Must not touch live state. Large kinds may return a promise and build in slices that yield to
   * the event loop, so calls keep flowing while a big table compiles (use `loadAsync` for them).
   */
  compile(set: TableSet): C | Promise<C>;
  /** Swaps the compiled structure in. Must not throw. `source` says where the rows came from
   * ("file:/path", "control-plane", "rpc", "mysql"). */
  apply(compiled: C, version: string, source: string): void;
  /**
   * Optional fast path for a delta (a control-plane push of a few changed rows): builds the
   * compiled structure of the new version from the live one and the changed rows, without
   * touching the live one, in O(changed rows). Returns null to ask for a full `compile` of
   * `change.set`. Throws a TableError naming the bad row, like `compile`. Only called when the
   * live version is the delta's base.
   */
  compileDelta?(change: TableDeltaChange): C | null;
  /**
   * The compile options this sink applies (its module params that change which rows are valid:
   * lcr, carrierroute, mtree, htable; tables/kind-options.ts). The sync client reports them in its
   * Hello, and the control plane validates every version with them too.
   */
  readonly options?: unknown;
}

/** The rows a delta changed, per table: `removed` are the base rows it drops (removed or replaced), `added` the rows it puts in. */
export interface TableRowChanges {
  readonly removed: readonly TableRow[];
  readonly added: readonly TableRow[];
}

/** A delta as a sink sees it: the full new set (row objects shared with the base) and what changed. */
export interface TableDeltaChange {
  readonly set: TableSet;
  readonly tables: ReadonlyMap<string, TableRowChanges>;
}

export interface TableStatus {
  kind: string;
  version: string | null;
  appliedAt: string | null;
  rows: number;
  lastError: string | null;
  lastErrorVersion: string | null;
  lastErrorAt: string | null;
  source: string | null;
}

export type TableListener = (ev: { kind: string; version: string; ok: boolean; error?: string; source: string }) => void;

/** Where a kind's rows come from, so `reload(kind)` can read them again (a file, a database). */
export interface TableSource {
  /** Shown in status and errors, e.g. "file:/etc/olelo/lcr.json" or "control-plane". */
  readonly describe: string;
  /** Reads the rows again; throws with a clear reason when it cannot (e.g. fed by the control plane). */
  load(): Promise<{ set: TableSet; version: string }>;
  /**
   * Has the origin re-read the rows and resolves once the new version is applied here (the
   * control plane: data-plane/sync/refresh.ts); when set, `reload` uses it instead of `load`.
   */
  refresh?(): Promise<{ version: string }>;
}

export class TableRegistry {
  private readonly sinks = new Map<string, TableSink>();
  private readonly sources = new Map<string, TableSource>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly status = new Map<string, TableStatus>();
  private readonly listeners = new Set<TableListener>();
  private readonly compiles = new Map<string, number>();

  register(sink: TableSink): void {
    if (this.sinks.has(sink.kind)) throw new Error(`table kind ${sink.kind} registered twice`);
    this.sinks.set(sink.kind, sink);
    this.status.set(sink.kind, {
      kind: sink.kind,
      version: null,
      appliedAt: null,
      rows: 0,
      lastError: null,
      lastErrorVersion: null,
      lastErrorAt: null,
      source: null,
    });
  }

  /** Sets where a kind's rows come from (used by `reload`). */
  setSource(kind: string, source: TableSource): void {
    this.sources.set(kind, source);
  }

  sourceOf(kind: string): TableSource | undefined {
    return this.sources.get(kind);
  }

  /**
   * Reads a kind's rows again from its source and applies them (Kamailio's `<module>.reload`).
   * The live table stays when reading or compiling fails; the error says why.
   */
  async reload(kind: string): Promise<{ ok: true; version: string; source: string } | { ok: false; error: Error }> {
    const src = this.sources.get(kind);
    if (!src) return { ok: false, error: new Error(`table kind '${kind}' has no reloadable source (no table file or database configured)`) };
    if (src.refresh) {
      try {
        return { ok: true, version: (await src.refresh()).version, source: src.describe };
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
      }
    }
    let data: { set: TableSet; version: string };
    try {
      data = await src.load();
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
    }
    const r = await this.loadAsync(kind, data.set, data.version, src.describe);
    return r.ok ? { ok: true, version: data.version, source: src.describe } : r;
  }

  /** Removes a kind (a module being destroyed); its status goes with it. */
  unregister(kind: string): void {
    this.sinks.delete(kind);
    this.status.delete(kind);
  }

  kinds(): string[] {
    return [...this.sinks.keys()];
  }

  sink(kind: string): TableSink | undefined {
    return this.sinks.get(kind);
  }

  /** Compiles (full or delta) this registry ran for a kind; versions compiled elsewhere and applied with loadCompiledAsync do not count. */
  compileCount(kind: string): number {
    return this.compiles.get(kind) ?? 0;
  }

  /**
   * Applies a structure compiled elsewhere (with `workers: N`, by the primary thread over shared
   * memory: data-plane/workers/shared-kinds.ts), in the kind's load order, without compiling.
   */
  loadCompiledAsync(kind: string, compiled: unknown, rows: number, version: string, source: string): Promise<{ ok: true } | { ok: false; error: Error }> {
    return this.enqueue(kind, async () => {
      const sink = this.sinks.get(kind);
      if (!sink) return { ok: false as const, error: new Error(`unknown table kind '${kind}'`) };
      return this.applied(sink, kind, rows, version, source, compiled);
    });
  }

  onChange(fn: TableListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Compiles and applies a table set for one kind. On a bad row the live table stays as it was
   * and the error is returned (and remembered in the status, like a NACK).
   */
  load(kind: string, set: TableSet, version: string, source: string): { ok: true } | { ok: false; error: TableError | Error } {
    const sink = this.sinks.get(kind);
    if (!sink) return { ok: false, error: new Error(`unknown table kind '${kind}'`) };
    let compiled: unknown;
    this.counted(kind);
    try {
      compiled = sink.compile(set);
    } catch (e) {
      return this.rejected(kind, version, source, e);
    }
    if (compiled instanceof Promise) {
      compiled.catch(() => {}); // the caller must use loadAsync for this kind
      return this.rejected(kind, version, source, new Error(`table kind '${kind}' compiles asynchronously: use loadAsync`));
    }
    return this.applied(sink, kind, set, version, source, compiled);
  }

  /**
   * Like `load`, for any sink: awaits an asynchronous compile (built off the hot path in slices),
   * then swaps in one step. The live table is untouched until the new one is complete and valid.
   */
  loadAsync(kind: string, set: TableSet, version: string, source: string): Promise<{ ok: true } | { ok: false; error: TableError | Error }> {
    // one load per kind at a time (a control-plane push and an RPC reload never interleave)
    return this.enqueue(kind, () => this.loadNow(kind, set, version, source));
  }

  /**
   * Like `loadAsync` for a delta from `baseVersion`: when that version is the live one and the sink
   * has `compileDelta`, only the changed rows are compiled; otherwise the whole set is.
   */
  loadDeltaAsync(kind: string, change: TableDeltaChange, version: string, source: string, baseVersion: string): Promise<{ ok: true; incremental: boolean } | { ok: false; error: TableError | Error }> {
    return this.enqueue(kind, async () => {
      const sink = this.sinks.get(kind);
      if (sink?.compileDelta && this.status.get(kind)?.version === baseVersion) {
        let compiled: unknown;
        this.counted(kind);
        try {
          compiled = sink.compileDelta(change);
        } catch (e) {
          return this.rejected(kind, version, source, e);
        }
        if (compiled !== null) return { ...this.applied(sink, kind, change.set, version, source, compiled), incremental: true };
      }
      const r = await this.loadNow(kind, change.set, version, source);
      return r.ok ? { ...r, incremental: false } : r;
    });
  }

  /** Runs `job` after every earlier load of `kind` has settled (one load per kind at a time). */
  private enqueue<T>(kind: string, job: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(kind) ?? Promise.resolve()).then(job);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(kind, tail);
    void tail.then(() => {
      if (this.queues.get(kind) === tail) this.queues.delete(kind);
    });
    return next;
  }

  private async loadNow(kind: string, set: TableSet, version: string, source: string): Promise<{ ok: true } | { ok: false; error: TableError | Error }> {
    const sink = this.sinks.get(kind);
    if (!sink) return { ok: false, error: new Error(`unknown table kind '${kind}'`) };
    let compiled: unknown;
    this.counted(kind);
    try {
      compiled = await sink.compile(set);
    } catch (e) {
      return this.rejected(kind, version, source, e);
    }
    if (this.sinks.get(kind) !== sink) return { ok: false, error: new Error(`table kind '${kind}' was unregistered while compiling`) };
    return this.applied(sink, kind, set, version, source, compiled);
  }

  private counted(kind: string): void {
    this.compiles.set(kind, (this.compiles.get(kind) ?? 0) + 1);
  }

  private rejected(kind: string, version: string, source: string, e: unknown): { ok: false; error: TableError | Error } {
    const err = e instanceof Error ? e : new Error(String(e));
    const st = this.status.get(kind);
    if (st) {
      st.lastError = err.message;
      st.lastErrorVersion = version;
      st.lastErrorAt = new Date().toISOString();
    }
    for (const l of this.listeners) l({ kind, version, ok: false, error: err.message, source });
    return { ok: false, error: err };
  }

  private applied(sink: TableSink, kind: string, set: TableSet | number, version: string, source: string, compiled: unknown): { ok: true } {
    sink.apply(compiled, version, source);
    const st = this.status.get(kind)!;
    st.version = version;
    st.appliedAt = new Date().toISOString();
    st.rows = typeof set === "number" ? set : Object.values(set).reduce((n, rows) => n + rows.length, 0);
    st.source = source;
    for (const l of this.listeners) l({ kind, version, ok: true, source });
    return { ok: true };
  }

  statusOf(kind: string): TableStatus | undefined {
    const s = this.status.get(kind);
    return s ? { ...s } : undefined;
  }

  allStatus(): TableStatus[] {
    return [...this.status.values()].map((s) => ({ ...s }));
  }
}

/**
 * What the control-plane sync client needs of a registry: the process's TableRegistry, or with
 * `workers: N` the primary's fan-out to every worker's registry (data-plane/workers/table-fanout.ts).
 */
export type SyncTables = Pick<TableRegistry, "kinds" | "onChange" | "loadAsync"> & {
  sink(kind: string): { readonly options?: unknown } | undefined;
  /**
   * TableRegistry.loadDeltaAsync, plus the delta as received (`wire`: its upserted rows, the
   * ReceivedDelta and the base's digest), which the workers' fan-out sends instead of the built set.
   */
  loadDeltaAsync(kind: string, change: TableDeltaChange, version: string, source: string, baseVersion: string, wire?: WireDelta): ReturnType<TableRegistry["loadDeltaAsync"]>;
};

/** A delta as the sync client received it (tables/wire/apply-delta.ts builds the new set from it). */
export interface WireDelta {
  readonly upserts: TableSet;
  readonly delta: ReceivedDelta;
  readonly baseDigest: string;
}
