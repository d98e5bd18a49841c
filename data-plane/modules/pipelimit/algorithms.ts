import type { PipeAlgorithm } from "../../../tables/pl-pipes/pl-pipes-table.js";

/**
 * Kamailio pipelimit's per-message decision (pipe_push_direct) and per-interval update
 * (pl_pipe_timer_update), as pure functions over one pipe's state, so they run under a
 * deterministic clock in tests.
 */

/** Kamailio's fixed permutation of 0..99 that FEEDBACK compares the drop rate with (instead of rand()). */
export const FEEDBACK_HASH: readonly number[] = [
  18, 50, 51, 39, 49, 68, 8, 78, 61, 75, 53, 32, 45, 77, 31, 12, 26, 10, 37, 99, 29, 0, 52, 82, 91, 22, 7, 42, 87, 43, 73, 86, 70, 69, 13, 60, 24, 25, 6, 93, 96, 97, 84,
  47, 79, 64, 90, 81, 4, 15, 63, 44, 57, 40, 21, 28, 46, 94, 35, 58, 11, 30, 3, 20, 41, 74, 34, 88, 62, 54, 33, 92, 76, 85, 5, 72, 9, 83, 56, 17, 95, 55, 80, 98, 66,
  14, 16, 38, 71, 23, 2, 67, 36, 65, 27, 1, 19, 59, 89, 48,
];

/** One pipe (Kamailio's pl_pipe_t plus the fleet share of the interval). */
export interface PipeState {
  readonly name: string;
  algo: PipeAlgorithm;
  /** Messages per timer interval (TAILDROP, RED), bytes waiting (NETWORK), CPU % (FEEDBACK). */
  limit: number;
  /** Messages this node pushed into the pipe in the current interval. */
  counter: number;
  /** The whole fleet's counter of the previous interval (this node's when not shared). */
  lastCounter: number;
  /** RED: last interval's counter / limit; NETWORK: 1 over the limit, -1 under. */
  load: number;
  /** Intervals in a row without traffic (clean_unused). */
  unusedIntervals: number;
  /** Messages the other nodes pushed in the current interval, as last learned from Redis. */
  others: number;
  /** Messages of `counter` already added to the shared counter (sent, replied or not). */
  flushed: number;
}

/** A fresh pipe. */
export function createPipe(name: string, algo: PipeAlgorithm, limit: number): PipeState {
  return { name, algo, limit, counter: 0, lastCounter: 0, load: 0, unusedIntervals: 0, others: 0, flushed: 0 };
}

/** How a decision counts the pipe: shared (fleet counter and limit) or this node alone with its share of the limit. */
export interface PushView {
  /** Limit used by TAILDROP (the full limit when shared, this node's share when Redis is down). */
  readonly limit: number;
  /** Whether the other nodes' messages count (Redis reachable). */
  readonly shared: boolean;
}

/**
 * Counts one message and decides: 1 accept, -1 drop, 2 no algorithm (NOP; Kamailio logs and
 * returns 2). `dropRate` is the FEEDBACK controller's current drop rate (0..100+).
 *
 * TAILDROP accepts while the interval's counter (the fleet's, when shared) is ≤ limit. RED drops
 * all but every `load`-th message, where load = last interval's counter / limit (no drop when the
 * last interval stayed under the limit). FEEDBACK drops when FEEDBACK_HASH[counter % 100] <
 * dropRate. NETWORK drops while the bytes waiting in the receive queues exceeded the limit at the
 * last interval.
 */
export function pushMessage(p: PipeState, dropRate: number, view: PushView): 1 | -1 | 2 {
  if (p.counter < 0) p.counter = 0;
  if (p.counter < 0x7fffffff) p.counter++;
  switch (p.algo) {
    case "TAILDROP":
      return (view.shared ? p.counter + p.others : p.counter) <= view.limit ? 1 : -1;
    case "RED":
      if (p.load <= 0) return 1;
      return p.counter % p.load === 0 ? 1 : -1;
    case "FEEDBACK":
      return FEEDBACK_HASH[p.counter % 100]! < dropRate ? -1 : 1;
    case "NETWORK":
      return p.load > 0 ? -1 : 1;
    default:
      return 2;
  }
}

/**
 * End of a timer interval (pl_pipe_timer_update): NETWORK compares the bytes waiting with the
 * limit, the others take load = counter / limit (integer division, as Kamailio) over the
 * interval's total (`total`: the fleet's when shared, else this node's counter); the counter
 * restarts. Returns false when the pipe has been unused for `cleanUnused` intervals and should
 * be removed (cleanUnused 0 = never).
 */
export function endInterval(p: PipeState, networkBytes: number, cleanUnused: number, total = p.counter): boolean {
  if (cleanUnused > 0) {
    if (p.counter > 0 || p.others > 0) p.unusedIntervals = 0;
    else if (p.unusedIntervals >= cleanUnused) return false;
    else p.unusedIntervals++;
  }
  if (p.algo !== "NOP") {
    if (p.algo === "NETWORK") p.load = networkBytes > p.limit ? 1 : -1;
    else if (p.limit > 0) p.load = Math.floor(total / p.limit);
    p.lastCounter = total;
    p.counter = 0;
    p.others = 0;
    p.flushed = 0;
  }
  return true;
}

/** Resets a pipe's counters (pl.reset_pipe). */
export function resetPipe(p: PipeState): void {
  p.counter = 0;
  p.lastCounter = 0;
  p.load = 0;
  p.unusedIntervals = 0;
  p.others = 0;
  p.flushed = 0;
}
