/**
 * What the control plane knows about every data plane (Envoy's CSDS view, xDS lesson 12): when it
 * connected, and per table kind the version it runs, the last version it rejected and why, and
 * when it last acknowledged. The management API serves this as-is (`nodes()`).
 *
 * @example
 *   push.nodes().filter((n) => n.tables.some((t) => t.lastNackVersion !== null));
 */

/** Why a data plane rejected a version (from its Nack's ErrorDetail). */
export interface NackError {
  /** NACK_REASON_* name without the prefix: INVALID_ROW, UNKNOWN_KIND, BAD_CHUNK, INTERNAL. */
  reason: string;
  message: string;
  table: string | null;
  row: string | number | null;
  detail: string;
}

/** A delta the node could not apply (it then got the whole version). */
export interface DeltaFallback {
  /** The version that was sent as a delta. */
  version: string;
  baseVersion: string | null;
  /** BASE_MISMATCH or DELTA_MISMATCH. */
  reason: string;
  message: string;
  at: string;
}

/** The node's last StatsReport (cumulative counters since it started) and when it came. */
export interface NodeHealth {
  replies: number;
  replies5xx: number;
  replies408: number;
  calls: number;
  failedCalls: number;
  nacks: number;
  at: string;
}

/** Per node, per table kind. */
export interface NodeKindStatus {
  kind: string;
  /** Version the node runs: last ACKed, or reported in its Hello, or kept after a NACK. */
  appliedVersion: string | null;
  /** Version last sent on the current stream, and its nonce. */
  sentVersion: string | null;
  sentNonce: string | null;
  /** How the last version went out: whole ("full") or as a delta against `sentBaseVersion`. */
  sentMode: "full" | "delta" | null;
  sentBaseVersion: string | null;
  /** Versions sent whole / as deltas since the node first connected. */
  fullPushes: number;
  deltaPushes: number;
  /** Deltas the node NACKed with BASE_MISMATCH / DELTA_MISMATCH (each followed by a full push). */
  deltaFallbacks: number;
  lastDeltaFallback: DeltaFallback | null;
  /** Sent and not yet answered. */
  pending: boolean;
  lastAckAt: string | null;
  lastNackVersion: string | null;
  lastNackAt: string | null;
  lastNackError: NackError | null;
}

/** One data plane. Disconnected nodes stay listed (connected: false) for a while. */
export interface NodeStatus {
  nodeId: string;
  buildVersion: string;
  /** Remote address of the stream, e.g. "127.0.0.1:53412". */
  peer: string;
  /** Table kinds the node said it can apply. */
  kinds: string[];
  /** Labels from the node's Hello (its controlPlane.labels). */
  labels: Record<string, string>;
  /** Last StatsReport, null before the first. */
  health: NodeHealth | null;
  /** The node's control API (Hello control_url, unspecified host → peer address); null when not announced. */
  controlUrl: string | null;
  connected: boolean;
  connectedSince: string | null;
  disconnectedAt: string | null;
  /** Most recent ACK over all kinds. */
  lastAckAt: string | null;
  /** ACK/NACKs ignored because their nonce was not the latest sent for that kind. */
  staleNonces: number;
  tables: NodeKindStatus[];
}

/** Mutable record behind a NodeStatus; kept across reconnects of the same node id. */
export class NodeRecord {
  buildVersion = "";
  peer = "";
  kinds: string[] = [];
  labels: Record<string, string> = {};
  health: NodeHealth | null = null;
  controlUrl: string | null = null;
  connected = false;
  connectedSince: string | null = null;
  disconnectedAt: string | null = null;
  lastAckAt: string | null = null;
  staleNonces = 0;
  readonly tables = new Map<string, NodeKindStatus>();
  /** Build that sent the last NACK per kind: a different build may accept the same version. */
  readonly nackedBuild = new Map<string, string>();

  constructor(readonly nodeId: string) {}

  kind(kind: string): NodeKindStatus {
    let t = this.tables.get(kind);
    if (!t) {
      t = {
        kind,
        appliedVersion: null,
        sentVersion: null,
        sentNonce: null,
        sentMode: null,
        sentBaseVersion: null,
        fullPushes: 0,
        deltaPushes: 0,
        deltaFallbacks: 0,
        lastDeltaFallback: null,
        pending: false,
        lastAckAt: null,
        lastNackVersion: null,
        lastNackAt: null,
        lastNackError: null,
      };
      this.tables.set(kind, t);
    }
    return t;
  }

  snapshot(): NodeStatus {
    return {
      nodeId: this.nodeId,
      buildVersion: this.buildVersion,
      peer: this.peer,
      kinds: [...this.kinds],
      labels: { ...this.labels },
      health: this.health ? { ...this.health } : null,
      controlUrl: this.controlUrl,
      connected: this.connected,
      connectedSince: this.connectedSince,
      disconnectedAt: this.disconnectedAt,
      lastAckAt: this.lastAckAt,
      staleNonces: this.staleNonces,
      tables: [...this.tables.values()].map((t) => ({
        ...t,
        lastNackError: t.lastNackError ? { ...t.lastNackError } : null,
        lastDeltaFallback: t.lastDeltaFallback ? { ...t.lastDeltaFallback } : null,
      })),
    };
  }
}

/**
 * The control API URL a node announced in its Hello, checked (http/https only) and with an
 * unspecified host (0.0.0.0, [::]) replaced by the stream's peer address; null when absent or bad.
 */
export function announcedControlUrl(announced: string, peer: string): string | null {
  if (announced === "") return null;
  let u: URL;
  try {
    u = new URL(announced);
  } catch {
    return null;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  if (u.hostname === "0.0.0.0" || u.hostname === "[::]") {
    const host = /^(?:ipv[46]:)?(\[[^\]]+\]|[^:]+):\d+$/.exec(peer)?.[1];
    if (!host) return null;
    u.hostname = host;
  }
  return u.toString();
}
