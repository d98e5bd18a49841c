import type { Endpoint } from "../../../lib/sip/types.js";
import type { SipMessage } from "../sip/message.js";
import type { Connection } from "../transport/transport-layer.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import { buildAckForBranch, buildCancelForBranch } from "./builders.js";
import type { Branch, ClientHandler, ServerTxn } from "./transaction.js";
import type { Tm } from "./internal.js";
import type { WheelTimer } from "./timer-wheel.js";

/**
 * CANCEL and ACK (Kamailio t_cancel and the ACK tm sends itself): the ACK for a negative final
 * reply on a branch, CANCEL of a pending branch (after its first provisional, retransmitted over
 * UDP), and a CANCEL received for an INVITE transaction.
 */

export function sendAck(e: Tm, b: Branch, reply: SipMessage): void {
  const req = b.request();
  if (!req) return;
  const data = Buffer.from(buildAckForBranch(req, reply), "latin1");
  e.transport.send(b.sock, b.dst, data, b.connId);
}

/** [t_cancel] CANCELs a pending branch (or waits for its first provisional, RFC 3261 §9.1). */
export function sendCancel(e: Tm, b: Branch, reason: string | null): void {
  if (b.cancelSent || b.final) return;
  if (!b.provisional) {
    b.pendingCancel = true;
    return;
  }
  b.cancelSent = true;
  const req = b.request();
  if (!req) return;
  const data = Buffer.from(buildCancelForBranch(req, reason), "latin1");
  const key = `${b.branchId}|CANCEL`;
  const cancel: ClientHandler & { timer: WheelTimer | null; interval: number; done: boolean; until: number } = {
    key,
    timer: null,
    interval: e.config.tm.t1,
    done: false,
    until: Date.now() + 64 * e.config.tm.t1,
    onReply: () => {
      cancel.done = true;
      cancel.timer = e.timers.cancel(cancel.timer);
      e.clientTxns.delete(key);
    },
  };
  e.clientTxns.set(key, cancel);
  e.transport.send(b.sock, b.dst, data, b.connId);
  const rt = () => {
    if (cancel.done) return;
    if (Date.now() >= cancel.until) {
      e.clientTxns.delete(key);
      return;
    }
    if (b.dst.proto === "udp") e.transport.send(b.sock, b.dst, data, b.connId);
    cancel.interval = Math.min(cancel.interval * 2, e.config.tm.t2);
    cancel.timer = e.timers.arm(cancel.timer, cancel.interval, rt, null, null);
  };
  cancel.timer = e.timers.arm(null, cancel.interval, rt, null, null);
}

/** Handles a CANCEL matching an INVITE transaction: 200 to the CANCEL, CANCEL every branch. */
export function cancelInvite(e: Tm, inv: ServerTxn, cancelMsg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
  const ct = e.createServerTxn(cancelMsg, src, sock, conn);
  if (ct) e.txnReply(ct, 200, "canceling");
  else e.sendStatelessReply(cancelMsg, src, sock, conn, 200, "canceling");
  if (inv.finalSent) return;
  inv.canceled = true;
  inv.cancelReason = cancelMsg.header("reason");
  for (const b of inv.branches) if (b.final === 0) e.sendCancel(b, inv.cancelReason);
  if (inv.branches.length === 0 && !inv.suspended) e.txnReply(inv, 487, "Request Terminated");
}
