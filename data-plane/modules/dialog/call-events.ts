import type { Dialog, EndedBy, EndReason } from "./dialog.js";

/**
 * The call events the dialog module publishes on the event bus (issue 5: what a billing system
 * consumes). Field names are snake_case; times are ISO 8601 UTC strings; durations are seconds
 * with millisecond precision. The envelope (`OleloEvent`) adds seq, kind, ts and the node name.
 */
export const CALL_EVENTS = ["call.started", "call.answered", "call.ended"] as const;

/** Fields every call event carries. */
export interface CallEventBase {
  /** Call-ID of the INVITE. */
  readonly call_id: string;
  /** From URI and tag (the caller). */
  readonly from: string;
  readonly from_tag: string;
  /** To URI of the INVITE (the callee). */
  readonly to: string;
  /** Request-URI of the INVITE as received. */
  readonly ruri: string;
  /** Source of the INVITE. */
  readonly src_ip: string;
  readonly src_port: number;
  readonly proto: string;
  /** Dialog id (dlg.end_dlg h_entry h_id). */
  readonly h_entry: number;
  readonly h_id: number;
  /** The data-plane node (also in the event envelope, repeated for consumers that keep only data). */
  readonly node: string;
}

/** call.started: the INVITE was relayed (first branch sent). */
export interface CallStartedData extends CallEventBase {
  /** Destination chosen: $du of the first branch, else its Request-URI. */
  readonly gateway: string | null;
  /** Resolved next hop `proto:ip:port`. */
  readonly gateway_addr: string | null;
  /** When the INVITE arrived. */
  readonly start_time: string;
}

/** call.answered: a 2xx to the INVITE went upstream. */
export interface CallAnsweredData extends CallStartedData {
  readonly to_tag: string;
  readonly answer_time: string;
  readonly code: number;
  readonly reason: string;
}

/** call.ended: BYE, failure, timeout or termination by RPC. */
export interface CallEndedData extends CallEventBase {
  readonly to_tag: string;
  /** The gateway that answered, or the one whose reply failed the call (null: never relayed). */
  readonly gateway: string | null;
  readonly gateway_addr: string | null;
  readonly start_time: string;
  /** null when the call was never answered. */
  readonly answer_time: string | null;
  readonly end_time: string;
  /** Seconds from answer to end; 0 when never answered. */
  readonly duration: number;
  /** Final code and reason of the INVITE (200 … for answered calls, else the failure). */
  readonly code: number;
  readonly reason: string;
  readonly ended_by: EndedBy;
  readonly end_reason: EndReason;
  /** Dialog variables set by the script (dialog.setVar, Kamailio $dlg_var). */
  readonly vars: Readonly<Record<string, string>>;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function base(d: Dialog, node: string): CallEventBase {
  return {
    call_id: d.callId,
    from: d.fromUri,
    from_tag: d.caller.tag,
    to: d.toUri,
    ruri: d.reqUri,
    src_ip: d.source.address,
    src_port: d.source.port,
    proto: d.source.proto,
    h_entry: d.hEntry,
    h_id: d.hId,
    node,
  };
}

function gatewayOf(d: Dialog): { gateway: string | null; gateway_addr: string | null } {
  const b = d.gateway;
  if (!b) return { gateway: null, gateway_addr: null };
  return { gateway: b.dstUri ?? b.uri, gateway_addr: `${b.dst.proto}:${b.dst.address}:${b.dst.port}` };
}

/** Payload of call.started. */
export function callStarted(d: Dialog, node: string): CallStartedData {
  return { ...base(d, node), ...gatewayOf(d), start_time: iso(d.initTs) };
}

/** Payload of call.answered. */
export function callAnswered(d: Dialog, node: string): CallAnsweredData {
  return {
    ...base(d, node),
    ...gatewayOf(d),
    start_time: iso(d.initTs),
    to_tag: d.callee.tag,
    answer_time: iso(d.startTs),
    code: d.code,
    reason: d.reason,
  };
}

/** Payload of call.ended. */
export function callEnded(d: Dialog, node: string): CallEndedData {
  return {
    ...base(d, node),
    ...gatewayOf(d),
    to_tag: d.callee.tag,
    start_time: iso(d.initTs),
    answer_time: d.startTs ? iso(d.startTs) : null,
    end_time: iso(d.endTs),
    duration: d.startTs ? Math.max(0, Math.round(d.endTs - d.startTs)) / 1000 : 0,
    code: d.code,
    reason: d.reason,
    ended_by: d.endedBy ?? "proxy",
    end_reason: d.endReason ?? "failed",
    vars: d.vars ? Object.fromEntries(d.vars) : {},
  };
}
