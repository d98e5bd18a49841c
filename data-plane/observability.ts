/**
 * What the control listener serves besides RPC (issue 20 §5): GET /metrics (Prometheus text,
 * core/stats/prometheus.ts) with the process gauges, and GET /health (the process is alive) /
 * GET /ready (tables in place; with a control plane: it was reached, or the cached tables are in
 * use). Composed by node.ts.
 *
 * @example
 *   curl -s http://127.0.0.1:8060/ready   # {"ready":true,"checks":{"tables":{...},"controlPlane":{...}}}
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { renderPrometheus } from "./core/stats/prometheus.js";
import type { StatsRegistry } from "./core/stats/counters.js";
import type { TableRegistry } from "./core/tables/registry.js";
import type { SipCore } from "./core/tm/engine.js";
import type { SyncClient } from "./sync/client.js";

export interface HealthReport {
  ready: boolean;
  checks: Record<string, unknown>;
}

export interface ObservabilityDeps {
  node: string;
  stats: StatsRegistry;
  core: SipCore;
  tables: TableRegistry;
  /** The control-plane client, null in standalone mode. */
  sync: () => SyncClient | null;
}

export function observability(d: ObservabilityDeps): { metrics: () => string; ready: () => HealthReport } {
  d.stats.families.gauge("olelo_transport_connections", "Open stream connections (tcp, tls, ws, wss) per transport", () => {
    const by = new Map<string, number>([["tcp", 0], ["tls", 0], ["ws", 0], ["wss", 0]]);
    for (const c of d.core.transport.listConnections()) by.set(c.proto, (by.get(c.proto) ?? 0) + 1);
    return [...by].map(([proto, value]) => ({ labels: { proto }, value }));
  });
  d.stats.families.gauge("olelo_control_plane_connected", "1 while the stream to the control plane is up, 0 otherwise (only with a controlPlane section)", () => {
    const s = d.sync();
    return s ? [{ labels: {}, value: s.status().connected ? 1 : 0 }] : [];
  });
  d.stats.families.gauge("olelo_table_rows", "Rows of the table version in use, per table kind", () =>
    d.tables.allStatus().filter((t) => t.version).map((t) => ({ labels: { kind: t.kind }, value: t.rows })),
  );
  // event-loop stalls: what a SIP message waits before it is read (with workers: the worst worker)
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let windowMax = 0;
  let everMax = 0;
  const rotate = setInterval(() => {
    windowMax = loop.max;
    everMax = Math.max(everMax, loop.max);
    loop.reset();
  }, 10_000);
  rotate.unref();
  d.stats.families.gauge("olelo_event_loop_delay_max_seconds", "Longest event-loop stall in the last 10-20 s (window=recent) and since start (window=start); with workers the worst worker", () => {
    const now = loop.max;
    return [
      { labels: { window: "recent" }, value: Math.max(windowMax, now) / 1e9 },
      { labels: { window: "start" }, value: Math.max(everMax, now) / 1e9 },
    ];
  });
  const metrics = () =>
    renderPrometheus(d.stats, d.node, {
      uptime_seconds: { value: Math.round((Date.now() - d.core.startedAt) / 1000), help: "Seconds since the data plane started" },
      heap_used_bytes: { value: process.memoryUsage().heapUsed, help: "V8 heap in use (bytes)" },
      tcp_connections: { value: d.core.transport.connectionCount(), help: "Open stream connections of every transport (olelo_transport_connections splits them)" },
    });
  const ready = (): HealthReport => {
    const tables = Object.fromEntries(d.tables.allStatus().map((t) => [t.kind, t.version ? { version: t.version, rows: t.rows, source: t.source } : null]));
    const s = d.sync();
    if (!s) return { ready: true, checks: { tables, controlPlane: "standalone" } };
    const st = s.status();
    const cached = st.cache.loaded.length > 0;
    const reached = st.connected || st.acks > 0;
    return {
      ready: reached || cached,
      checks: { tables, controlPlane: { url: st.url, state: st.state, connected: st.connected, acks: st.acks, cachedKinds: st.cache.loaded.map((k) => k.kind), lastError: st.lastError } },
    };
  };
  return { metrics, ready };
}
