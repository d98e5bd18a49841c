/**
 * Fakes for the dialog and acc unit tests: request contexts and SIP messages with just the
 * members the modules read, recording what the module did (Record-Route params, observers,
 * flags), plus a SipUac that records the requests it is asked to send.
 */
import type { RequestContext, SipMessageView, TransactionObserver, NameAddr, Endpoint, SipUac, UacRequestOptions } from "../core/api.js";

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

function nameAddr(uri: string, tag: string | null): NameAddr {
  const m = /^(sips?):(?:([^@;]*)@)?([^:;>]+)(?::(\d+))?/.exec(uri);
  return {
    displayName: null,
    uriText: uri,
    uri: m
      ? {
          scheme: m[1] as "sip",
          user: m[2] ?? null,
          password: null,
          host: m[3]!.toLowerCase(),
          ipv6: false,
          port: m[4] ? Number(m[4]) : null,
          params: new Map(),
          headers: null,
          raw: uri,
        }
      : null,
    params: new Map(tag ? [["tag", tag]] : []),
    tag,
    angle: true,
    raw: `<${uri}>${tag ? `;tag=${tag}` : ""}`,
  };
}

/** A SIP message view (request or reply) with the given fields. */
export function fakeMsg(o: FakeMsgInit = {}): SipMessageView {
  const status = o.status ?? 0;
  const method = o.method ?? "INVITE";
  const headers: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(o.headers ?? {})) headers[k.toLowerCase()] = v;
  const fromTag = o.fromTag === undefined ? "ftag1" : o.fromTag;
  const toTag = o.toTag === undefined ? null : o.toTag;
  const from = o.from ?? "sip:alice@a.example";
  const to = o.to ?? "sip:bob@b.example";
  const contact = o.contact === undefined ? "sip:alice@10.0.0.1:5060" : o.contact;
  return {
    isRequest: status === 0,
    method,
    status,
    reason: o.reason ?? "",
    requestUri: status === 0 ? o.requestUri ?? "sip:bob@b.example" : "",
    callId: o.callId ?? "call-1",
    cseq: { seq: o.cseq ?? 1, method: o.cseqMethod ?? method },
    from: nameAddr(from, fromTag),
    to: nameAddr(to, toTag),
    fromTag,
    toTag,
    vias: [],
    topVia: undefined as never,
    maxForwards: 70,
    contacts: () => (contact ? [nameAddr(contact, null)] : []),
    body: o.body ?? "",
    contentType: null,
    size: 0,
    header: (n: string) => headers[n.toLowerCase()]?.[0] ?? null,
    headerAll: (n: string) => headers[n.toLowerCase()] ?? [],
    headerValues: (n: string) => headers[n.toLowerCase()] ?? [],
    hasHeader: (n: string) => n.toLowerCase() in headers,
    raw: "",
  };
}

/** What a fake request context recorded. */
export interface FakeReq extends RequestContext {
  readonly rrParams: string[];
  readonly observers: TransactionObserver[];
}

/** A request context over `msg` that records recordRoute params and observers. */
export function fakeReq(msg: SipMessageView, o: { source?: Endpoint; localSocket?: string; ruri?: string; dst?: string | null } = {}): FakeReq {
  const vars = new Map<string, unknown>();
  let flags = 0;
  const rrParams: string[] = [];
  const observers: TransactionObserver[] = [];
  const req = {
    msg,
    method: msg.method,
    source: o.source ?? { proto: "udp", address: "192.0.2.10", port: 5060 },
    localSocket: o.localSocket ?? "udp:127.0.0.1:5060",
    localSocketName: null,
    ruri: o.ruri ?? msg.requestUri,
    dst: o.dst ?? null,
    vars,
    hasToTag: msg.toTag !== null,
    rrParams,
    observers,
    get flags() {
      return flags;
    },
    setFlag: (f: number) => {
      if (f >= 0) flags |= 1 << f;
    },
    resetFlag: (f: number) => {
      if (f >= 0) flags &= ~(1 << f);
    },
    isFlagSet: (f: number) => f >= 0 && (flags & (1 << f)) !== 0,
    recordRoute: (p?: string) => {
      rrParams.push(p ?? "");
    },
    observeTransaction: (ob: TransactionObserver) => {
      observers.push(ob);
    },
  };
  return req as unknown as FakeReq;
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
