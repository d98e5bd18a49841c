import type { Endpoint, SipMessageView } from "../../core/api.js";
import { nameAddrUri, splitHeaderList, splitUri, uriProto } from "../../core/kit/index.js";
import { isRfc1918, sameIp } from "./ip-private.js";

/** nat_uac_test bits (Kamailio NAT_UAC_TEST_*). */
export const NatTest = {
  /** 1: the Contact URI host is a private address. */
  CONTACT_PRIVATE: 1,
  /** 2: the top Via host differs from the source IP. */
  VIA_RECEIVED: 2,
  /** 4: the top Via host is a private address. */
  VIA_PRIVATE: 4,
  /** 8: the SDP has a private connection address. */
  SDP_PRIVATE: 8,
  /** 16: the source port differs from the top Via port. */
  VIA_RPORT: 16,
  /** 32: the source IP is private. */
  SOURCE_PRIVATE: 32,
  /** 64: the message came over WebSocket. */
  WEBSOCKET: 64,
  /** 128: the source port differs from the Contact port. */
  CONTACT_PORT: 128,
  /** 256: an SDP connection address differs from the source IP. */
  SDP_CLINE: 256,
  /** 512: the destination ($du) differs from the R-URI, or goes to WebSocket. */
  DESTINATION: 512,
} as const;

/** What nat_uac_test looks at: the message, where it came from, and (requests) R-URI and $du. */
export interface NatTestTarget {
  readonly msg: SipMessageView;
  readonly source: Endpoint;
  readonly ruri?: string;
  readonly dst?: string | null;
}

/** The first Contact URI of a message, parsed (null when there is none or it is "*"). */
export function firstContactUri(msg: SipMessageView): ReturnType<typeof splitUri> {
  const f = msg.headerAll("contact")[0];
  if (!f) return null;
  const v = splitHeaderList(f)[0];
  if (!v || v === "*") return null;
  return splitUri(nameAddrUri(v));
}

/** Connection addresses (`c=IN IP4 x`, `c=IN IP6 x`) of an SDP body, session and media level. */
export function sdpAddresses(body: string): string[] {
  const out: string[] = [];
  for (const line of body.split(/\r?\n/)) {
    const m = /^c=IN IP[46] ([^\s/]+)/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

function isSdp(msg: SipMessageView): boolean {
  const ct = msg.contentType;
  return !!ct && /^application\/sdp\b/i.test(ct.trim()) && msg.body.length > 0;
}

/**
 * [nat_uac_test(flags)] true when any of the tests selected by `flags` (NatTest bits, e.g.
 * 19 = 1 + 2 + 16 as Kamailio's default configuration) says the sender is behind NAT.
 */
export function natUacTest(m: NatTestTarget, flags: number, extraPrivate = true): boolean {
  const msg = m.msg;
  const src = m.source;
  const via = msg.topVia;
  if (flags & NatTest.VIA_RPORT && src.port !== (via.port ?? 5060)) return true;
  if (flags & NatTest.VIA_RECEIVED && !sameIp(via.host, src.address)) return true;
  if (flags & (NatTest.CONTACT_PRIVATE | NatTest.CONTACT_PORT)) {
    const c = firstContactUri(msg);
    if (c) {
      if (flags & NatTest.CONTACT_PRIVATE && isRfc1918(c.host, extraPrivate)) return true;
      if (flags & NatTest.CONTACT_PORT && src.port !== (c.port ?? 5060)) return true;
    }
  }
  if (flags & (NatTest.SDP_PRIVATE | NatTest.SDP_CLINE) && isSdp(msg)) {
    const addrs = sdpAddresses(msg.body);
    if (flags & NatTest.SDP_PRIVATE && addrs.some((a) => a !== "0.0.0.0" && isRfc1918(a, extraPrivate))) return true;
    if (flags & NatTest.SDP_CLINE && addrs.some((a) => !sameIp(a, src.address))) return true;
  }
  if (flags & NatTest.VIA_PRIVATE && isRfc1918(via.host, extraPrivate)) return true;
  if (flags & NatTest.SOURCE_PRIVATE && isRfc1918(src.address, extraPrivate)) return true;
  if (flags & NatTest.WEBSOCKET && (src.proto === "ws" || src.proto === "wss")) return true;
  if (flags & NatTest.DESTINATION && destinationDiffers(m)) return true;
  return false;
}

/** Test 512 for requests: a $du that differs from the R-URI (or any WebSocket target). */
function destinationDiffers(m: NatTestTarget): boolean {
  if (!m.ruri) return false;
  const r = splitUri(m.ruri);
  if (!r) return false;
  if (!m.dst) {
    const p = uriProto(r);
    return p === "ws" || p === "wss";
  }
  const d = splitUri(m.dst);
  if (!d) return false;
  const dp = uriProto(d);
  if (dp === "ws" || dp === "wss") return true;
  const defPort = (proto: string) => (proto === "tls" ? 5061 : 5060);
  if ((d.port ?? defPort(dp)) !== (r.port ?? defPort(uriProto(r)))) return true;
  return !sameIp(d.host, r.host);
}
