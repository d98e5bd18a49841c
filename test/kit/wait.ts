/**
 * Waiting in tests on a condition instead of a fixed time.
 *
 * @example
 *   await waitUntil(() => seen.length === 2);                                   // default 10 s, every 20 ms
 *   const ms = await waitUntil(async () => (await rows()).length > 0, { timeoutMs: 5000, what: "rows" });
 */

export interface WaitOptions {
  /** Give up after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Poll interval (default 20 ms). */
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A wait whose point is that time passes: "nothing arrives within X", a timer or expiry that must
 * run out, a rate window that must close. `why` says which (it names the wait in the code; it is
 * not printed). Everything else waits on its condition with waitUntil / waitUpTo.
 *
 * @example await letTimePass(300, "a second expiry report would come within this");
 */
export function letTimePass(ms: number, why: string): Promise<void> {
  void why;
  return sleep(ms);
}

/**
 * Polls `predicate` until it returns true and resolves with the milliseconds that took; a throwing
 * predicate counts as false (its last error is quoted when the wait times out). Rejects after
 * `timeoutMs`.
 */
export async function waitUntil(predicate: () => boolean | Promise<boolean>, options: WaitOptions = {}): Promise<number> {
  const { timeoutMs = 10_000, intervalMs = 20, what = "condition" } = options;
  const t0 = Date.now();
  let last: unknown = null;
  for (;;) {
    try {
      if (await predicate()) return Date.now() - t0;
      last = null;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 >= timeoutMs) {
      throw new Error(`waitUntil: ${what} not true after ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ""}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Waits until `predicate` holds, at most `maxMs`, and resolves whether it did; never rejects.
 * It replaces `await sleep(maxMs); expect(x)` where x becomes true at some point (a flush, a retry
 * count reached): the expectation stays as it was, the test only stops waiting once it can pass.
 * Not for waits whose point is that something does NOT happen within the time: those stay sleeps.
 */
export async function waitUpTo(predicate: () => boolean | Promise<boolean>, maxMs: number, intervalMs = 10): Promise<boolean> {
  try {
    await waitUntil(predicate, { timeoutMs: maxMs, intervalMs });
    return true;
  } catch {
    return false;
  }
}
