/**
 * Per-kind deferral of the table cache writes of versions the data plane built from deltas: the
 * newest one is written once its kind's deltas pause (`quietMs`) or `maxDeferMs` after the first
 * one waiting. Re-encoding 1M rows after every one-row change kept a data plane busy beside the
 * next change (1M subscribers: a few slow changes in 40). A restart inside that window starts
 * from the cached version before it, and the control plane brings the node up to date.
 *
 * @example
 *   const d = new DeferredWrites<Job>((kind, job) => queue(kind, job));
 *   d.put("subscriber", job); // written after 1 s of quiet, at most 10 s later
 */
export class DeferredWrites<T> {
  private readonly waiting = new Map<string, { job: T; timer: NodeJS.Timeout; since: number }>();

  constructor(
    private readonly start: (kind: string, job: T) => void,
    private readonly quietMs = 1000,
    private readonly maxDeferMs = 10_000,
  ) {}

  /** Replaces the kind's waiting job with `job` and re-arms its timer. */
  put(kind: string, job: T): void {
    const prev = this.waiting.get(kind);
    const since = prev?.since ?? Date.now();
    if (prev) clearTimeout(prev.timer);
    const wait = Math.max(0, Math.min(this.quietMs, since + this.maxDeferMs - Date.now()));
    const timer = setTimeout(() => this.flush(kind), wait);
    timer.unref();
    this.waiting.set(kind, { job, timer, since });
  }

  /** Starts the kind's waiting job now. */
  flush(kind: string): void {
    const w = this.waiting.get(kind);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(kind);
    this.start(kind, w.job);
  }

  /** Forgets the kind's waiting job (a newer full version supersedes it). */
  drop(kind: string): void {
    const w = this.waiting.get(kind);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(kind);
  }

  /** Starts every waiting job (on close). */
  flushAll(): void {
    for (const kind of [...this.waiting.keys()]) this.flush(kind);
  }

  /** Kinds with a job waiting. */
  get size(): number {
    return this.waiting.size;
  }
}

/** A cache write job: writes into the cache directory. */
export type CacheJob = (dir: string) => Promise<unknown>;

/**
 * The data plane's table cache writes: one at a time per kind and in order, a burst of versions
 * writes only the newest (a job queued and not started yet takes the newest when it starts).
 * `writeDeferred` goes through DeferredWrites when `defer` is on (off when the cache file is the
 * base of the next delta: it must be current). No directory: nothing is written.
 */
export class CacheWriter {
  private readonly running = new Map<string, Promise<void>>();
  private readonly latest = new Map<string, CacheJob>();
  private readonly deferred: DeferredWrites<CacheJob>;

  constructor(
    private readonly dir: string | null | undefined,
    private readonly defer: boolean,
    private readonly onError: (kind: string, e: unknown) => void,
  ) {
    this.deferred = new DeferredWrites<CacheJob>((kind, job) => this.queue(kind, job));
  }

  /** Writes now (after the kind's running write); a deferred older job of the kind is dropped. */
  write(kind: string, job: CacheJob): void {
    this.deferred.drop(kind);
    this.queue(kind, job);
  }

  /** Writes once the kind's deltas pause (or at once without deferral). */
  writeDeferred(kind: string, job: CacheJob): void {
    if (!this.dir) return;
    if (this.defer) this.deferred.put(kind, job);
    else this.queue(kind, job);
  }

  /** The kind's write in progress (a deferred one is started first), if any. */
  pending(kind: string): Promise<void> | undefined {
    this.deferred.flush(kind);
    return this.running.get(kind);
  }

  /** Starts every deferred write and waits for all writes (on close). */
  async flush(): Promise<void> {
    this.deferred.flushAll();
    await Promise.all([...this.running.values()]);
  }

  private queue(kind: string, job: CacheJob): void {
    const dir = this.dir;
    if (!dir) return;
    const queued = this.latest.has(kind);
    this.latest.set(kind, job);
    if (queued) return; // the job already queued takes the newest write when it starts
    const prev = this.running.get(kind) ?? Promise.resolve();
    const next = prev
      .then(() => {
        const w = this.latest.get(kind)!;
        this.latest.delete(kind);
        return w(dir);
      })
      .then(
        () => undefined,
        (e: unknown) => this.onError(kind, e),
      );
    this.running.set(kind, next);
    void next.then(() => {
      if (this.running.get(kind) === next) this.running.delete(kind);
    });
  }
}
