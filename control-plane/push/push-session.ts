/**
 * One data plane's aggregated stream on the control plane (xDS ADS, state of the world per kind,
 * chunked, with deltas for large kinds). Rules, from the xDS protocol:
 * - only kinds the node supports are sent, in make-before-break order (KIND_ORDER);
 * - a kind is sent only when the current version differs from what the node runs, from what was
 *   last sent on this stream (in flight or NACKed) and from what this build last NACKed;
 * - every send gets a fresh nonce shared by its chunks; chunks of one version are written back to
 *   back, so a data plane never sees two versions of a kind interleaved;
 * - an ACK/NACK whose nonce is not the latest sent for its kind is stale and ignored;
 * - after an ACK nothing is resent; after a NACK the control plane waits for a new version;
 * - to a node that supports deltas, a kind whose running version is known goes as a delta when
 *   the delta is small enough (delta-versions.ts); while a version is in flight to such a node the
 *   next one waits for its ACK/NACK, so the base of the delta is what the node really runs;
 * - a delta NACKed with BASE_MISMATCH / DELTA_MISMATCH is answered with the whole version.
 *
 * @example
 *   const s = new PushSession(call, record, hello, deps); s.start(); source.onChange((k) => s.schedule(k));
 */
import type * as grpc from "@grpc/grpc-js";
import type { Ack, Hello, Nack, StreamTablesRequest } from "../../gen/olelo/control/v1/control_pb.js";
import { NackReason } from "../../gen/olelo/control/v1/control_pb.js";
import type { Logger } from "../../lib/log/logger.js";
import { encodeResponseFrame } from "../../tables/wire/response-frame.js";
import { KIND_ORDER, kindPlan } from "../../tables/wire/table-kinds.js";
import type { DeltaVersions } from "./delta-versions.js";
import type { EncodedVersions } from "./encoded-versions.js";
import type { NodeRecord } from "./node-status.js";
import type { PushSnapshot, PushSource } from "./push-source.js";

/** Frames are serialized by the session (encodeResponseFrame); the stream writes bytes as-is. */
export type PushCall = grpc.ServerDuplexStream<StreamTablesRequest, Buffer>;

/** What a session shares with the server: the source, the encode cache, the log and the nonce generator. */
export interface SessionDeps {
  source: PushSource;
  /** The version this node should run (the fleet's, or a canary's candidate); default source.current. */
  target(record: NodeRecord, kind: string): PushSnapshot | undefined;
  encoded: EncodedVersions;
  deltas: DeltaVersions;
  log: Logger;
  newNonce(): string;
  /** Counts bytes written (benchmarks, stats), by how the version went out. */
  onBytes?(n: number, mode: "full" | "delta"): void;
  /** Counts versions sent, by mode, and delta fallbacks. */
  onSend?(mode: "full" | "delta" | "fallback"): void;
}

/** One chunk to write: the rows field and, for a delta, the delta field. */
interface OutChunk {
  rows: Buffer;
  delta?: Buffer;
}

/** The control plane's state machine for one data plane's stream (see the file comment for the rules). */
export class PushSession {
  /** Kinds this session pushes: supported by the node and carried by the protocol. */
  readonly kinds: ReadonlySet<string>;
  /** The node said it can apply deltas (Node.supports_delta). */
  readonly supportsDelta: boolean;
  /** Kind → version that must go whole (its delta was NACKed with a base/result mismatch). */
  private readonly fullOnly = new Map<string, string>();
  private readonly pending = new Set<string>();
  private pumping = false;
  private closed = false;
  private drainWaiter: (() => void) | null = null;

  constructor(
    readonly call: PushCall,
    readonly record: NodeRecord,
    hello: Hello,
    private readonly deps: SessionDeps,
  ) {
    this.kinds = new Set((hello.node?.kinds ?? []).filter((k) => kindPlan(k) !== undefined));
    this.supportsDelta = hello.node?.supportsDelta === true;
    for (const kind of this.kinds) {
      const t = record.kind(kind);
      const v = hello.versions[kind];
      // The node says what it runs (from its cache after a restart): trust it, as xDS does.
      t.appliedVersion = v ? v : null;
      t.sentVersion = null;
      t.sentNonce = null;
      t.pending = false;
    }
    call.on("drain", () => this.wakeDrain());
  }

  /** Queues every supported kind (first sync after Hello). */
  start(): void {
    this.schedule(this.kinds);
  }

  /** Queues kinds for a check; the pump sends whichever need it, in KIND_ORDER. */
  schedule(kinds: Iterable<string>): void {
    if (this.closed) return;
    for (const k of kinds) if (this.kinds.has(k)) this.pending.add(k);
    if (this.pending.size > 0 && !this.pumping) void this.pump();
  }

  isClosed(): boolean {
    return this.closed;
  }

  /** Marks the session closed; the pump stops before its next write. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    for (const t of this.record.tables.values()) t.pending = false;
    this.wakeDrain();
  }

  onAck(ack: Ack): void {
    const t = this.kinds.has(ack.kind) ? this.record.kind(ack.kind) : undefined;
    if (!t || !t.sentNonce || ack.responseNonce !== t.sentNonce) {
      this.record.staleNonces++;
      this.deps.log.debug("stale ack ignored", { node: this.record.nodeId, kind: ack.kind, nonce: ack.responseNonce });
      return;
    }
    if (ack.version !== t.sentVersion) {
      this.deps.log.warn("ack names another version than was sent", { node: this.record.nodeId, kind: ack.kind, sent: t.sentVersion, acked: ack.version });
    }
    const now = new Date().toISOString();
    t.appliedVersion = ack.version;
    t.pending = false;
    t.lastAckAt = now;
    this.record.lastAckAt = now;
    // The source may have moved on while this version was in flight.
    this.schedule([ack.kind]);
  }

  onNack(nack: Nack): void {
    const t = this.kinds.has(nack.kind) ? this.record.kind(nack.kind) : undefined;
    if (!t || !t.sentNonce || nack.responseNonce !== t.sentNonce) {
      this.record.staleNonces++;
      this.deps.log.debug("stale nack ignored", { node: this.record.nodeId, kind: nack.kind, nonce: nack.responseNonce });
      return;
    }
    const d = nack.errorDetail;
    const reason = d?.reason ?? NackReason.UNSPECIFIED;
    if (t.sentMode === "delta" && (reason === NackReason.BASE_MISMATCH || reason === NackReason.DELTA_MISMATCH)) {
      // Not a verdict on the rows: the node could not use the delta. It gets the whole version.
      const version = nack.rejectedVersion || t.sentVersion || "";
      t.pending = false;
      t.appliedVersion = nack.version ? nack.version : null;
      t.deltaFallbacks++;
      t.lastDeltaFallback = { version, baseVersion: t.sentBaseVersion, reason: NackReason[reason] ?? "UNSPECIFIED", message: d?.message ?? "", at: new Date().toISOString() };
      t.sentVersion = null;
      this.fullOnly.set(nack.kind, version);
      this.deps.onSend?.("fallback");
      this.deps.log.info("delta not applicable; sending the whole version", { node: this.record.nodeId, kind: nack.kind, version, reason: t.lastDeltaFallback.reason, error: t.lastDeltaFallback.message });
      this.schedule([nack.kind]);
      return;
    }
    t.pending = false;
    t.appliedVersion = nack.version ? nack.version : null;
    t.lastNackVersion = nack.rejectedVersion || t.sentVersion;
    t.lastNackAt = new Date().toISOString();
    this.record.nackedBuild.set(nack.kind, this.record.buildVersion);
    t.lastNackError = {
      reason: NackReason[d?.reason ?? NackReason.UNSPECIFIED] ?? "UNSPECIFIED",
      message: d?.message ?? "",
      table: d?.table ? d.table : null,
      row: d?.row.case === "rowString" ? d.row.value : d?.row.case === "rowInt" ? Number(d.row.value) : null,
      detail: d?.detail ?? "",
    };
    this.deps.log.warn("table version rejected", { node: this.record.nodeId, kind: nack.kind, version: t.lastNackVersion, error: t.lastNackError.message });
    // The rejected version is not resent (sendIfNeeded skips it); a newer one that waited for
    // this answer goes out now.
    this.schedule([nack.kind]);
  }

  private nextKind(): string | undefined {
    for (const k of KIND_ORDER) if (this.pending.has(k)) return k;
    return this.pending.values().next().value;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let kind = this.nextKind(); kind !== undefined && !this.closed; kind = this.nextKind()) {
        this.pending.delete(kind);
        await this.sendIfNeeded(kind);
      }
    } catch (e) {
      this.deps.log.error("push stream failed", { node: this.record.nodeId, error: e instanceof Error ? e.message : String(e) });
    } finally {
      this.pumping = false;
    }
  }

  private async sendIfNeeded(kind: string): Promise<void> {
    const snap = this.deps.target(this.record, kind);
    if (!snap) return;
    const t = this.record.kind(kind);
    if (snap.version === t.appliedVersion) return;
    if (snap.version === t.sentVersion) return;
    if (snap.version === t.lastNackVersion && this.record.nackedBuild.get(kind) === this.record.buildVersion) {
      // Rejected by this node on an earlier stream; the same build would reject it again.
      return;
    }
    this.deps.deltas.note(snap);
    if (this.supportsDelta) {
      // Wait for the answer to the version in flight: the delta's base must be what the node runs.
      if (t.pending) return;
      if (t.appliedVersion !== null && this.fullOnly.get(kind) !== snap.version) {
        const base = t.appliedVersion;
        const d = await this.deps.deltas.get(kind, base, snap);
        if (this.closed || this.deps.target(this.record, kind) !== snap || t.pending || t.appliedVersion !== base) {
          // Things moved while the delta was computed; check the kind again from the start.
          if (!this.closed) this.pending.add(kind);
          return;
        }
        if (d.ok) {
          const chunks = d.enc.chunks.map((c) => ({ rows: c.rows, delta: c.delta }));
          t.sentMode = "delta";
          t.sentBaseVersion = base;
          t.deltaPushes++;
          this.deps.onSend?.("delta");
          await this.writeVersion(kind, snap, chunks, d.enc.totalRows, "delta");
          this.deps.log.debug("table delta sent", { node: this.record.nodeId, kind, base, version: snap.version, changed: d.changedRows, chunks: chunks.length });
          return;
        }
        this.deps.log.debug("whole version instead of a delta", { node: this.record.nodeId, kind, base, version: snap.version, reason: d.reason });
      }
    }
    const enc = this.deps.encoded.get(snap);
    if (!enc.ok) {
      this.deps.log.error("table version cannot be encoded; not sent", { kind, version: snap.version, error: enc.error.message });
      return;
    }
    t.sentMode = "full";
    t.sentBaseVersion = null;
    t.fullPushes++;
    this.fullOnly.delete(kind);
    this.deps.onSend?.("full");
    await this.writeVersion(kind, snap, enc.chunks.map((rows) => ({ rows })), enc.totalRows, "full");
    this.deps.log.debug("table version sent", { node: this.record.nodeId, kind, version: snap.version, chunks: enc.chunks.length });
  }

  /** Sends one version's chunks back to back under a fresh nonce, honouring backpressure. */
  private async writeVersion(kind: string, snap: PushSnapshot, chunks: readonly OutChunk[], totalRows: number, mode: "full" | "delta"): Promise<void> {
    const t = this.record.kind(kind);
    const nonce = this.deps.newNonce();
    t.sentVersion = snap.version;
    t.sentNonce = nonce;
    t.pending = true;
    const chunkCount = chunks.length;
    for (let i = 0; i < chunkCount; i++) {
      if (this.closed) return;
      const c = chunks[i]!;
      const frame = encodeResponseFrame({ kind, version: snap.version, nonce, chunkIndex: i, chunkCount, totalRows, compiledAt: snap.compiledAt }, c.rows, c.delta);
      this.deps.onBytes?.(frame.length, mode);
      if (!this.call.write(frame)) await this.waitDrain();
    }
  }

  private waitDrain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiter = resolve;
    });
  }

  private wakeDrain(): void {
    const w = this.drainWaiter;
    this.drainWaiter = null;
    w?.();
  }
}
