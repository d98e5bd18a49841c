/**
 * Serialises the dispatcher's table changes (reload, dispatcher.add, dispatcher.remove) so two
 * never interleave — Kamailio issue #1939: concurrent `dispatcher.reload` calls corrupted the
 * double-buffered list. Our choice for a reload that arrives while another runs: it waits, then
 * runs once more (so it sees the newest file); reload requests that arrive while one is already
 * waiting share that waiting run instead of piling up. No request is rejected.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private waitingReload: Promise<void> | null = null;
  private running = 0;
  private maxRunning = 0;

  /** Runs `fn` after everything queued before it; its result or error goes to the caller. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const p = this.tail.then(async () => {
      this.running++;
      this.maxRunning = Math.max(this.maxRunning, this.running);
      try {
        return await fn();
      } finally {
        this.running--;
      }
    });
    this.tail = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Queues a reload, or joins the reload already waiting to start. */
  reload(fn: () => Promise<void>): Promise<void> {
    if (this.waitingReload) return this.waitingReload;
    const p = this.run(async () => {
      this.waitingReload = null;
      await fn();
    });
    this.waitingReload = p;
    return p;
  }

  /** Highest number of jobs seen running at once (1 when serialisation holds); for tests. */
  get peakConcurrency(): number {
    return this.maxRunning;
  }
}
