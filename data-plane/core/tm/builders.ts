import type { SipMessage } from "../sip/message.js";
import type { Endpoint } from "../../../lib/sip/types.js";
import { prettyName } from "../sip/header-names.js";
import { firstListComma } from "../sip/message.js";
import { fnvHex } from "./hash.js";
import { TOKEN } from "../../../lib/sip/chars.js";

/** Reason phrases for locally generated replies (RFC 3261 §21 and friends). */
export const REASONS: Record<number, string> = {
  100: "Trying",
  180: "Ringing",
  181: "Call Is Being Forwarded",
  182: "Queued",
  183: "Session Progress",
  200: "OK",
  202: "Accepted",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Moved Temporarily",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  413: "Request Entity Too Large",
  414: "Request-URI Too Long",
  415: "Unsupported Media Type",
  416: "Unsupported URI Scheme",
  420: "Bad Extension",
  423: "Interval Too Brief",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  484: "Address Incomplete",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  500: "Server Internal Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Server Time-out",
  505: "Version Not Supported",
  513: "Message Too Large",
  600: "Busy Everywhere",
  603: "Decline",
  604: "Does Not Exist Anywhere",
  606: "Not Acceptable",
};

/** Prefix of To-tags Olelo puts on its own replies, so ACKs to them can be recognised. */
export const LOCAL_TAG_PREFIX = "ole-";

/** A stable To-tag for a local reply to this request (same for its retransmissions). */
export function localToTag(req: SipMessage): string {
  return LOCAL_TAG_PREFIX + fnvHex(req.callId, fromTagOf(req), String(req.cseq.seq), req.topVia.branch ?? "");
}

/**
 * The From tag without parsing From when its value has the plain form `…>;tag=token` or
 * `sip:…;tag=token` (no quotes, the tag the only and last parameter, lower-case `;tag=` without
 * white space): the value `fromTag` gives for such a (validated) From; any other form takes the
 * full parse.
 */
function fromTagOf(req: SipMessage): string {
  const v = req.valueNamed("from");
  if (v !== null && v.indexOf('"') < 0) {
    const from = v.indexOf(">") + 1;
    const t = v.indexOf(";tag=", from);
    if (t >= 0 && t === v.indexOf(";", from)) {
      let e = t + 5;
      while (e < v.length && TOKEN[v.charCodeAt(e)] === 1) e++;
      if (e === v.length && e > t + 5) return v.slice(t + 5);
    }
  }
  return req.fromTag ?? "";
}

/**
 * The top Via value as a reply must carry it: with `received` when the sent-by host differs from
 * the source address and `rport=<port>` when asked for or forced (RFC 3261 §18.2.1, RFC 3581).
 */
export function viaWithReceived(req: SipMessage, src: Endpoint, forceRport: boolean): { value: string; changed: boolean } {
  // the same for every reply and every branch of this request: computed once
  return (req.viaReceived ??= computeViaWithReceived(req, src, forceRport));
}

function computeViaWithReceived(req: SipMessage, src: Endpoint, forceRport: boolean): { value: string; changed: boolean } {
  const full = req.valueNamed("via")!;
  const comma = firstListComma(full);
  let value = (comma < 0 ? full : full.slice(0, comma)).trimEnd();
  const via = req.topVia;
  const rportEmpty = via.rport === "" || (forceRport && via.rport === null);
  const needReceived = via.received === null && (via.host !== src.address.toLowerCase() || rportEmpty);
  let extra = "";
  if (rportEmpty) {
    if (via.rport === "") value = value.replace(/;\s*rport(?=\s*(;|$))/i, "");
    extra += `;rport=${src.port}`;
  }
  if (needReceived) extra += `;received=${src.address}`;
  return { value: value + extra, changed: extra !== "" };
}

export interface LocalReplyOptions {
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: string;
  readonly contentType?: string;
  /** To-tag to use when the request's To has none (a final reply needs one). */
  readonly toTag?: string | null;
  readonly server?: string | null;
}

/**
 * Builds a reply to `req` (RFC 3261 §8.2.6): Via (top one with received/rport), From, To (+tag),
 * Call-ID, CSeq copied; extra headers; Content-Length. Returns latin1 text.
 */
export function buildReply(
  req: SipMessage,
  src: Endpoint,
  status: number,
  reason: string,
  forceRport: boolean,
  opts: LocalReplyOptions = {},
): string {
  let out = `SIP/2.0 ${status} ${reason}\r\n`;
  let first = true;
  for (let f = req.indexOf("via"); f >= 0; f = req.indexOf("via", f + 1)) {
    if (first) {
      const full = req.valueAt(f);
      const comma = firstListComma(full);
      const top = viaWithReceived(req, src, forceRport).value;
      out += `Via: ${comma < 0 ? top : top + full.slice(comma)}\r\n`;
      first = false;
    } else out += `Via: ${req.valueAt(f)}\r\n`;
  }
  const from = req.valueNamed("from");
  if (from !== null) out += `From: ${from}\r\n`;
  const to = req.valueNamed("to");
  if (to !== null) {
    let tv = to;
    if (status > 100 && req.toTag === null) tv += `;tag=${opts.toTag ?? localToTag(req)}`;
    out += `To: ${tv}\r\n`;
  }
  const cid = req.valueNamed("call-id");
  if (cid !== null) out += `Call-ID: ${cid}\r\n`;
  const cseq = req.valueNamed("cseq");
  if (cseq !== null) out += `CSeq: ${cseq}\r\n`;
  if (opts.headers) for (const [n, v] of opts.headers) out += `${prettyName(n)}: ${v}\r\n`;
  if (opts.server) out += `Server: ${opts.server}\r\n`;
  const body = opts.body ?? "";
  if (body.length > 0) out += `Content-Type: ${opts.contentType ?? "application/sdp"}\r\n`;
  out += `Content-Length: ${body.length}\r\n\r\n${body}`;
  return out;
}

/**
 * Builds a 400 reply from a message the parser rejected, from its raw Via/From/To/Call-ID/CSeq
 * lines (best effort: null when there is no Via to answer to).
 */
export function buildRawReply(lines: Map<string, string[]>, status: number, reason: string, server: string | null): string | null {
  const vias = lines.get("via");
  if (!vias || vias.length === 0) return null;
  let out = `SIP/2.0 ${status} ${reason}\r\n`;
  for (const v of vias) out += `Via: ${v}\r\n`;
  for (const [name, pretty] of [
    ["from", "From"],
    ["to", "To"],
    ["call-id", "Call-ID"],
    ["cseq", "CSeq"],
  ] as const) {
    const v = lines.get(name);
    if (v && v.length) out += `${pretty}: ${v[0]}\r\n`;
  }
  if (server) out += `Server: ${server}\r\n`;
  return out + "Content-Length: 0\r\n\r\n";
}

/**
 * The start of an ACK or CANCEL for a branch: request line with the branch's R-URI, its top Via, its
 * Route set and its From (RFC 3261 §9.1, §17.1.1.3).
 */
function branchRequestHead(method: "ACK" | "CANCEL", branchReq: SipMessage): string {
  let out = `${method} ${branchReq.requestUri} SIP/2.0\r\n`;
  const full = branchReq.valueNamed("via")!;
  const comma = firstListComma(full);
  out += `Via: ${comma < 0 ? full : full.slice(0, comma)}\r\n`;
  for (let f = branchReq.indexOf("route"); f >= 0; f = branchReq.indexOf("route", f + 1)) out += `Route: ${branchReq.valueAt(f)}\r\n`;
  out += `From: ${branchReq.header("from")}\r\n`;
  return out;
}

/**
 * ACK for a negative final reply on a branch (RFC 3261 §17.1.1.3): same R-URI, top Via and Route
 * set as the branch's INVITE, To from the reply.
 */
export function buildAckForBranch(branchReq: SipMessage, reply: SipMessage): string {
  let out = branchRequestHead("ACK", branchReq);
  out += `To: ${reply.header("to") ?? branchReq.header("to")}\r\n`;
  out += `Call-ID: ${branchReq.callId}\r\n`;
  out += `CSeq: ${branchReq.cseq.seq} ACK\r\n`;
  out += `Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
  return out;
}

/** CANCEL for a pending INVITE branch (RFC 3261 §9.1), with an optional Reason header. */
export function buildCancelForBranch(branchReq: SipMessage, reason: string | null): string {
  let out = branchRequestHead("CANCEL", branchReq);
  out += `To: ${branchReq.header("to")}\r\n`;
  out += `Call-ID: ${branchReq.callId}\r\n`;
  out += `CSeq: ${branchReq.cseq.seq} CANCEL\r\n`;
  if (reason) out += `Reason: ${reason}\r\n`;
  out += `Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
  return out;
}
