/**
 * Test doubles for the dialog and acc unit tests, on the real core (sip-harness.ts): SIP messages
 * parsed from wire text built from a few fields, the real request context of a request, recording
 * what the module did to it (Record-Route params, transaction observers) while the real context
 * does it too; plus a SipUac that records the requests it is asked to send.
 */
import type { RequestContext, SipMessageView, TransactionObserver, Endpoint, SipUac, UacRequestOptions } from "../core/api.js";
import type { SipMessage } from "../core/sip/message.js";
import { parseWire, requestContext } from "./sip-harness.js";

export interface FakeMsgInit {
  method?: string;
  status?: number;
  reason?: string;
  requestUri?: string;
  callId?: string;
  from?: string;
  fromTag?: string | null;
  to?: string;
  toTag?: string | null;
  cseq?: number;
  cseqMethod?: string;
  contact?: string | null;
  body?: string;
  headers?: Record<string, string[]>;
}

/** A SIP message (request or reply) with the given fields, parsed by the real parser. */
export function fakeMsg(o: FakeMsgInit = {}): SipMessageView {
  const status = o.status ?? 0;
  const method = o.method ?? "INVITE";
  const fromTag = o.fromTag === undefined ? "ftag1" : o.fromTag;
  const toTag = o.toTag === undefined ? null : o.toTag;
  const contact = o.contact === undefined ? "sip:alice@10.0.0.1:5060" : o.contact;
  const body = o.body ?? "";
  const lines = [
    status === 0 ? `${method} ${o.requestUri ?? "sip:bob@b.example"} SIP/2.0` : `SIP/2.0 ${status} ${o.reason ?? ""}`,
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-fake1",
    `From: <${o.from ?? "sip:alice@a.example"}>${fromTag ? `;tag=${fromTag}` : ""}`,
    `To: <${o.to ?? "sip:bob@b.example"}>${toTag ? `;tag=${toTag}` : ""}`,
    `Call-ID: ${o.callId ?? "call-1"}`,
    `CSeq: ${o.cseq ?? 1} ${o.cseqMethod ?? method}`,
    "Max-Forwards: 70",
    ...(contact ? [`Contact: <${contact}>`] : []),
    ...Object.entries(o.headers ?? {}).flatMap(([n, vs]) => vs.map((v) => `${n}: ${v}`)),
    `Content-Length: ${Buffer.byteLength(body, "latin1")}`,
  ];
  return parseWire(`${lines.join("\r\n")}\r\n\r\n${body}`, "fakeMsg");
}

/** What a fake request context recorded. */
export interface FakeReq extends RequestContext {
  readonly rrParams: string[];
  readonly observers: TransactionObserver[];
}

/**
 * The real request context of `msg` (from fakeMsg) received from `source` on a fresh harness,
 * recording its recordRoute params and transaction observers. `ruri` and `dst` preset $ru / $du.
 */
export function fakeReq(msg: SipMessageView, o: { source?: Endpoint; ruri?: string; dst?: string | null } = {}): FakeReq {
  const { req } = requestContext(msg as SipMessage, { source: o.source });
  if (o.ruri !== undefined) req.setRuri(o.ruri);
  if (o.dst) req.dst = o.dst;
  const rrParams: string[] = [];
  const observers: TransactionObserver[] = [];
  const recordRoute = req.recordRoute.bind(req);
  req.recordRoute = (p?: string) => {
    rrParams.push(p ?? "");
    recordRoute(p);
  };
  const observe = req.observeTransaction.bind(req);
  req.observeTransaction = (ob: TransactionObserver) => {
    observers.push(ob);
    observe(ob);
  };
  // the records sit beside the real context (whose own rrParams is private state): a view that
  // answers them and hands everything else, methods bound, to the context
  const extra: Record<PropertyKey, unknown> = { rrParams, observers };
  return new Proxy(req, {
    get(t, k) {
      if (k in extra) return extra[k];
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
    set: (t, k, v) => Reflect.set(t, k, v, t),
  }) as unknown as FakeReq;
}

/** A SipUac that records requests and answers them with `code`. */
export function fakeUac(code = 200): SipUac & { sent: UacRequestOptions[] } {
  const sent: UacRequestOptions[] = [];
  return {
    sent,
    request: async (opts) => {
      sent.push(opts);
      return { code, reason: "OK", latencyMs: 1 };
    },
    sendRaw: () => undefined,
  };
}

/** Delivers a reply to every observer of a fake request, as the core does. */
export function sendReply(req: FakeReq, reply: SipMessageView, branchIndex = 0, local = false): void {
  for (const o of req.observers) o.replySent?.(reply.status, reply, branchIndex, local);
}

/** Tells the observers a branch was sent. */
export function sendBranch(req: FakeReq, index: number, uri: string, dstUri: string | null, dst: Endpoint): void {
  for (const o of req.observers) o.branchSent?.({ index, uri, dstUri, dst });
}
