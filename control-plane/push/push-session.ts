/**
 * One data plane's aggregated stream on the control plane (xDS ADS, state of the world per kind,
 * chunked). Rules, from the xDS protocol:
 * - only kinds the node supports are sent, in make-before-break order (KIND_ORDER);
 * - a kind is sent only when the current version differs from what the node runs, from what was
 *   last sent on this stream (in flight or NACKed) and from what this build last NACKed;
 * - every send gets a fresh nonce shared by its chunks; chunks of one version are written back to
 *   back, so a data plane never sees two versions of a kind interleaved;
 * - an ACK/NACK whose nonce is not the latest sent for its kind is stale and ignored;
 * - after an ACK nothing is resent; after a NACK the control plane waits for a new version.
 *
 * @example
 *   const s = new PushSession(call, record, hello, deps); s.start(); source.onChange((k) => s.schedule(k));
 */
import type * as grpc from "@grpc/grpc-js";
import type { Ack, Hello, Nack, StreamTablesRequest } from "../../gen/olelo/control/v1/control_pb.js";
import { NackReason } from "../../gen/olelo/control/v1/control_pb.js";
import type { Logger } from "../../data-plane/core/log/logger.js";
import { encodeResponseFrame } from "../../data-plane/sync/wire/response-frame.js";
import { KIND_ORDER, kindPlan } from "../../data-plane/sync/wire/table-kinds.js";
import type { EncodedVersions } from "./encoded-versions.js";
import type { NodeRecord } from "./node-status.js";
import type { PushSource } from "./push-source.js";

/** Frames are serialized by the session (encodeResponseFrame); the stream writes bytes as-is. */
export type PushCall = grpc.ServerDuplexStream<StreamTablesRequest, Buffer>;

/** What a session shares with the server: the source, the encode cache, the log and the nonce generator. */
export interface SessionDeps {
  source: PushSource;
  encoded: EncodedVersions;
  log: Logger;
  newNonce(): string;
  /** Counts bytes written (benchmarks, stats). */
  onBytes?(n: number): void;
}

/** The control plane's state machine for one data plane's stream (see the file comment for the rules). */
export class PushSession {
  /** Kinds this session pushes: supported by the node and carried by the protocol. */
  readonly kinds: ReadonlySet<string>;
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
    // The rejected version is not resent: the next push of this kind waits for a new version.
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
    const snap = this.deps.source.current(kind);
    if (!snap) return;
    const t = this.record.kind(kind);
    if (snap.version === t.appliedVersion) return;
    if (snap.version === t.sentVersion) return;
    if (snap.version === t.lastNackVersion && this.record.nackedBuild.get(kind) === this.record.buildVersion) {
      // Rejected by this node on an earlier stream; the same build would reject it again.
      return;
    }
    const enc = this.deps.encoded.get(snap);
    if (!enc.ok) {
      this.deps.log.error("table version cannot be encoded; not sent", { kind, version: snap.version, error: enc.error.message });
      return;
    }
    const nonce = this.deps.newNonce();
    t.sentVersion = snap.version;
    t.sentNonce = nonce;
    t.pending = true;
    const chunkCount = enc.chunks.length;
    for (let i = 0; i < chunkCount; i++) {
      if (this.closed) return;
      const frame = encodeResponseFrame(
        { kind, version: snap.version, nonce, chunkIndex: i, chunkCount, totalRows: enc.totalRows, compiledAt: snap.compiledAt },
        enc.chunks[i]!,
      );
      this.deps.onBytes?.(frame.length);
      if (!this.call.write(frame)) await this.waitDrain();
    }
    this.deps.log.debug("table version sent", { node: this.record.nodeId, kind, version: snap.version, nonce, chunks: chunkCount });
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
