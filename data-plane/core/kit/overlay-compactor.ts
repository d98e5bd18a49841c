import type { TableSet } from "../../../tables/rows.js";

export interface OverlayCompactorOptions<C> {
  /** Whether a compiled structure still carries a delta overlay. */
  hasOverlay(compiled: C): boolean;
  /** The module's live structure. */
  current(): C;
  /** The full compile of a set (in slices for big sets: compileBySize). */
  compile(set: TableSet): C | Promise<C>;
  /** Puts the fresh structure live (called only when nothing changed since the fold began). */
  replace(fresh: C): void;
  /** The fold failed; the overlay stays. */
  onError(e: Error): void;
  /** Quiet time after the last delta before the fold (ms); 2000 unless given. */
  readonly afterMs?: number;
}

/**
 * The background fold of a table sink's delta overlay (prefix_route, drouting): a compileDelta
 * result serves lookups from the live structure plus an overlay; when deltas pause for `afterMs`
 * the whole set is compiled again and swapped in if nothing changed meanwhile, so lookups are back
 * to the plain structure. The sink calls `deltaCompiled(set)` when compileDelta returns a result
 * and `applied(live)` from apply.
 */
export class OverlayCompactor<C> {
  private liveSet: TableSet | null = null;
  /** The set of the compileDelta result about to be applied. */
  private pendingSet: TableSet | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: OverlayCompactorOptions<C>) {}

  /** compileDelta produced a structure for `set`; apply comes next. */
  deltaCompiled(set: TableSet): void {
    this.pendingSet = set;
  }

  /** The sink applied `live`: keeps its set while it has an overlay and (re)arms the fold. */
  applied(live: C): void {
    this.liveSet = this.o.hasOverlay(live) ? this.pendingSet : null;
    this.pendingSet = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.o.hasOverlay(live) || !this.liveSet) return;
    this.timer = setTimeout(() => this.fold(), this.o.afterMs ?? 2000);
    this.timer.unref();
  }

  private fold(): void {
    this.timer = null;
    const from = this.o.current();
    const set = this.liveSet;
    if (!set || !this.o.hasOverlay(from)) return;
    void Promise.resolve(this.o.compile(set)).then(
      (fresh) => {
        if (this.o.current() === from) this.o.replace(fresh);
      },
      (e: unknown) => this.o.onError(e as Error),
    );
  }
}
