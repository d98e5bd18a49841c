/**
 * The control plane's gRPC push server: olelo.control.v1.TablePushService/StreamTables on grpc-js,
 * one aggregated bidirectional stream per data plane (Envoy ADS). See README.md in this folder
 * for the protocol; the per-stream rules live in push-session.ts.
 *
 * @example
 *   const push = await createPushServer({ source, host: "127.0.0.1", port: 8071, delta: { maxRatio: 0.25 } });
 *   push.nodes(); // per data plane: connected since, applied versions, last NACK
 *   await push.close();
 */
import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { TablePushService, type StreamTablesRequest } from "../../gen/olelo/control/v1/control_pb.js";
import { createLogger, type Logger } from "../../lib/log/logger.js";
import { createServiceDefinition, type MessageCodec } from "../../tables/wire/grpc-adapter.js";
import type { ChunkOptions } from "../../tables/wire/table-chunks.js";
import { createDeltaVersions, resolveDeltaOptions, type DeltaOptions } from "./delta-versions.js";
import { createEncodedVersions, type EncodeFailure } from "./encoded-versions.js";
import { NodeRecord, announcedControlUrl, type NodeStatus } from "./node-status.js";
import type { PushSnapshot, PushSource } from "./push-source.js";
import { PushSession, type PushCall } from "./push-session.js";
import { identityOf, isLoopbackHost, refusalOf, securityMode, serverCredentials, type PushSecurity } from "./push-security.js";
import type { PushIdentity } from "./push-access.js";
import { createRefreshHandler, type RefreshFn } from "./refresh-rpc.js";
import { FLEET_OPTIONS } from "../compile/fleet-options.js";

/** What the server asks the fleet controller (fleet.ts); see PushServerOptions.fleet. */
export interface FleetView {
  target(record: NodeRecord, kind: string): PushSnapshot | undefined;
  /** Called with kinds whose target changed for some node. */
  onChange(fn: (kinds: string[]) => void): () => void;
  /** A node's stream saw an ACK, NACK or StatsReport (canary checks react at once). */
  onNodeEvent?(record: NodeRecord): void;
}

/** Largest frame the server sends; chunks are kept well below (1 MiB target, 4 MiB hard). */
export const PUSH_MAX_SEND_BYTES = 16 * 1024 * 1024;
/** Largest request accepted (Hello / Ack / Nack are small). */
export const PUSH_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

/** Options of `createPushServer`; only `source` is required. */
export interface PushServerOptions {
  source: PushSource;
  host?: string;
  /** 0 picks a free port (see `port` on the result). */
  port?: number;
  chunk?: ChunkOptions;
  /** When versions go out as deltas (to data planes that support them); see DeltaOptions. */
  delta?: DeltaOptions;
  /**
   * Which version each node gets and when to look again (fleet.ts: canary, pins, hold); default:
   * every node gets `source.current(kind)` as soon as it changes.
   */
  fleet?: FleetView;
  /** Re-reads kinds from the database for TablePushService/Refresh (a data plane's reload RPC). */
  refresh?: RefreshFn;
  /** How long a disconnected node stays in `nodes()`; default one hour. */
  forgetAfterMs?: number;
  /**
   * TLS and who may connect (push-security.ts, README "Security model"). Without it the server
   * speaks plaintext, and only on a loopback host.
   */
  security?: PushSecurity;
  log?: Logger;
}

/** A running push server. */
export interface PushServer {
  readonly host: string;
  readonly port: number;
  /** "host:port" as a data plane dials it. */
  readonly address: string;
  /** Every known data plane, connected ones first. */
  nodes(): NodeStatus[];
  /** Versions that could not be encoded (bad values for their columns); they are never sent. */
  encodeFailures(): EncodeFailure[];
  /** Frame bytes written to all streams since start. */
  bytesSent(): number;
  /** Versions and frame bytes sent whole and as deltas, and deltas NACKed back to a full push. */
  pushStats(): PushStats;
  /** Re-checks every open stream against the access rules; ends refused ones. Returns their node ids. */
  revalidate(): string[];
  /**
   * Stops accepting streams and ends the open ones. `force` drops connections at once (a crash,
   * for tests); otherwise streams are ended and the server waits up to `graceMs` for them.
   */
  close(opts?: { force?: boolean; graceMs?: number }): Promise<void>;
}

/** Counters of `PushServer.pushStats()`. */
export interface PushStats {
  fullSends: number;
  fullBytes: number;
  deltaSends: number;
  deltaBytes: number;
  deltaFallbacks: number;
  /** NACKs received per table kind (any reason, deltas sent back whole included). */
  nacks: Record<string, number>;
}

const frameCodec: MessageCodec<Buffer> = {
  serialize: (b) => b,
  deserialize: (b) => b,
};

/** Starts the push server; resolves once it listens. */
export async function createPushServer(opts: PushServerOptions): Promise<PushServer> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? createLogger("push");
  const forgetAfterMs = opts.forgetAfterMs ?? 3_600_000;
  const encoded = createEncodedVersions(opts.chunk);
  const records = new Map<string, NodeRecord>();
  const sessions = new Map<string, PushSession>();
  const identities = new Map<PushSession, PushIdentity>();
  const security = opts.security ?? null;
  const mode = securityMode(security);
  if (mode === "insecure" && !isLoopbackHost(host)) {
    throw new Error(`table push on ${host} without TLS: plaintext is only allowed on a loopback address (give certificates)`);
  }
  const streamPrefix = randomBytes(4).toString("hex");
  let nonceCounter = 0;
  let bytesSent = 0;
  const stats: PushStats = { fullSends: 0, fullBytes: 0, deltaSends: 0, deltaBytes: 0, deltaFallbacks: 0, nacks: {} };
  const deltas = createDeltaVersions(opts.source, resolveDeltaOptions(opts.delta), opts.chunk);
  const noteCurrent = (kinds: Iterable<string>) => {
    for (const k of kinds) {
      const snap = opts.source.current(k);
      if (snap) deltas.note(snap);
    }
  };
  noteCurrent(opts.source.kinds());
  const fleet: FleetView = opts.fleet ?? { target: (_r, k) => opts.source.current(k), onChange: (fn) => opts.source.onChange(fn) };
  const deps = {
    source: opts.source,
    target: (r: NodeRecord, k: string) => fleet.target(r, k),
    encoded,
    deltas,
    log,
    newNonce: () => `${streamPrefix}-${(++nonceCounter).toString(36)}`,
    onBytes: (n: number, mode: "full" | "delta") => {
      bytesSent += n;
      if (mode === "delta") stats.deltaBytes += n;
      else stats.fullBytes += n;
    },
    onSend: (mode: "full" | "delta" | "fallback") => {
      if (mode === "full") stats.fullSends++;
      else if (mode === "delta") stats.deltaSends++;
      else stats.deltaFallbacks++;
    },
  };

  const offSource = opts.source.onChange((kinds) => noteCurrent(kinds)); // every version is a possible delta base
  const offFleet = fleet.onChange((kinds) => {
    for (const s of sessions.values()) s.schedule(kinds);
  });
  const unsubscribe = () => {
    offSource();
    offFleet();
  };

  /** One line per kind whose options differ from another connected node's: both sets validate every version. */
  const warnOptionsDiffer = (id: string, mine: Readonly<Record<string, string>>) => {
    for (const kind of Object.keys(mine)) {
      const others = FLEET_OPTIONS.sets(kind).filter((s) => !s.nodes.includes(id));
      if (others.length > 0) log.warn(`node ${id}: ${kind} compile options ${mine[kind]} differ from node ${others[0]!.nodes[0]}'s ${others[0]!.key}; every ${kind} version must compile with both`);
    }
  };

  const endSession = (session: PushSession) => {
    session.close();
    identities.delete(session);
    if (sessions.get(session.record.nodeId) === session) {
      sessions.delete(session.record.nodeId);
      FLEET_OPTIONS.drop(session.record.nodeId);
      session.record.connected = false;
      session.record.disconnectedAt = new Date().toISOString();
      log.info("data plane disconnected", { node: session.record.nodeId });
    }
  };

  const prune = () => {
    const cutoff = Date.now() - forgetAfterMs;
    for (const [id, r] of records) {
      if (!r.connected && r.disconnectedAt && Date.parse(r.disconnectedAt) < cutoff) records.delete(id);
    }
  };

  const streamTables = (call: PushCall) => {
    let session: PushSession | null = null;
    let failed = false;
    call.sendMetadata(new grpc.Metadata());
    const fail = (code: grpc.status, details: string) => {
      failed = true;
      if (session) endSession(session);
      call.emit("error", { code, details });
    };
    call.on("data", (req: StreamTablesRequest) => {
      if (failed) return;
      const m = req.message;
      if (!session) {
        if (m.case !== "hello") return fail(grpc.status.INVALID_ARGUMENT, "the first message of a stream must be hello");
        const node = m.value.node;
        const id = node?.id ?? "";
        if (id === "" || id.length > 256) return fail(grpc.status.INVALID_ARGUMENT, "hello.node.id must be 1..256 characters");
        const identity = identityOf(call, mode, id);
        const refused = security ? refusalOf(security, identity) : null;
        if (refused !== null) {
          log.warn("data plane refused", { node: id, peer: call.getPeer(), reason: refused });
          return fail(identity.certCn === null && mode !== "insecure" && identity.token === null ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED, refused);
        }
        const old = sessions.get(id);
        if (old) {
          log.warn("node id connected again; ending its older stream", { node: id });
          endSession(old);
          old.call.emit("error", { code: grpc.status.ABORTED, details: "superseded by a newer stream with the same node id" });
        }
        const badOptions = FLEET_OPTIONS.set(id, m.value.compileOptions);
        if (badOptions.length > 0) return fail(grpc.status.INVALID_ARGUMENT, `hello.compile_options: ${badOptions.join("; ")}`);
        warnOptionsDiffer(id, m.value.compileOptions);
        prune();
        let rec = records.get(id);
        if (!rec) {
          rec = new NodeRecord(id);
          records.set(id, rec);
        }
        rec.buildVersion = node?.buildVersion ?? "";
        rec.kinds = [...(node?.kinds ?? [])];
        rec.labels = { ...m.value.labels };
        rec.peer = call.getPeer();
        rec.controlUrl = announcedControlUrl(m.value.controlUrl, rec.peer);
        rec.connected = true;
        rec.connectedSince = new Date().toISOString();
        rec.disconnectedAt = null;
        session = new PushSession(call, rec, m.value, deps);
        sessions.set(id, session);
        identities.set(session, identity);
        log.info("data plane connected", { node: id, build: rec.buildVersion, peer: rec.peer, kinds: rec.kinds.join(",") });
        session.start();
        return;
      }
      switch (m.case) {
        case "ack":
          session.onAck(m.value);
          fleet.onNodeEvent?.(session.record);
          return;
        case "nack":
          stats.nacks[m.value.kind] = (stats.nacks[m.value.kind] ?? 0) + 1;
          session.onNack(m.value);
          fleet.onNodeEvent?.(session.record);
          return;
        case "stats": {
          const v = m.value;
          session.record.health = {
            replies: Number(v.replies),
            replies5xx: Number(v.replies5xx),
            replies408: Number(v.replies408),
            calls: Number(v.calls),
            failedCalls: Number(v.failedCalls),
            nacks: Number(v.nacks),
            at: new Date().toISOString(),
          };
          fleet.onNodeEvent?.(session.record);
          return;
        }
        case "hello":
          return fail(grpc.status.INVALID_ARGUMENT, "hello may only be sent once per stream");
        default:
          return fail(grpc.status.INVALID_ARGUMENT, "empty request");
      }
    });
    call.on("end", () => {
      if (session) endSession(session);
      call.end();
    });
    call.on("cancelled", () => {
      if (session) endSession(session);
    });
    call.on("error", () => {
      if (session) endSession(session);
    });
    call.on("close", () => {
      if (session) endSession(session);
    });
  };

  const server = new grpc.Server({
    "grpc.max_send_message_length": PUSH_MAX_SEND_BYTES,
    "grpc.max_receive_message_length": PUSH_MAX_RECEIVE_BYTES,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.http2.min_ping_interval_without_data_ms": 5_000,
  });
  server.addService(createServiceDefinition(TablePushService, { streamTables: { response: frameCodec } }), {
    streamTables: streamTables as grpc.handleBidiStreamingCall<unknown, unknown>,
    refresh: createRefreshHandler(opts.source, opts.refresh, log) as grpc.handleUnaryCall<unknown, unknown>,
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.port ?? 8071}`, serverCredentials(security), (err, p) => (err ? reject(err) : resolve(p)));
  });
  log.info("push server listening", { host, port, security: mode });

  const revalidate = (): string[] => {
    const cut: string[] = [];
    if (!security) return cut;
    for (const s of [...sessions.values()]) {
      const ident = identities.get(s);
      const why = ident ? refusalOf(security, ident) : "no identity";
      if (why === null) continue;
      cut.push(s.record.nodeId);
      log.warn("data plane cut off after an access reload", { node: s.record.nodeId, reason: why });
      endSession(s);
      s.call.emit("error", { code: grpc.status.PERMISSION_DENIED, details: why });
    }
    return cut;
  };
  const offAccess = security ? security.access.onChange(() => void revalidate()) : () => {};
  const offCrl = security?.crl ? security.crl.onChange(() => void revalidate()) : () => {};

  let closed = false;
  return {
    host,
    port,
    address: `${host}:${port}`,
    nodes() {
      prune();
      return [...records.values()]
        .map((r) => r.snapshot())
        .sort((a, b) => Number(b.connected) - Number(a.connected) || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
    },
    encodeFailures: () => encoded.failures(),
    bytesSent: () => bytesSent,
    pushStats: () => ({ ...stats, nacks: { ...stats.nacks } }),
    revalidate,
    async close(o = {}) {
      if (closed) return;
      closed = true;
      unsubscribe();
      offAccess();
      offCrl();
      const open = [...sessions.values()];
      for (const s of open) endSession(s);
      if (o.force) {
        server.forceShutdown();
        return;
      }
      for (const s of open) s.call.end();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, o.graceMs ?? 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
