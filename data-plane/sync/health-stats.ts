/**
 * The data plane's health counters for the control plane (StatsReport on the push stream): final
 * replies sent upstream, of those 5xx and 408, INVITE transactions and failed ones (408 or >= 500),
 * and NACKs. All cumulative since start; the control plane compares deltas during a canary soak.
 *
 * @example
 *   const read = healthCounters(stats, core.counters.health);
 *   read(); // { replies: 120, replies5xx: 3, replies408: 1, calls: 40, failedCalls: 4 }
 */
import { create } from "@bufbuild/protobuf";
import { StreamTablesRequestSchema, type StreamTablesRequest } from "../../gen/olelo/control/v1/control_pb.js";
import type { Counter, StatsRegistry } from "../core/stats/counters.js";

/** The counters a StatsReport carries, except NACKs (the sync client counts those). */
export interface HealthCounters {
  replies: number;
  replies5xx: number;
  replies408: number;
  calls: number;
  failedCalls: number;
}

const CLASSES = ["1", "2", "3", "4", "5", "6"] as const;

/** A reader of the current counters from the stats registry (tmx/sl/core groups) and tm's health counters. */
export function healthCounters(stats: StatsRegistry, health: { uas408: Counter; failedInvites: Counter }): () => HealthCounters {
  const tmx = stats.group("tmx");
  const sl = stats.group("sl");
  const core = stats.group("core");
  return () => {
    let replies = 0;
    for (const c of CLASSES) {
      if (c === "1") continue;
      replies += (tmx.get(`${c}xx_transactions`) ?? 0) + (sl.get(`${c}xx_replies`) ?? 0);
    }
    return {
      replies,
      replies5xx: (tmx.get("5xx_transactions") ?? 0) + (sl.get("5xx_replies") ?? 0),
      replies408: health.uas408.v + (sl.get("408_replies") ?? 0),
      calls: core.get("rcv_requests_invite") ?? 0,
      failedCalls: health.failedInvites.v,
    };
  };
}

/** Writes a StatsReport now and every `intervalMs`; returns the function that stops it. */
export function startStatsReports(write: (m: StreamTablesRequest) => void, read: () => HealthCounters, nacks: () => number, intervalMs: number): () => void {
  const u = (n: number) => BigInt(Math.max(0, Math.trunc(n)));
  const report = () => {
    const h = read();
    write(
      create(StreamTablesRequestSchema, {
        message: { case: "stats", value: { replies: u(h.replies), replies5xx: u(h.replies5xx), replies408: u(h.replies408), calls: u(h.calls), failedCalls: u(h.failedCalls), nacks: u(nacks()) } },
      }),
    );
  };
  report();
  const timer = setInterval(report, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
