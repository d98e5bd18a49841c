import { performance } from "node:perf_hooks";
import type { TableSet } from "../rows.js";
import { runToEnd, yieldToEventLoop } from "../../lib/prefix-tree/build-prefix-tree.js";

/**
 * Sliced table compiles. The routing modules write their compile as a generator that `yield`s at
 * safe points (every few thousand rows, between prefix-tree build slices); the same generator is
 * run to the end at once for small tables and for the control plane, or in time slices that give
 * the event loop a turn for big ones, so calls keep flowing while a 1M-row table compiles
 * (TableSink.compile may return a promise; TableRegistry.loadAsync awaits it). Kamailio builds
 * its tables in a separate process/timer and swaps a pointer; this is the Node equivalent.
 *
 * @example
 *   compile: (set) => compileBySize(set, () => compilePrefixRouteSteps(set, opts)),
 */
export type Sliced<T> = Generator<void, T, void>;

export { runToEnd };

/** Row count above which a kind is compiled asynchronously (in slices). */
export const ASYNC_COMPILE_ROWS = 50_000;

/** Longest stretch of compile work between two event-loop turns, in ms. */
export const SLICE_BUDGET_MS = 4;

/** How many rows a compile loop handles between two yield points (a power of two, minus one: `(i & ROW_SLICE_MASK) === ROW_SLICE_MASK`). */
export const ROW_SLICE_MASK = 1023;

/**
 * Runs the steps, yielding to the event loop whenever `budgetMs` of work has been done since the
 * last turn. Throws (rejects) whatever the steps throw.
 */
export async function runSliced<T>(steps: Sliced<T>, budgetMs = SLICE_BUDGET_MS): Promise<T> {
  let t0 = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - t0 >= budgetMs) {
      await yieldToEventLoop();
      t0 = performance.now();
    }
  }
}

/** Rows in a table set (every table of the kind). */
export function rowCount(set: Readonly<Record<string, unknown>>): number {
  let n = 0;
  for (const rows of Object.values(set)) if (Array.isArray(rows)) n += rows.length;
  return n;
}

/**
 * A TableSink.compile body: small sets (≤ `threshold` rows) compile synchronously, as before;
 * big ones return a promise and compile in slices.
 */
export function compileBySize<T>(set: TableSet, steps: () => Sliced<T>, threshold = ASYNC_COMPILE_ROWS): T | Promise<T> {
  return rowCount(set) > threshold ? runSliced(steps()) : runToEnd(steps());
}
