/**
 * The canary verdict, pure: from the nodes' health counters at the start of a soak and now, and
 * their per-kind ACK/NACK state, decide whether a canary must be rolled back at once, may be
 * promoted (soak over, healthy), or keeps soaking. See README.md "Canary and rollback".
 *
 * @example
 *   const v = canaryVerdict(run, nodes, Date.now());
 *   if (v.action === "rollback") console.log(v.reason);
 */
import type { NodeHealth, NodeStatus } from "./node-status.js";

/** Thresholds of a canary soak. */
export interface CanaryPolicy {
  /** How long the canary nodes run the new version before promotion (ms). */
  soakMs: number;
  /** Roll back when the canary nodes' (5xx + 408) / replies exceeds the other nodes' by more than this. */
  maxErrorRatioIncrease: number;
  /** Same for failed calls / calls. */
  maxFailedCallRatioIncrease: number;
  /** Ratios are judged only once the canary nodes sent at least this many replies (calls) in the soak. */
  minSamples: number;
}

export const DEFAULT_CANARY_POLICY: CanaryPolicy = { soakMs: 60_000, maxErrorRatioIncrease: 0.05, maxFailedCallRatioIncrease: 0.05, minSamples: 5 };

/** Counter deltas of a group of nodes over the soak. */
export interface GroupHealth {
  nodes: number;
  replies: number;
  errors: number;
  calls: number;
  failedCalls: number;
  /** (5xx + 408) / replies, null without replies. */
  errorRatio: number | null;
  failedCallRatio: number | null;
}

/** What the verdict needs of a running canary. */
export interface CanaryRunView {
  startedAt: number;
  policy: CanaryPolicy;
  /** kind → candidate version. */
  candidates: ReadonlyMap<string, string>;
  canaryNodes: ReadonlySet<string>;
  /** node id → health counters when the soak started (null: no report yet). */
  baseline: ReadonlyMap<string, NodeHealth | null>;
}

export type CanaryVerdict =
  | { action: "rollback"; reason: string; canary: GroupHealth; rest: GroupHealth }
  | { action: "promote"; reason: string; canary: GroupHealth; rest: GroupHealth }
  | { action: "wait"; canary: GroupHealth; rest: GroupHealth };

const COUNTERS = ["replies", "replies5xx", "replies408", "calls", "failedCalls", "nacks"] as const;
const ratio = (n: number, d: number) => (d > 0 ? n / d : null);
const pct = (r: number | null) => (r === null ? "n/a" : `${(r * 100).toFixed(1)}%`);

/** Sums the counters moved since the soak started over `nodes` (a node without a baseline counts from its first report). */
export function groupHealth(nodes: readonly NodeStatus[], baseline: ReadonlyMap<string, NodeHealth | null>): GroupHealth {
  const g = { nodes: nodes.length, replies: 0, errors: 0, calls: 0, failedCalls: 0 };
  for (const n of nodes) {
    const now = n.health;
    if (!now) continue;
    let b = baseline.get(n.nodeId) ?? null;
    // any counter that went down means the node restarted: all of its counters count from zero
    if (b && COUNTERS.some((k) => now[k] < b![k])) b = null;
    const d = (k: (typeof COUNTERS)[number]) => (b ? now[k] - b[k] : now[k]);
    g.replies += d("replies");
    g.errors += d("replies5xx") + d("replies408");
    g.calls += d("calls");
    g.failedCalls += d("failedCalls");
  }
  return { ...g, errorRatio: ratio(g.errors, g.replies), failedCallRatio: ratio(g.failedCalls, g.calls) };
}

/** The verdict now: rollback (NACK, worse health), promote (soak over, healthy, applied everywhere) or wait. */
export function canaryVerdict(run: CanaryRunView, nodes: readonly NodeStatus[], now: number): CanaryVerdict {
  const canaryNodes = nodes.filter((n) => run.canaryNodes.has(n.nodeId));
  const rest = nodes.filter((n) => n.connected && !run.canaryNodes.has(n.nodeId));
  const c = groupHealth(canaryNodes, run.baseline);
  const r = groupHealth(rest, run.baseline);
  const p = run.policy;
  for (const n of canaryNodes) {
    for (const t of n.tables) {
      const cand = run.candidates.get(t.kind);
      if (cand && t.lastNackVersion === cand && t.lastNackAt && Date.parse(t.lastNackAt) >= run.startedAt) {
        const e = t.lastNackError;
        return { action: "rollback", reason: `node ${n.nodeId} rejected ${t.kind} ${cand}: ${e ? `${e.reason} ${e.message}` : "NACK"}`, canary: c, rest: r };
      }
    }
  }
  const base = r.errorRatio ?? 0;
  if (c.replies >= p.minSamples && c.errorRatio !== null && c.errorRatio - base > p.maxErrorRatioIncrease) {
    return {
      action: "rollback",
      reason: `5xx/408 replies on the canary nodes ${pct(c.errorRatio)} (${c.errors} of ${c.replies}) vs ${pct(r.errorRatio)} on the other nodes (allowed +${pct(p.maxErrorRatioIncrease)})`,
      canary: c,
      rest: r,
    };
  }
  const baseCalls = r.failedCallRatio ?? 0;
  if (c.calls >= p.minSamples && c.failedCallRatio !== null && c.failedCallRatio - baseCalls > p.maxFailedCallRatioIncrease) {
    return {
      action: "rollback",
      reason: `failed calls on the canary nodes ${pct(c.failedCallRatio)} (${c.failedCalls} of ${c.calls}) vs ${pct(r.failedCallRatio)} on the other nodes (allowed +${pct(p.maxFailedCallRatioIncrease)})`,
      canary: c,
      rest: r,
    };
  }
  if (now - run.startedAt < p.soakMs) return { action: "wait", canary: c, rest: r };
  for (const n of canaryNodes) {
    for (const [kind, v] of run.candidates) {
      const t = n.tables.find((x) => x.kind === kind);
      if (t && t.appliedVersion !== v) {
        return { action: "rollback", reason: `node ${n.nodeId} did not apply ${kind} ${v} within the ${p.soakMs} ms soak (runs ${t.appliedVersion ?? "nothing"})`, canary: c, rest: r };
      }
    }
  }
  return {
    action: "promote",
    reason: `soak of ${p.soakMs} ms passed: 5xx/408 ${pct(c.errorRatio)} of ${c.replies} replies, failed calls ${pct(c.failedCallRatio)} of ${c.calls} on the canary nodes vs ${pct(r.errorRatio)} / ${pct(r.failedCallRatio)} on the others`,
    canary: c,
    rest: r,
  };
}
