/**
 * The control plane's GET /metrics, GET /health and GET /ready on its management port (issue 20
 * §5). Metrics: the version each table kind serves (an info gauge per kind and content hash),
 * rows, compile errors, versions and bytes pushed (whole / delta), NACKs per kind, data planes
 * connected, and per node and kind whether it runs the served version. No CDC lag: the control
 * plane has no change feed with a measurable lag yet, so none is exported.
 *
 * @example
 *   curl -s http://127.0.0.1:8070/metrics | grep olelo_cp_nodes_connected
 */
import type { Pool, RowDataPacket } from "mysql2/promise";
import { MetricsWriter } from "../../lib/metrics/text.js";
import type { DbSnapshotSource } from "../compile/source.js";
import type { NodeStatus } from "../push/node-status.js";
import type { PushStats } from "../push/server.js";

export interface ControlPlaneMetricsDeps {
  source: DbSnapshotSource;
  pool: Pool;
  nodes?: () => readonly NodeStatus[];
  pushStats?: () => PushStats;
  startedAt: number;
}

export function renderControlPlaneMetrics(d: ControlPlaneMetricsDeps): string {
  const w = new MetricsWriter();
  const st = d.source.status();
  const nodes = d.nodes?.() ?? [];
  w.family("olelo_cp_uptime_seconds", "gauge", "Seconds since the control plane started", [{ labels: {}, value: Math.round((Date.now() - d.startedAt) / 1000) }]);
  w.family("olelo_cp_table_version_info", "gauge", "1 for the version (content hash) the control plane serves per table kind", st.kinds.filter((k) => k.version).map((k) => ({ labels: { kind: k.kind, version: k.version! }, value: 1 })));
  w.family("olelo_cp_table_rows", "gauge", "Rows of the served version per table kind", st.kinds.filter((k) => k.version).map((k) => ({ labels: { kind: k.kind }, value: k.rows })));
  w.family("olelo_cp_table_compile_error", "gauge", "1 when the database rows of a kind do not compile (the previous version stays served)", st.kinds.map((k) => ({ labels: { kind: k.kind }, value: k.lastError ? 1 : 0 })));
  w.family("olelo_cp_change_checks_total", "counter", "Database change checks run", [{ labels: {}, value: st.polls }]);
  w.family("olelo_cp_nodes_connected", "gauge", "Data planes with an open push stream", [{ labels: {}, value: nodes.filter((n) => n.connected).length }]);
  w.family("olelo_cp_nodes_known", "gauge", "Data planes known (connected, or disconnected within the last hour)", [{ labels: {}, value: nodes.length }]);
  const inSync = [];
  for (const n of nodes) {
    if (!n.connected) continue;
    for (const t of n.tables) {
      const served = st.kinds.find((k) => k.kind === t.kind)?.version ?? null;
      inSync.push({ labels: { node: n.nodeId, kind: t.kind }, value: served !== null && t.appliedVersion === served ? 1 : 0 });
    }
  }
  w.family("olelo_cp_node_table_in_sync", "gauge", "Per connected data plane and kind: 1 when it runs the version the control plane serves", inSync);
  w.family("olelo_cp_rows_refused", "gauge", "Database rows refused now per kind (bad rows left out of what is pushed; see status)", st.kinds.map((k) => ({ labels: { kind: k.kind }, value: k.refused.length })));
  w.family("olelo_cp_row_refusals_total", "counter", "Rows refused since start (each row once per reason)", [{ labels: {}, value: st.refusalsTotal }]);
  if (st.cdc) {
    const c = st.cdc;
    w.family("olelo_cp_cdc_changes_total", "counter", "Row changes read from the olelo_changes change log", [{ labels: {}, value: c.changes }]);
    w.family("olelo_cp_cdc_gaps_total", "counter", "Times the change log could not be followed and every kind was re-read", [{ labels: {}, value: c.gaps }]);
    w.family("olelo_cp_cdc_stream_lost", "gauge", "1 while the change-log tail fails (polling is the fallback)", [{ labels: {}, value: c.lost ? 1 : 0 }]);
    const last = c.lastChangeAt ? Date.parse(c.lastChangeAt) / 1000 : 0;
    w.family("olelo_cp_cdc_last_change_timestamp_seconds", "gauge", "Unix time of the last change applied from the change log (0: none yet); lag = time() - this while writes go on", [{ labels: {}, value: last }]);
  }
  if (d.pushStats) {
    const p = d.pushStats();
    w.family("olelo_cp_push_versions_total", "counter", "Table versions pushed to data planes, whole (mode=full) or as deltas (mode=delta)", [
      { labels: { mode: "full" }, value: p.fullSends },
      { labels: { mode: "delta" }, value: p.deltaSends },
    ]);
    w.family("olelo_cp_push_bytes_total", "counter", "Frame bytes pushed, per mode", [
      { labels: { mode: "full" }, value: p.fullBytes },
      { labels: { mode: "delta" }, value: p.deltaBytes },
    ]);
    w.family("olelo_cp_push_delta_fallbacks_total", "counter", "Deltas NACKed by a data plane and sent again whole", [{ labels: {}, value: p.deltaFallbacks }]);
    w.family("olelo_cp_push_nacks_total", "counter", "NACKs received from data planes per table kind", Object.entries(p.nacks).map(([kind, value]) => ({ labels: { kind }, value })));
  }
  return w.text();
}

/** GET /ready: the database answers and every kind has a compiled version to serve. */
export async function controlPlaneReady(d: Pick<ControlPlaneMetricsDeps, "source" | "pool">): Promise<{ ready: boolean; checks: Record<string, unknown> }> {
  let db: Record<string, unknown>;
  try {
    await d.pool.query<RowDataPacket[]>("SELECT 1");
    db = { ok: true };
  } catch (e) {
    db = { ok: false, error: (e as Error).message };
  }
  const kinds = Object.fromEntries(d.source.status().kinds.map((k) => [k.kind, k.version ? { version: k.version, rows: k.rows } : { version: null, error: k.lastError?.reason ?? null }]));
  const compiled = Object.values(kinds).every((k) => k.version !== null);
  return { ready: db.ok === true && compiled, checks: { db, kinds } };
}
