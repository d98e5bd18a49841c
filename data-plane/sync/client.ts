/**
 * The data plane's side of the table push: one aggregated gRPC stream to the control plane
 * (olelo.control.v1.TablePushService/StreamTables, modelled on Envoy ADS). It
 * - loads the last good tables from its cache before connecting, so a data plane that restarts
 *   while the control plane is down keeps routing;
 * - says Hello with its node id, build, supported kinds, labels and the versions it runs, then
 *   sends StatsReport (health counters) every few seconds;
 * - applies each complete version through `TableRegistry.load` (compile to one side, swap in one
 *   step), ACKs it and writes it to the cache, or NACKs it with the TableError and keeps the old
 *   table;
 * - applies a delta (xDS incremental) only onto exactly its base version: the new full set is
 *   built from the kept base set (rows shared, not copied) and checked against the delta's row
 *   counts and digest before it is compiled; a wrong base is NACKed BASE_MISMATCH and a result
 *   that does not check out DELTA_MISMATCH, and the control plane then sends the whole version;
 * - reconnects with exponential backoff and jitter; `close()` ends the stream cleanly.
 * See README.md in this folder for the protocol and a sequence example.
 *
 * @example
 *   const sync = await createSyncClient({ url: "127.0.0.1:8071", nodeId: "dp-1", tables, cacheDir: "/var/lib/olelo/tables" });
 *   sync.status(); // { state: "connected", versions: { dispatcher: "9f2c…" }, ... }
 *   await sync.close();
 */
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { NackReason, StreamTablesRequestSchema, TablePushService, type StreamTablesRequest } from "../../gen/olelo/control/v1/control_pb.js";
import { createLogger, type Logger } from "../../lib/log/logger.js";
import type { SyncTables, TableRegistry, TableSet } from "../core/tables/registry.js";
import { createChannelSecurity, type ChannelSecurity, type SyncTlsOptions } from "./channel-security.js";
import { errorDetailOf, parseAddress } from "./nack-detail.js";
import { backoffDelay, resolveBackoff, type BackoffOptions } from "./backoff.js";
import { applyKindDelta } from "../../tables/wire/apply-delta.js";
import { ChunkAssembler, type CompleteVersion } from "../../tables/wire/chunk-assembler.js";
import { readCachedKind, writeCachedKind, writeCachedSet } from "./table-cache.js";
import { CacheWriter } from "./cache-defer.js";
import { createClientConstructor, type MessageCodec } from "../../tables/wire/grpc-adapter.js";
import { parseResponseFrame, type ResponseFrame } from "../../tables/wire/response-frame.js";
import { kindPlan, sortKinds } from "../../tables/wire/table-kinds.js";
import { startStatsReports, type HealthCounters } from "./health-stats.js";
import { compileOptionsOf } from "./compile-options.js";

/** Largest frame accepted from the control plane (its chunks target 1 MiB, at most 4 MiB). */
export const SYNC_MAX_RECEIVE_BYTES = 16 * 1024 * 1024;

/** The `source` this client passes to TableRegistry.load for pushed tables. */
export const SOURCE_CONTROL_PLANE = "control-plane";
/** The `source` for tables loaded from the local cache at start. */
export const SOURCE_CACHE = "cache";

/** Options of `createSyncClient`. */
export interface SyncClientOptions {
  /** Control plane address: "host:port", or with a grpc:// or http:// prefix. */
  url: string;
  /** Unique name of this data plane (a second stream with the same id replaces the first). */
  nodeId: string;
  tables: SyncTables;
  /** Directory of the table cache; null disables it. */
  cacheDir: string | null;
  backoff?: BackoffOptions;
  /** Reported in Hello (default "olelo-dp/0.1.0"). */
  buildVersion?: string;
  /**
   * Where the base of a delta comes from. "memory" (default) keeps the last applied TableSet of
   * each kind (the row objects the sink was given, about 150 bytes of heap per prefix_route row);
   * "cache" re-reads the kind's cache file when a delta arrives (no extra memory, about a second
   * per million rows; needs cacheDir); "off" tells the control plane to send whole versions only.
   */
  deltaBase?: DeltaBase;
  /** Hello labels (canary selection); health counters sent as StatsReport every statsIntervalMs (default 5000). */
  labels?: Record<string, string>;
  /** Hello control_url: where this node's JSON-RPC control API answers (the control plane's node.rpc). */
  controlUrl?: string | null;
  health?: () => HealthCounters;
  statsIntervalMs?: number;
  /** TLS to the control plane (channel-security.ts); without it only a loopback url is allowed. */
  tls?: SyncTlsOptions | null;
  /** Per-node bearer token (server-only TLS setups); needs `tls`. */
  token?: string | null;
  log?: Logger;
}

/** See SyncClientOptions.deltaBase. */
export type DeltaBase = "memory" | "cache" | "off";

/** Connection state of the sync client (see README.md, "States of the client"). */
export type SyncState = "connecting" | "connected" | "backoff" | "closed";

/** Connection state for `core.config_status` (per-kind state is in TableRegistry.allStatus()). */
export interface SyncStatus {
  url: string;
  nodeId: string;
  state: SyncState;
  connected: boolean;
  connectedSince: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  /** Streams opened after the first one. */
  reconnects: number;
  nextRetryAt: string | null;
  /** Kind → version applied through this client (from the cache or the control plane). */
  versions: Record<string, string>;
  acks: number;
  nacks: number;
  /** Deltas: where bases come from, how many were applied, and how many were NACKed (then sent whole). */
  /** `incremental`: deltas the table's sink compiled from the changed rows only (TableSink.compileDelta). */
  deltas: { base: DeltaBase; applied: number; incremental: number; baseMismatches: number; resultMismatches: number };
  /** Per kind, the last version received complete: size and where the time went. */
  lastReceived: Record<string, ReceiveStats>;
  /** How the channel is secured (mtls, tls, insecure), whether a token is sent, certificate files (never contents). */
  security: ReturnType<ChannelSecurity["status"]>;
  cache: {
    dir: string | null;
    /** Kinds loaded from the cache at start. */
    loaded: Array<{ kind: string; version: string; rows: number }>;
    /** Cache files that could not be used, with the reason. */
    errors: Array<{ kind: string; error: string }>;
    lastWriteError: string | null;
  };
}

/** Timing of one received version (for status output and the push benchmark). */
export interface ReceiveStats {
  version: string;
  /** "delta": `rows` are the upserted rows, `removed` the removed keys, against `baseVersion`. */
  mode: "full" | "delta";
  baseVersion: string | null;
  rows: number;
  removed: number;
  chunks: number;
  bytes: number;
  /** First chunk to last chunk, including decoding the rows. */
  receiveMs: number;
  /** TableRegistry.load (the sink's compile and swap); 0 when the version was already running. */
  loadMs: number;
  /** Delta only: building the new set from base + delta and checking it (in loadMs too). */
  mergeMs: number;
  ok: boolean;
  at: string;
}

/** A running sync client. */
export interface SyncClient {
  status(): SyncStatus;
  /** Ends the stream (half-close, then cancel after a short wait), stops reconnecting, flushes the cache. */
  close(): Promise<void>;
}

type TableStream = grpc.ClientDuplexStream<StreamTablesRequest, ResponseFrame>;

const frameCodec: MessageCodec<ResponseFrame> = {
  serialize: (f) => f.raw,
  deserialize: (b) => parseResponseFrame(b),
};

/** Loads the cache, then connects in the background; resolves once cached tables are live. */
export async function createSyncClient(opts: SyncClientOptions): Promise<SyncClient> {
  const address = parseAddress(opts.url);
  const backoff = resolveBackoff(opts.backoff);
  const log = opts.log ?? createLogger("sync");
  const tables = opts.tables;
  const buildVersion = opts.buildVersion ?? "olelo-dp/0.1.0";
  if (!opts.nodeId) throw new Error("sync: nodeId is required");
  const security = createChannelSecurity(address, opts.tls, opts.token, log);
  const deltaBase: DeltaBase = opts.deltaBase ?? "memory";
  if (deltaBase === "cache" && !opts.cacheDir) throw new Error("sync: deltaBase 'cache' needs a cacheDir");

  const applied = new Map<string, string>();
  /** deltaBase "memory": the set each applied version was built from, and its RowDigest. */
  const bases = new Map<string, { version: string; set: TableSet; digest: string }>();
  const st: SyncStatus = {
    url: opts.url,
    nodeId: opts.nodeId,
    state: "connecting",
    connected: false,
    connectedSince: null,
    lastError: null,
    lastErrorAt: null,
    reconnects: 0,
    nextRetryAt: null,
    versions: {},
    acks: 0,
    nacks: 0,
    deltas: { base: deltaBase, applied: 0, incremental: 0, baseMismatches: 0, resultMismatches: 0 },
    lastReceived: {},
    security: security.status(),
    cache: { dir: opts.cacheDir, loaded: [], errors: [], lastWriteError: null },
  };
  const supportedKinds = () => sortKinds(tables.kinds().filter((k) => kindPlan(k) !== undefined));

  // Another source (a local file reload) replacing a kind means we no longer run the pushed version.
  const offChange = tables.onChange((ev) => {
    if (ev.ok && ev.source !== SOURCE_CONTROL_PLANE && ev.source !== SOURCE_CACHE) {
      applied.delete(ev.kind);
      bases.delete(ev.kind);
    }
  });

  // 1. Last good tables from the cache, in make-before-break order.
  if (opts.cacheDir) {
    for (const kind of supportedKinds()) {
      try {
        const c = await readCachedKind(opts.cacheDir, kind);
        if (!c) continue;
        const r = await tables.loadAsync(kind, c.set, c.version, SOURCE_CACHE);
        if (!r.ok) throw r.error;
        applied.set(kind, c.version);
        if (deltaBase === "memory") bases.set(kind, { version: c.version, set: c.set, digest: c.digest });
        st.cache.loaded.push({ kind, version: c.version, rows: c.rows });
        log.info("tables loaded from cache", { kind, version: c.version, rows: c.rows });
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        st.cache.errors.push({ kind, error: msg });
        log.warn("cache not used", { kind, error: msg });
      }
    }
  }

  // 2. The stream.
  const Client = createClientConstructor(TablePushService, { streamTables: { response: frameCodec } });
  const channelOptions: grpc.ChannelOptions = {
    "grpc.max_receive_message_length": SYNC_MAX_RECEIVE_BYTES,
    "grpc.max_send_message_length": 4 * 1024 * 1024,
    "grpc.keepalive_time_ms": 20_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.initial_reconnect_backoff_ms": backoff.initialMs,
    "grpc.max_reconnect_backoff_ms": backoff.maxMs,
    "grpc.use_local_subchannel_pool": 1,
    ...security.channelOptions,
  };
  let client: grpc.Client | null = null;
  let call: TableStream | null = null;
  let attempt = 0;
  let streams = 0;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const asm = new ChunkAssembler({ keepFrames: opts.cacheDir !== null, digest: deltaBase === "memory" });

  const send = (c: TableStream, msg: StreamTablesRequest) => {
    if (call === c) c.write(msg);
  };

  let stopStats = () => {}; // StatsReport every statsIntervalMs on the open stream (health-stats.ts)
  const startStats = (c: TableStream) => {
    stopStats();
    if (opts.health) stopStats = startStatsReports((m) => send(c, m), opts.health, () => st.nacks, opts.statsIntervalMs ?? 5000);
  };

  /** Cache writes: one at a time per kind, the newest of a burst; delta-built ones deferred (cache-defer.ts). */
  const cache = new CacheWriter(opts.cacheDir, deltaBase !== "cache", (kind, e) => {
    st.cache.lastWriteError = `${kind}: ${e instanceof Error ? e.message : String(e)}`;
    log.warn("cache write failed", { kind, error: st.cache.lastWriteError });
  });
  /** A full version is cached as the frames it arrived in (it supersedes a deferred delta-built one). */
  const writeCache = (v: CompleteVersion) => cache.write(v.kind, (dir) => writeCachedKind(dir, v.kind, v.frames));
  /** A version built from a delta is encoded again as full frames (in slices, off the hot path). */
  const writeCacheSet = (kind: string, version: string, compiledAt: string, set: TableSet) =>
    cache.writeDeferred(kind, (dir) => writeCachedSet(dir, { kind, version, compiledAt, set }));

  /** The base a delta needs: the kept set ("memory") or the cache file ("cache"); null when missing. */
  const baseOf = async (kind: string): Promise<{ version: string; set: TableSet; digest: string } | null> => {
    if (deltaBase === "memory") return bases.get(kind) ?? null;
    if (deltaBase !== "cache" || !opts.cacheDir) return null;
    await cache.pending(kind);
    try {
      const c = await readCachedKind(opts.cacheDir, kind);
      return c ? { version: c.version, set: c.set, digest: c.digest } : null;
    } catch (e) {
      log.warn("cache not usable as a delta base", { kind, error: e instanceof Error ? e.message : String(e) });
      return null;
    }
  };

  const nack = (c: TableStream, kind: string, rejected: string, nonce: string, err: Error, reason: NackReason) => {
    st.nacks++;
    log.warn("table version rejected", { kind, version: rejected, error: err.message });
    send(
      c,
      create(StreamTablesRequestSchema, {
        message: {
          case: "nack",
          value: { kind, version: applied.get(kind) ?? "", rejectedVersion: rejected, responseNonce: nonce, errorDetail: errorDetailOf(err, reason) },
        },
      }),
    );
  };

  const firstChunk = new Map<string, { at: number; bytes: number }>();
  let applyQueue: Promise<void> = Promise.resolve();
  const onFrame = (c: TableStream, frame: ResponseFrame) => {
    if (call !== c) return;
    attempt = 0;
    const now = performance.now();
    if (frame.chunkIndex === 0) firstChunk.set(frame.kind, { at: now, bytes: 0 });
    const fc = firstChunk.get(frame.kind);
    if (fc) fc.bytes += frame.raw.length;
    const r = asm.push(frame);
    if (r.state === "partial") return;
    firstChunk.delete(frame.kind);
    const t1 = performance.now();
    const delta = r.state === "complete" ? r.delta : null;
    const stats: ReceiveStats = {
      version: r.version,
      mode: delta || frame.delta ? "delta" : "full",
      baseVersion: delta?.baseVersion ?? null,
      rows: r.state === "complete" ? r.rows : 0,
      removed: delta?.totalRemoved ?? 0,
      chunks: frame.chunkCount,
      bytes: fc?.bytes ?? frame.raw.length,
      receiveMs: Math.round(t1 - (fc?.at ?? now)),
      loadMs: 0,
      mergeMs: 0,
      ok: false,
      at: new Date().toISOString(),
    };
    st.lastReceived[frame.kind] = stats;
    if (r.state === "bad") return nack(c, r.kind, r.version, r.nonce, new Error(r.reason), NackReason.BAD_CHUNK);
    if (!tables.sink(r.kind)) return nack(c, r.kind, r.version, r.nonce, new Error(`unknown table kind '${r.kind}'`), NackReason.UNKNOWN_KIND);
    // apply off the frame handler, one version at a time, so a big kind may compile in slices
    // (loadAsync) while calls keep flowing; ACK/NACK go out in the order versions arrived
    applyQueue = applyQueue.then(async () => {
      if (r.delta && applied.get(r.kind) !== r.version) return applyDelta(c, r, stats, t1);
      if (applied.get(r.kind) !== r.version) {
        let res: Awaited<ReturnType<TableRegistry["loadAsync"]>>;
        try {
          res = await tables.loadAsync(r.kind, r.set, r.version, SOURCE_CONTROL_PLANE);
        } catch (e) {
          res = { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
        }
        stats.loadMs = Math.round(performance.now() - t1);
        if (!res.ok) return nack(c, r.kind, r.version, r.nonce, res.error, NackReason.INTERNAL);
        applied.set(r.kind, r.version);
        if (deltaBase === "memory" && r.digest !== null) bases.set(r.kind, { version: r.version, set: r.set, digest: r.digest });
        log.info("tables applied", { kind: r.kind, version: r.version, rows: r.rows });
        writeCache(r);
      }
      stats.ok = true;
      st.acks++;
      send(c, create(StreamTablesRequestSchema, { message: { case: "ack", value: { kind: r.kind, version: r.version, responseNonce: r.nonce } } }));
    });
  };

  /** A complete delta: base check, merge, result checks, then the usual compile-and-swap. */
  const applyDelta = async (c: TableStream, r: CompleteVersion, stats: ReceiveStats, t1: number): Promise<void> => {
    const d = r.delta!;
    const running = applied.get(r.kind) ?? "";
    const base = running === d.baseVersion ? await baseOf(r.kind) : null;
    if (!base || base.version !== d.baseVersion || applied.get(r.kind) !== d.baseVersion) {
      st.deltas.baseMismatches++;
      const why = running !== d.baseVersion ? `runs ${running ? `version ${running}` : "no version"}` : "has no copy of it";
      return nack(c, r.kind, r.version, r.nonce, new Error(`delta against version ${d.baseVersion}, but this data plane ${why}`), NackReason.BASE_MISMATCH);
    }
    let built: ReturnType<typeof applyKindDelta>;
    try {
      built = applyKindDelta(r.kind, base.set, base.digest, r.set, d);
      if (built.digest !== d.resultDigest) throw new Error(`result digest ${built.digest} differs from the expected ${d.resultDigest}`);
    } catch (e) {
      st.deltas.resultMismatches++;
      const err = e instanceof Error ? e : new Error(String(e));
      return nack(c, r.kind, r.version, r.nonce, new Error(`delta from ${d.baseVersion} does not apply: ${err.message}`), NackReason.DELTA_MISMATCH);
    }
    stats.mergeMs = Math.round(performance.now() - t1);
    let res: Awaited<ReturnType<TableRegistry["loadDeltaAsync"]>>;
    try {
      res = await tables.loadDeltaAsync(r.kind, { set: built.set, tables: built.changes }, r.version, SOURCE_CONTROL_PLANE, d.baseVersion, { upserts: r.set, delta: d, baseDigest: base.digest });
    } catch (e) {
      res = { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
    }
    stats.loadMs = Math.round(performance.now() - t1);
    if (!res.ok) return nack(c, r.kind, r.version, r.nonce, res.error, NackReason.INTERNAL);
    if (res.incremental) st.deltas.incremental++;
    applied.set(r.kind, r.version);
    if (deltaBase === "memory") bases.set(r.kind, { version: r.version, set: built.set, digest: built.digest });
    st.deltas.applied++;
    log.info("tables applied from a delta", { kind: r.kind, version: r.version, base: d.baseVersion, upserted: built.upserted, removed: built.removed, rows: built.rows });
    writeCacheSet(r.kind, r.version, r.compiledAt, built.set);
    stats.ok = true;
    st.acks++;
    send(c, create(StreamTablesRequestSchema, { message: { case: "ack", value: { kind: r.kind, version: r.version, responseNonce: r.nonce } } }));
  };

  const scheduleReconnect = () => {
    if (closed || timer) return;
    const delay = backoffDelay(attempt++, backoff);
    st.state = "backoff";
    st.nextRetryAt = new Date(Date.now() + delay).toISOString();
    timer = setTimeout(() => {
      timer = null;
      st.nextRetryAt = null;
      connect();
    }, delay);
  };

  const onEnded = (c: TableStream, why: string | null) => {
    if (call !== c) return;
    call = null;
    stopStats();
    asm.reset();
    if (st.connected) log.warn("control plane stream ended", { error: why });
    // A stream that stayed up a while was healthy: start the backoff over.
    if (st.connectedSince && Date.now() - Date.parse(st.connectedSince) >= 2_000) attempt = 0;
    st.connected = false;
    st.connectedSince = null;
    if (why) {
      st.lastError = why;
      st.lastErrorAt = new Date().toISOString();
    }
    client?.close();
    client = null;
    scheduleReconnect();
  };

  const connect = () => {
    if (closed) return;
    st.state = "connecting";
    if (streams++ > 0) st.reconnects++;
    client = new Client(address, security.credentials(), channelOptions);
    const open = (client as unknown as { streamTables(): TableStream }).streamTables;
    const c = open.call(client);
    call = c;
    c.on("metadata", () => {
      if (call !== c) return;
      st.state = "connected";
      st.connected = true;
      st.connectedSince = new Date().toISOString();
      log.info("connected to control plane", { url: opts.url });
      startStats(c);
    });
    c.on("data", (f: ResponseFrame) => onFrame(c, f));
    c.on("error", (e: grpc.ServiceError) => onEnded(c, `${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`));
    c.on("status", (s: grpc.StatusObject) => onEnded(c, s.code === grpc.status.OK ? "stream closed by the control plane" : `${grpc.status[s.code]}: ${s.details}`));
    c.on("end", () => onEnded(c, "stream closed by the control plane"));
    const kinds = supportedKinds();
    const versions: Record<string, string> = Object.fromEntries(kinds.filter((k) => applied.get(k)).map((k) => [k, applied.get(k)!]));
    const hello = { node: { id: opts.nodeId, buildVersion, kinds, supportsDelta: deltaBase !== "off" }, versions, compileOptions: compileOptionsOf(tables, kinds), labels: opts.labels ?? {}, controlUrl: opts.controlUrl ?? "" };
    c.write(create(StreamTablesRequestSchema, { message: { case: "hello", value: hello } }));
  };

  connect();

  return {
    status() {
      return { ...st, security: security.status(), versions: Object.fromEntries(applied), deltas: { ...st.deltas }, lastReceived: { ...st.lastReceived }, cache: { ...st.cache, loaded: [...st.cache.loaded], errors: [...st.cache.errors] } };
    },
    async close() {
      if (closed) return;
      closed = true;
      offChange();
      stopStats();
      if (timer) clearTimeout(timer);
      timer = null;
      st.state = "closed";
      st.connected = false;
      st.nextRetryAt = null;
      const c = call;
      call = null;
      if (c) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            c.cancel();
            resolve();
          }, 1_000);
          c.once("status", () => {
            clearTimeout(t);
            resolve();
          });
          c.on("error", () => {});
          c.end();
        });
      }
      client?.close();
      client = null;
      security.close();
      await cache.flush();
    },
  };
}
