import type { Endpoint } from "../../../lib/sip/types.js";
import { createLogger } from "../../../lib/log/logger.js";
import type { SipMessage } from "../sip/message.js";
import type { Connection } from "../transport/transport-layer.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import { REASONS, buildReply } from "./builders.js";
import { ServerTxn, serverKey, type Branch } from "./transaction.js";
import type { SendOptions } from "./types.js";
import type { Tm } from "./internal.js";
import { notifyObservers } from "./observers.js";
import { sendThroughHook } from "./wire-hook.js";

/**
 * Server transactions (Kamailio t_newtran, t_reply's local replies, the cell's timers): creating
 * the transaction, sending replies upstream and retransmitting them (Timer G), absorbing the ACK
 * (Timer I) and freeing the transaction (wait timer, Timer H).
 */

const log = createLogger("core");
let txnIds = 0;

/** [t_newtran] creates the server transaction for a request (sends 100 Trying for INVITE). */
export function createServerTxn(e: Tm, msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): ServerTxn | null {
  const key = serverKey(msg, msg.method);
  const existing = e.serverTxns.get(key);
  if (existing) return existing;
  if (e.serverTxns.size >= e.config.tm.maxTransactions) return null;
  const dest = e.replyDestination(msg, src);
  const t = new ServerTxn(++txnIds, key, msg, src, sock, conn?.id ?? null, dest);
  e.serverTxns.set(key, t);
  e.counters.k.UAS_transactions!.v++;
  if (t.isInvite && e.config.tm.autoInv100) e.txnReply(t, 100, "Trying");
  return t;
}

/** Where replies to this request go (RFC 3261 §18.2.2, RFC 3581). */
export function replyDestination(e: Tm, msg: SipMessage, src: Endpoint): Endpoint {
  if (src.proto !== "udp") return src;
  const via = msg.topVia;
  if (via.rport !== null || e.config.forceRport) return src;
  const maddr = via.params.get("maddr");
  const host = maddr ?? via.received ?? src.address;
  return { proto: "udp", address: host, port: via.port ?? 5060 };
}

/** Sends bytes upstream for a server transaction and remembers them for retransmissions. */
export function sendUpstream(e: Tm, t: ServerTxn, data: Buffer): void {
  const ok = e.transport.send(t.sock, t.replyDest, data, t.connId);
  if (!ok && t.src.proto !== "udp") {
    // connection gone: RFC 3261 §18.2.2 — open a new one to received/sent-by
    const via = t.req.topVia;
    const dest: Endpoint = { proto: t.src.proto, address: via.received ?? t.src.address, port: via.port ?? 5060 };
    e.transport.send(t.sock, dest, data, null);
  }
}

/** [t_reply] a local reply on a server transaction. Returns false after a final reply. */
export function txnReply(e: Tm, t: ServerTxn, status: number, reason: string, opts: SendOptions = {}): boolean {
  if (t.finalSent && !(t.isInvite && status >= 200 && status < 300)) return false;
  const text = buildReply(t.req, t.src, status, reason || REASONS[status] || "Unknown", e.config.forceRport, {
    headers: opts.headers,
    body: opts.body,
    contentType: opts.contentType,
    toTag: opts.toTag,
    server: e.config.serverHeader,
  });
  let data: Buffer = Buffer.from(text, "latin1");
  if (e.hooks.wire !== null) data = sendThroughHook(e.hooks.wire, data, t.replyDest, t.sock);
  e.counters.k.rpl_generated!.v++;
  e.counters.k.rpl_sent!.v++;
  e.recordUpstream(t, status, data);
  if (t.observers) e.notifyLocalReply(t, status, data);
  return true;
}

/** Sends a reply upstream for a transaction and updates its state (retransmission, deletion). */
export function recordUpstream(e: Tm, t: ServerTxn, status: number, data: Buffer): void {
  t.lastResponse = data;
  t.lastStatus = status;
  if (log.enabled("debug")) log.debug("reply sent", { callId: t.req.callId, method: t.method, status, dst: `${t.src.proto}:${t.src.address}:${t.src.port}` });
  e.sendUpstream(t, data);
  if (status < 200) return;
  const first = !t.finalSent;
  t.finalSent = true;
  if (first) {
    e.counters.txnClass[(status / 100) | 0]!.v++;
    if (status === 408) e.counters.health.uas408.v++;
    if (t.isInvite && (status === 408 || status >= 500)) e.counters.health.failedInvites.v++;
    e.counters.observeTxn(t.method, t.createdAt);
  }
  if (t.isInvite && status >= 300) {
    // Timer G retransmissions over UDP until the ACK, Timer H gives up
    if (t.src.proto === "udp") {
      t.retransInterval = e.config.tm.t1;
      t.retransTimer = e.timers.arm(t.retransTimer, t.retransInterval, timerG, e, t);
    }
    e.scheduleDelete(t, 64 * e.config.tm.t1);
  } else if (first) {
    e.scheduleDelete(t, e.config.tm.wtTimer);
  }
}

export function absorbAck(e: Tm, t: ServerTxn): void {
  if (t.ackReceived) return;
  t.ackReceived = true;
  t.retransTimer = e.timers.cancel(t.retransTimer);
  // Timer I (T4 for unreliable transports, 0 for reliable), bounded by wt_timer
  e.scheduleDelete(t, t.src.proto === "udp" ? Math.min(e.config.tm.t4, e.config.tm.wtTimer) : 0);
}

export function scheduleDelete(e: Tm, t: ServerTxn, ms: number): void {
  t.timer = e.timers.arm(t.timer, ms, deleteCb, e, t);
}

/** @internal timer callback: frees a finished transaction (later if branches still run). */
export function deleteWhenDone(e: Tm, t: ServerTxn): void {
  // keep transactions whose branches are still running (e.g. forked INVITE after a 2xx)
  if (t.pendingBranches() > 0 && !t.deleted) {
    t.timer = e.timers.arm(t.timer, e.config.tm.wtTimer, deleteCb, e, t);
    return;
  }
  e.deleteTxn(t);
}

export function deleteTxn(e: Tm, t: ServerTxn): void {
  if (t.deleted) return;
  t.deleted = true;
  e.clearTxnTimers(t);
  for (const b of t.branches) {
    e.clearBranchTimers(b);
    e.clientTxns.delete(b.key);
  }
  if (e.serverTxns.get(t.key) === t) e.serverTxns.delete(t.key);
  if (t.observers) notifyObservers(t.observers, "ended");
}

export function clearTxnTimers(e: Tm, t: ServerTxn): void {
  t.timer = e.timers.cancel(t.timer);
  t.retransTimer = e.timers.cancel(t.retransTimer);
}

export function clearBranchTimers(e: Tm, b: Branch): void {
  b.retransTimer = e.timers.cancel(b.retransTimer);
  b.frTimer = e.timers.cancel(b.frTimer);
}

/** A transaction whose route finished without relaying or replying: answer it so it ends. */
export function finishIdle(e: Tm, t: ServerTxn): void {
  if (t.branches.length === 0 && !t.finalSent) {
    log.warn("request route ended without an action; replying 500", { callId: t.req.callId, method: t.method });
    e.txnReply(t, 500, "Server Internal Error (no route action)");
  }
}

/** Timer G: retransmits a negative final reply to an INVITE over UDP until the ACK (T1, doubling up to T2). */
function timerG(e: Tm, t: ServerTxn): void {
  if (t.deleted || t.ackReceived || !t.lastResponse) return;
  e.sendUpstream(t, t.lastResponse);
  t.retransInterval = Math.min(t.retransInterval * 2, e.config.tm.t2);
  t.retransTimer = e.timers.arm(t.retransTimer, t.retransInterval, timerG, e, t);
}

function deleteCb(e: Tm, t: ServerTxn): void {
  e.deleteWhenDone(t);
}
