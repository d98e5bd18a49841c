/**
 * One worker thread of a node (`workers: N`, started by primary.ts): a whole data plane
 * (startDataPlane) on the shared listen sockets, without its own control listener; it answers the
 * primary's RPC, metrics and table messages and relays broadcasts between modules of the workers.
 */
import { parentPort, workerData } from "node:worker_threads";
import { startDataPlane, type DataPlane } from "../node.js";
import { SharedArena, type NodeShared } from "../core/workers/node-shared.js";
import { createLogger } from "../../lib/log/logger.js";
import { TableError } from "../core/tables/registry.js";
import type { DataPlaneConfig } from "../core/config-file.js";
import { NEEDS_FULL, type ToWorker, type WorkerData } from "./protocol.js";
import { applyKindDelta } from "../../tables/wire/apply-delta.js";
import type { TableSet } from "../core/tables/registry.js";
import { ATTACH, attachedBytes } from "./shared-kinds.js";

const log = createLogger("worker");
const data = workerData as WorkerData;
const port = parentPort!;
const handlers = new Map<string, Set<(msg: unknown, from: number) => void>>();
const arena = new SharedArena(data.arena);
const node: NodeShared = {
  index: data.index,
  count: data.count,
  sharedInt32: (name, length) => arena.int32(name, length),
  broadcast: (ch, msg) => port.postMessage({ t: "bcast", ch, msg }),
  sendTo: (to, ch, msg) => port.postMessage({ t: "to", to, ch, msg }),
  on(ch, fn) {
    let s = handlers.get(ch);
    if (!s) handlers.set(ch, (s = new Set()));
    s.add(fn);
    return () => s.delete(fn);
  },
};

let dp: DataPlane | null = null;
const early: ToWorker[] = [];

async function handle(m: ToWorker): Promise<void> {
  if (m.t === "to" && m.from >= 0 && !handlers.get(m.ch)?.size) {
    // not listening yet (starting): back to the sender, which fails what it asked for
    port.postMessage({ t: "to", to: m.from, ch: m.ch, msg: m.msg, undeliverable: true });
    return;
  }
  if (m.t === "bcast" || m.t === "to") {
    for (const fn of handlers.get(m.ch) ?? []) {
      try {
        fn(m.msg, m.from);
      } catch (e) {
        log.warn("worker broadcast handler failed", { channel: m.ch, error: String(e) });
      }
    }
    return;
  }
  if (!dp) {
    early.push(m);
    return;
  }
  if (m.t === "rpc") {
    try {
      const result = await dp.rpc.call(m.name, m.params, { transport: "worker", remote: "primary" } as never);
      port.postMessage({ t: "res", id: m.id, ok: true, result });
    } catch (e) {
      const err = e as { code?: number; message?: string; data?: unknown };
      port.postMessage({ t: "res", id: m.id, ok: false, error: { code: err.code ?? -32000, message: err.message ?? String(e), data: err.data } });
    }
  } else if (m.t === "rows") {
    // rows of a full version, ahead of its "tables" message (same port: in order)
    let p = incoming.get(m.kind);
    if (!p || p.version !== m.version) incoming.set(m.kind, (p = { version: m.version, set: {} }));
    const t = (p.set[m.table] ??= []);
    for (const r of m.rows) t.push(r);
    port.postMessage({ t: "res", id: m.id, ok: true, result: null });
  } else if (m.t === "tables") {
    port.postMessage({ t: "res", id: m.id, ...(await loadTables(dp, m)) });
  } else if (m.t === "shared") {
    port.postMessage({ t: "res", id: m.id, ...(await attachShared(dp, m)) });
  } else if (m.t === "health") {
    port.postMessage({ t: "res", id: m.id, ok: true, result: health?.() ?? null });
  } else if (m.t === "metrics") {
    port.postMessage({ t: "res", id: m.id, ok: true, result: metrics?.() ?? "" });
  } else if (m.t === "stop") {
    await dp.stop().catch((e: unknown) => log.warn("worker stop failed", { error: String(e) }));
    process.exit(0);
  }
}

port.on("message", (m: ToWorker) => void handle(m));

/** Test hook: OLELO_TEST_TABLE_DELAY="<worker>:<ms>" makes that worker apply pushed tables late (ACK-after-all test). */
const [delayWorker, delayMs] = (process.env.OLELO_TEST_TABLE_DELAY ?? "").split(":").map(Number);
/** Test hook: OLELO_TEST_TABLE_REFUSE="<worker>:<text>" makes that worker refuse a version with a row containing text (NACK + rollback test). */
const [refuseWorker, refuseText] = (process.env.OLELO_TEST_TABLE_REFUSE ?? "").split(":");

/** Kind → a full version whose rows are arriving in `rows` messages. */
const incoming = new Map<string, { version: string; set: TableSet }>();

/** Kind → the version this worker runs and its rows: the base the next delta applies to. */
const bases = new Map<string, { version: string; set: TableSet }>();

/** A version from the primary's sync client: applied like the sync client does, the error sent back whole (a TableError keeps table, row, reason). */
async function loadTables(d: DataPlane, m: Extract<ToWorker, { t: "tables" }>): Promise<{ ok: true; result: unknown } | { ok: false; error: { code: number; message: string; data?: unknown } }> {
  if (delayWorker === data.index && delayMs) await new Promise((r) => setTimeout(r, delayMs));
  let set = m.set;
  if (m.chunked) {
    const p = incoming.get(m.kind);
    incoming.delete(m.kind);
    if (!p || p.version !== m.version) return { ok: false, error: { code: -32000, message: `worker ${data.index}: the rows of ${m.kind} version ${m.version} did not arrive` } };
    set = p.set;
  }
  if (refuseWorker === String(data.index) && refuseText) {
    for (const [table, rows] of Object.entries(set)) {
      const i = rows.findIndex((row) => JSON.stringify(row).includes(refuseText));
      if (i >= 0) return { ok: false, error: { code: -32000, message: "refused", data: { tableError: { table, row: (rows[i]!.id as number | undefined) ?? i, reason: `test hook: worker ${data.index} refuses '${refuseText}'` } } } };
    }
  }
  let r: { ok: true; incremental?: boolean } | { ok: false; error: Error };
  try {
    if (m.delta) {
      // the delta applied here to the version this worker runs: only the changed rows crossed the thread boundary
      const base = bases.get(m.kind);
      if (!base || base.version !== m.delta.wire.baseVersion || d.tables.statusOf(m.kind)?.version !== m.delta.wire.baseVersion) {
        return { ok: false, error: { code: NEEDS_FULL, message: `worker ${data.index} does not run ${m.kind} version ${m.delta.wire.baseVersion}` } };
      }
      const built = applyKindDelta(m.kind, base.set, m.delta.baseDigest, m.set, m.delta.wire);
      if (built.digest !== m.delta.wire.resultDigest) {
        return { ok: false, error: { code: NEEDS_FULL, message: `worker ${data.index}: ${m.kind} delta gives digest ${built.digest}, not ${m.delta.wire.resultDigest}` } };
      }
      set = built.set;
      r = await d.tables.loadDeltaAsync(m.kind, { set, tables: built.changes }, m.version, m.source, m.delta.wire.baseVersion);
    } else {
      r = await d.tables.loadAsync(m.kind, set, m.version, m.source);
    }
  } catch (e) {
    r = { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
  }
  if (r.ok) bases.set(m.kind, { version: m.version, set });
  if (r.ok) return { ok: true, result: { incremental: r.incremental ?? false } };
  const te = r.error instanceof TableError ? { table: r.error.table, row: r.error.row, reason: r.error.reason } : null;
  return { ok: false, error: { code: -32000, message: r.error.message, data: { tableError: te } } };
}

/** Kind → the shared version this worker runs (attached, not compiled here). */
const attached = new Map<string, { version: string; attaches: number; folds: number; shared: boolean; bytes: number }>();

/** A version compiled by the primary into shared memory: attached and applied, nothing compiled here. */
async function attachShared(d: DataPlane, m: Extract<ToWorker, { t: "shared" }>): Promise<{ ok: true; result: unknown } | { ok: false; error: { code: number; message: string } }> {
  if (delayWorker === data.index && delayMs && !m.fold) await new Promise((r) => setTimeout(r, delayMs));
  const attach = ATTACH[m.kind];
  if (!attach) return { ok: false, error: { code: -32000, message: `worker ${data.index}: no shared form for table kind ${m.kind}` } };
  let compiled: unknown;
  try {
    compiled = attach(m.compiled);
  } catch (e) {
    return { ok: false, error: { code: -32000, message: `worker ${data.index}: ${(e as Error).message}` } };
  }
  const r = await d.tables.loadCompiledAsync(m.kind, compiled, m.rows, m.version, m.source);
  if (!r.ok) return { ok: false, error: { code: -32000, message: r.error.message } };
  bases.delete(m.kind); // no rows kept here for a shared kind: the primary compiles its deltas
  const bytes = attachedBytes(m.kind, compiled);
  const a = attached.get(m.kind) ?? { version: m.version, attaches: 0, folds: 0, shared: false, bytes: 0 };
  attached.set(m.kind, { version: m.version, attaches: a.attaches + (m.fold ? 0 : 1), folds: a.folds + (m.fold ? 1 : 0), shared: bytes > 0, bytes });
  return { ok: true, result: { incremental: false } };
}

let metrics: (() => string) | null = null;
let health: (() => unknown) | null = null;
const cfg: DataPlaneConfig = data.config;
try {
  dp = await startDataPlane(cfg, { node, sharedSockets: true, tablesFromPrimary: data.tablesFromPrimary });
  if (data.tablesFromPrimary) {
    const { healthCounters } = await import("../sync/health-stats.js");
    health = healthCounters(dp.stats, dp.core.counters.health);
  }
  const { observability } = await import("../observability.js");
  const d = dp;
  metrics = observability({ node: cfg.core.node, stats: d.stats, core: d.core, tables: d.tables, sync: () => d.sync }).metrics;
  dp.events.subscribe(null, (ev) => port.postMessage({ t: "event", kind: ev.kind, data: ev.data }));
  dp.rpc.register({
    name: "core.shared_tables",
    doc: "Per worker: the table kinds it runs from the node's shared memory (version, attaches, folds, shared bytes) and how many compiles it ran itself",
    params: [],
    handler: () =>
      Object.fromEntries(d.tables.kinds().map((k) => [k, { ...(attached.get(k) ?? { version: null, attaches: 0, folds: 0, shared: false, bytes: 0 }), localCompiles: d.tables.compileCount(k) }])),
  });
  const methods = dp.rpc.list().map((m) => ({ name: m.name, doc: m.doc, params: m.params, returns: m.returns }));
  port.postMessage({ t: "ready", methods, kinds: dp.tables.kinds(), options: Object.fromEntries(dp.tables.kinds().map((k) => [k, dp!.tables.sink(k)?.options])), sockets: dp.core.transport.sockets.map((s) => ({ socket: s.socketString, egressPort: s.egressPort })) });
  for (const m of early.splice(0)) void handle(m);
} catch (e) {
  port.postMessage({ t: "failed", error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}
process.on("uncaughtException", (e) => log.error("uncaught exception", { worker: data.index, error: e.stack ?? e.message }));
process.on("unhandledRejection", (e) => log.error("unhandled rejection", { worker: data.index, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }));
