/**
 * The billing CDR a data plane spools and delivers to the control plane (`olelo_cdrs` columns,
 * control-plane/README.md "Billing API"), built from a call.ended event.
 *
 * cdr_id is stable: sha256(node, Call-ID, From-tag, INVITE arrival ms) — the same call ended twice
 * (a retried delivery, a dialog recovered after a restart) gives the same id, so the control plane
 * stores it once; a new INVITE with the same Call-ID (after a 407 challenge) arrives later and gets
 * another id.
 *
 * @example
 *   const cdr = cdrFromCallEnded(ev, { accountVar: "account" });  // { cdr_id: "5f1c…", billsec: 12, ... }
 */
import { createHash } from "node:crypto";
import type { CallEndedData } from "../dialog/api.js";
import { uriParts } from "./extra.js";

export interface BillingCdr {
  cdr_id: string;
  call_id: string;
  from_tag: string;
  to_tag: string;
  from_uri: string;
  from_user: string;
  to_uri: string;
  to_user: string;
  ruri: string;
  /** The calling party: the From user. */
  caller: string;
  /** The called party: the Request-URI user of the INVITE as received (the dialled number). */
  callee: string;
  src_ip: string;
  src_port: number;
  proto: string;
  node: string;
  gateway: string | null;
  gateway_addr: string | null;
  /** Dialog variable `cdr_account_var` (default "account"), else the From user. */
  account: string;
  start_ms: number;
  answer_ms: number | null;
  end_ms: number;
  /** Answer to end in ms (0 when never answered). */
  duration_ms: number;
  /** Billable seconds: duration rounded up to whole seconds. */
  billsec: number;
  sip_code: number;
  sip_reason: string;
  ended_by: string;
  end_reason: string;
  /** ANSWERED, BUSY (486/600), CANCELLED (487), NO ANSWER (408/480), FAILED. */
  disposition: string;
  vars: string;
}

/** Stable CDR id of one call on one node. */
export function cdrId(node: string, callId: string, fromTag: string, startMs: number): string {
  return createHash("sha256").update(`${node}\0${callId}\0${fromTag}\0${startMs}`).digest("hex").slice(0, 40);
}

function disposition(e: CallEndedData): string {
  if (e.answer_time) return "ANSWERED";
  if (e.code === 486 || e.code === 600) return "BUSY";
  if (e.code === 487) return "CANCELLED";
  if (e.code === 408 || e.code === 480) return "NO ANSWER";
  return "FAILED";
}

const cut = (s: string, n: number) => ([...s].length > n ? [...s].slice(0, n).join("") : s);

export function cdrFromCallEnded(e: CallEndedData, opts: { accountVar: string }): BillingCdr {
  const start = Date.parse(e.start_time);
  const answer = e.answer_time ? Date.parse(e.answer_time) : null;
  const end = Date.parse(e.end_time);
  const durationMs = answer === null ? 0 : Math.max(0, end - answer);
  const fromUser = uriParts(e.from).user;
  return {
    cdr_id: cdrId(e.node, e.call_id, e.from_tag, start),
    call_id: cut(e.call_id, 255),
    from_tag: cut(e.from_tag, 128),
    to_tag: cut(e.to_tag, 128),
    from_uri: cut(e.from, 255),
    from_user: cut(fromUser, 128),
    to_uri: cut(e.to, 255),
    to_user: cut(uriParts(e.to).user, 128),
    ruri: cut(e.ruri, 255),
    caller: cut(fromUser, 128),
    callee: cut(uriParts(e.ruri).user, 128),
    src_ip: e.src_ip,
    src_port: e.src_port,
    proto: e.proto,
    node: e.node,
    gateway: e.gateway === null ? null : cut(e.gateway, 255),
    gateway_addr: e.gateway_addr,
    account: cut(e.vars[opts.accountVar] ?? fromUser, 128),
    start_ms: start,
    answer_ms: answer,
    end_ms: end,
    duration_ms: durationMs,
    billsec: Math.ceil(durationMs / 1000),
    sip_code: e.code,
    sip_reason: cut(e.reason, 128),
    ended_by: e.ended_by,
    end_reason: e.end_reason,
    disposition: disposition(e),
    vars: JSON.stringify(e.vars),
  };
}
