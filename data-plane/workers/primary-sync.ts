/**
 * Control-plane mode with `workers: N`: the node's one gRPC sync client runs in the primary
 * (data-plane/sync/client.ts, the same client as a single process) over the fan-out registry of
 * table-fanout.ts, so each version is received, cached and ACKed once for the node. Its
 * StatsReport carries the workers' health counters summed (polled every second; a restarted
 * worker's counters start again at 0, so what it had counted is carried over).
 */
import { join } from "node:path";
import { createSyncClient, type SyncClient } from "../sync/client.js";
import { VERSION } from "../node.js";
import type { HealthCounters } from "../sync/health-stats.js";
import type { DataPlaneConfig } from "../core/config-file.js";
import type { WorkerTables } from "./table-fanout.js";

const HEALTH_POLL_MS = 1000;
const ZERO: HealthCounters = { replies: 0, replies5xx: 0, replies408: 0, calls: 0, failedCalls: 0 };
const KEYS = Object.keys(ZERO) as Array<keyof HealthCounters>;

export interface PrimarySync {
  readonly client: SyncClient;
  close(): Promise<void>;
}

/** Kind → version from a worker's core.config_status answer. */
export function versionsOf(status: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of Array.isArray(status) ? (status as Array<{ kind: string; version: string | null }>) : []) if (s.version) out[s.kind] = s.version;
  return out;
}

export async function startPrimarySync<S extends { index: number }>(
  cfg: DataPlaneConfig,
  tables: WorkerTables<S>,
  workers: { live(): S[]; call(slot: S, msg: { t: "health" }): Promise<unknown> },
): Promise<PrimarySync> {
  const cp = cfg.controlPlane!;
  const last = new Map<number, HealthCounters>();
  const carried: HealthCounters = { ...ZERO };
  const poll = async () => {
    for (const s of workers.live()) {
      const h = (await workers.call(s, { t: "health" }).catch(() => null)) as HealthCounters | null;
      if (!h) continue;
      const prev = last.get(s.index);
      // counters only grow: a smaller value is a restarted worker, whose old counts stay in the sum
      if (prev && KEYS.some((k) => h[k] < prev[k])) for (const k of KEYS) carried[k] += prev[k];
      last.set(s.index, h);
    }
  };
  const timer = setInterval(() => void poll(), HEALTH_POLL_MS);
  timer.unref();
  await poll();
  const health = (): HealthCounters => {
    const sum = { ...carried };
    for (const h of last.values()) for (const k of KEYS) sum[k] += h[k];
    return sum;
  };
  const host = cfg.control ? (cfg.control.host.includes(":") && !cfg.control.host.startsWith("[") ? `[${cfg.control.host}]` : cfg.control.host) : null;
  const client = await createSyncClient({
    url: cp.url,
    nodeId: cfg.core.node,
    tables,
    cacheDir: cp.cacheDir ?? join(cfg.dataDir, "table-cache"),
    buildVersion: `olelo-dp/${VERSION}`,
    backoff: cp.backoff,
    deltaBase: cp.deltaBase,
    labels: cp.labels,
    controlUrl: host && cfg.control ? `http://${host}:${cfg.control.port}/RPC` : null,
    health,
    statsIntervalMs: cp.statsIntervalMs,
    tls: cp.tls,
    token: cp.token,
  });
  return {
    client,
    async close() {
      clearInterval(timer);
      await client.close();
    },
  };
}
