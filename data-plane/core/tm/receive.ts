import type { Endpoint } from "../../../lib/sip/types.js";
import { createLogger } from "../../../lib/log/logger.js";
import type { SipMessage } from "../sip/message.js";
import { parseMessage, scanReplyHeaders } from "../sip/parse.js";
import { validateRequest, validateResponse } from "../sip/validate.js";
import type { Connection } from "../transport/transport-layer.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import { LOCAL_TAG_PREFIX, buildRawReply } from "./builders.js";
import { serverKey, type ServerTxn } from "./transaction.js";
import type { Tm } from "./internal.js";
import { RCV_EXACT } from "./stats.js";
import { receiveThroughHook } from "./wire-hook.js";

/**
 * Receive and transaction matching (Kamailio receive.c and t_lookup): parses what the transports
 * deliver, answers what cannot be routed, absorbs retransmissions and ACKs of a transaction,
 * matches replies to the branch that sent the request, and hands new requests to the script.
 */

const log = createLogger("core");

export function onInbound(e: Tm, data: Buffer, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
  try {
    handleInbound(e, data, src, sock, conn);
  } catch (err) {
    // a bug must cost one message, never the process: count it, log it, keep serving
    e.counters.core.inc("err_requests");
    log.error("message handling failed", { src: `${src.address}:${src.port}`, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
}

function handleInbound(e: Tm, data: Buffer, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
  if (data.length <= 4 && isKeepAlive(data)) return; // CRLF / NUL keep-alives over UDP
  if (e.hooks.preParse && e.hooks.preParse(src)) {
    e.counters.core.inc("drop_requests");
    return;
  }
  const r = parseMessage(data, e.limits);
  if (!r.ok) {
    e.counters.core.inc("bad_msg_hdr");
    answerUnparseable(e, data, r.reason, src, sock, conn);
    return;
  }
  const msg = r.msg;
  if (e.hooks.wire !== null) return receiveThroughHook(e, e.hooks.wire, msg, src, sock, conn);
  if (msg.isRequest) e.onRequest(msg, src, sock, conn);
  else e.onResponse(msg, src, sock, conn);
}

function answerUnparseable(e: Tm, data: Buffer, reason: string, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
  const text = data.toString("latin1");
  const scan = scanReplyHeaders(text.replace(/^(\r?\n)+/, ""));
  if (!scan) {
    e.counters.core.inc("err_replies");
    log.debug("dropped unparseable message", { src: `${src.address}:${src.port}`, reason });
    return;
  }
  e.counters.core.inc("err_requests");
  if (scan.method === "ACK") return;
  const reply = buildRawReply(scan.lines, 400, `Bad Request (${reason})`, e.config.serverHeader);
  if (!reply) return;
  e.counters.sl.inc("400_replies");
  e.counters.sl.inc("4xx_replies");
  e.counters.sl.inc("sent_err_replies");
  e.counters.sl.inc("sent_replies");
  e.transport.send(sock, src, Buffer.from(reply, "latin1"), conn?.id ?? null, true);
}

export function onRequest(e: Tm, msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
  const core = e.counters.core;
  e.counters.k.rcv_requests!.v++;
  const m = msg.method;
  if (log.enabled("debug")) log.debug("request received", { callId: msg.callId, method: m, cseq: msg.cseqOrNull?.seq, src: `${src.proto}:${src.address}:${src.port}` });
  const perMethod = e.counters.methodCounter.get(m);
  if (perMethod) perMethod.v++;
  const rej = validateRequest(msg);
  if (rej) {
    core.inc("err_requests");
    if (rej.status === 416) core.inc("bad_URIs_rcvd");
    if (m === "ACK") return;
    if (msg.topViaOrNull) {
      e.sendStatelessReply(msg, src, sock, conn, rej.status, rej.reason, { headers: rej.headers });
    } else {
      // the Via itself is malformed: answer the source address with the raw header lines
      const scan = scanReplyHeaders(msg.raw);
      const reply = scan ? buildRawReply(scan.lines, rej.status, rej.reason, e.config.serverHeader) : null;
      if (reply) {
        e.counters.countSlReply(rej.status);
        e.transport.send(sock, src, Buffer.from(reply, "latin1"), conn?.id ?? null, true);
      }
    }
    return;
  }
  // transaction matching (RFC 3261 §17.2.3)
  if (m === "ACK") {
    const t = e.serverTxns.get(serverKey(msg, "INVITE"));
    if (t && t.lastStatus >= 300) {
      e.absorbAck(t);
      return;
    }
    if (!t && msg.toTag !== null && msg.toTag.startsWith(LOCAL_TAG_PREFIX) && !msg.hasHeader("route")) {
      // ACK to a stateless local reply (sl filters it)
      e.counters.sl.inc("received_ACKs");
      return;
    }
  } else {
    const t = e.serverTxns.get(serverKey(msg, m));
    if (t) {
      e.counters.k.rpl_absorbed!.v++;
      if (t.lastResponse) e.sendUpstream(t, t.lastResponse);
      return;
    }
    if (m !== "CANCEL") {
      const pr = msg.valueNamed("proxy-require");
      if (pr !== null && pr.trim() !== "") {
        core.inc("unsupported_methods");
        e.sendStatelessReply(msg, src, sock, conn, 420, "Bad Extension", { headers: [["Unsupported", pr.trim()]] });
        return;
      }
    }
  }
  if (!e.runner) {
    e.sendStatelessReply(msg, src, sock, conn, 500, "No Routing Script");
    return;
  }
  e.runner.onRequest(e, msg, src, sock, conn);
}

export function onResponse(e: Tm, msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
  const core = e.counters.core;
  e.counters.k.rcv_replies!.v++;
  const st = msg.status;
  if (log.enabled("debug")) log.debug("reply received", { callId: msg.callId, status: st, cseq: msg.cseqOrNull ? `${msg.cseqOrNull.seq} ${msg.cseqOrNull.method}` : null, src: `${src.proto}:${src.address}:${src.port}` });
  e.counters.rcvReplyClass[(st / 100) | 0]!.v++;
  if (st >= 180 && st < 190) e.counters.k.rcv_replies_18x!.v++;
  const exact = RCV_EXACT[st];
  if (exact) core.inc(exact);
  if (validateResponse(msg)) {
    core.inc("err_replies");
    return;
  }
  e.counters.k.rpl_received!.v++;
  const via = msg.topVia;
  const key = `${via.branch}|${msg.cseq.method}`;
  const h = via.branch ? e.clientTxns.get(key) : undefined;
  if (h) {
    h.onReply(msg, src);
    return;
  }
  // workers: the transaction may be another worker's (its reply came on a connection held here)
  if (e.hooks.strayReply !== null && via.branch && e.hooks.strayReply(via.branch, msg, src, sock)) return;
  // no transaction: relay statelessly if the top Via is ours (RFC 3261 §16.11, 2xx retransmissions)
  if (!via.branch || !via.branch.startsWith(e.branchPrefix) || !e.isMyHostPort(via.host, via.port, via.transport)) {
    core.inc("drop_replies");
    return;
  }
  const pass = e.runner ? e.runner.onReply(e, null, msg, null, src) : true;
  const go = (ok: boolean) => {
    if (!ok) core.inc("drop_replies");
    else e.forwardReplyStateless(msg);
  };
  if (pass instanceof Promise) void pass.then(go, () => go(true));
  else go(pass);
}

/** Finds the INVITE server transaction a CANCEL refers to. */
export function findInviteFor(e: Tm, cancelMsg: SipMessage): ServerTxn | undefined {
  return e.serverTxns.get(serverKey(cancelMsg, "INVITE"));
}

/** The transaction of a request (an ACK: its INVITE transaction). */
export function findTxnFor(e: Tm, msg: SipMessage): ServerTxn | undefined {
  return e.serverTxns.get(serverKey(msg, msg.method === "ACK" ? "INVITE" : msg.method));
}

function isKeepAlive(d: Buffer): boolean {
  for (const c of d) if (c !== 13 && c !== 10 && c !== 0) return false;
  return true;
}
