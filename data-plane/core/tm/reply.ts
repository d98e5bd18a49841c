import type { Endpoint } from "../../../lib/sip/types.js";
import { createLogger } from "../../../lib/log/logger.js";
import { serializeBuffer, type SipMessage } from "../sip/message.js";
import { parseMessage } from "../sip/parse.js";
import { REASONS } from "./builders.js";
import { removeTopViaPatch } from "./patches.js";
import type { Branch, ServerTxn } from "./transaction.js";
import type { Tm } from "./internal.js";
import { notifyObservers } from "./observers.js";
import { sendThroughHook } from "./wire-hook.js";

/**
 * Reply processing (Kamailio t_reply): replies on a branch (provisionals, every 2xx of an INVITE,
 * negatives with their ACK), best-reply selection (RFC 3261 §16.7), the failure route when every
 * branch is done, and relaying the reply upstream.
 */

const log = createLogger("core");

export function onBranchReply(e: Tm, b: Branch, msg: SipMessage, src: Endpoint): void {
  const t = b.txn;
  const st = msg.status;
  if (!b.replied) e.counters.observeFirstReply(b.dst, b.sentAt);
  if (st >= 200 && b.final === 0) e.counters.observeBranch(b.dst, b.sentAt, "reply");
  b.replied = true;
  if (b.retransTimer && (t.isInvite || st >= 200)) {
    b.retransTimer = e.timers.cancel(b.retransTimer);
  }
  if (st < 200) {
    if (b.final) return;
    b.provisional = st;
    if (t.isInvite) e.armFr(b, t.frInv || e.config.tm.frInvTimer);
    if (b.pendingCancel && !b.cancelSent) e.sendCancel(b, t.cancelReason);
    if (st === 100) {
      e.counters.k.rpl_absorbed!.v++;
      return;
    }
    return afterReplyRoute(e, t, msg, b, src, () => {
      if (t.finalSent) return;
      e.relayReply(t, msg, st, b.index);
    });
  }
  if (st < 300) {
    const firstFinal = b.final === 0;
    b.final = st;
    b.frTimer = e.timers.cancel(b.frTimer);
    if (!firstFinal && !t.isInvite) return; // retransmitted final for non-INVITE
    return afterReplyRoute(e, t, msg, b, src, () => relay2xx(e, t, b, msg, st));
  }
  onNegativeReply(e, t, b, msg, st, src);
}

function relay2xx(e: Tm, t: ServerTxn, b: Branch, msg: SipMessage, st: number): void {
  if (t.isInvite) {
    // every 2xx to an INVITE goes upstream (RFC 3261 §16.7 step 5)
    if (!t.accepted) {
      t.accepted = true;
      for (const o of t.branches) {
        if (o !== b && o.final === 0 && !o.dropped) e.sendCancel(o, 'SIP;cause=200;text="Call completed elsewhere"');
      }
    }
    e.relayReply(t, msg, st, b.index);
  } else if (!t.finalSent) {
    e.relayReply(t, msg, st, b.index);
  }
}

/**
 * Runs the reply routes, then `next` when the reply was not dropped; an asynchronous reply route
 * (a media relay's answer) holds the reply until it settles.
 */
function afterReplyRoute(e: Tm, t: ServerTxn, msg: SipMessage, b: Branch, src: Endpoint, next: () => void, dropped: () => void = () => {}): void {
  if (!e.runner) return next();
  const r = e.runner.onReply(e, t, msg, b, src);
  if (r instanceof Promise) {
    r.then(
      (ok) => (ok ? next() : dropped()),
      (err) => {
        log.error("reply route threw", { error: String(err) });
        next();
      },
    );
    return;
  }
  if (r) next();
  else dropped();
}

function onNegativeReply(e: Tm, t: ServerTxn, b: Branch, msg: SipMessage, st: number, src: Endpoint): void {
  // negative final reply
  if (b.final !== 0) {
    // retransmission: re-ACK for INVITE
    if (t.isInvite && b.final >= 300) e.sendAck(b, msg);
    e.counters.k.rpl_absorbed!.v++;
    return;
  }
  b.final = st;
  b.frTimer = e.timers.cancel(b.frTimer);
  if (t.isInvite) e.sendAck(b, msg);
  if (st === 503) {
    // RFC 3263 §4.3: a 503 moves on to the next target (and blocklists this one, tm blst_503)
    e.dispatcher.targetFailed(b.dst, 503);
    e.nextTarget(b);
  }
  // a negative reply is not held by an asynchronous reply route (its work, e.g. a media
  // session delete, goes on in the background); a dropped reply still completes the branch,
  // but does not compete as best reply
  const r = e.runner ? e.runner.onReply(e, t, msg, b, src) : true;
  if (r !== false) e.considerReply(t, st, msg, b.index);
  e.checkCompletion(t);
}

/** Keeps the best final reply (RFC 3261 §16.7 step 6): 6xx first, then the lowest class. */
export function considerReply(e: Tm, t: ServerTxn, status: number, msg: SipMessage | null, branch: number): void {
  const cur = t.best;
  if (!cur || betterReply(status, cur.status)) t.best = { status, msg, branch };
}

/** When every branch has a final reply: run the failure route, else send the best reply. */
export function checkCompletion(e: Tm, t: ServerTxn): void {
  if (t.deleted || t.finalSent || t.inFailure || t.suspended) return;
  if (t.pendingBranches() > 0) return;
  if (t.branches.length === 0) return;
  const runner = e.runner;
  if (runner) {
    const ran = runner.onFailure(e, t);
    if (ran instanceof Promise) {
      t.inFailure = true;
      ran.then(
        () => {
          t.inFailure = false;
          afterFailure(e, t);
        },
        (e) => {
          t.inFailure = false;
          log.error("failure route threw", { error: String(e) });
          afterFailure(e, t);
        },
      );
      return;
    }
    if (ran) {
      afterFailure(e, t);
      return;
    }
  }
  sendBestReply(e, t);
}

function afterFailure(e: Tm, t: ServerTxn): void {
  if (t.deleted || t.finalSent) return;
  if (t.pendingBranches() > 0) return; // new branches were started
  sendBestReply(e, t);
}

function sendBestReply(e: Tm, t: ServerTxn): void {
  if (t.finalSent) return;
  const best = t.best;
  if (t.canceled && (!best || best.status !== 487)) {
    e.txnReply(t, 487, "Request Terminated");
    return;
  }
  if (!best || !best.msg) {
    const st = best?.status ?? 500;
    e.txnReply(t, st === 478 ? 500 : st, st === 408 ? "Request Timeout" : st === 478 ? "Unresolvable destination" : REASONS[st] ?? "Server Error");
    return;
  }
  if (best.status === 503 && e.config.tm.remap503) {
    e.txnReply(t, 500, "Service Unavailable");
    return;
  }
  e.relayReply(t, best.msg, best.status, best.branch);
}

/** Relays a reply received on branch `branch` upstream (our top Via removed). */
export function relayReply(e: Tm, t: ServerTxn, msg: SipMessage, status: number, branch: number): void {
  const ctxPatches = removeTopViaPatch(msg);
  let data = serializeBuffer(msg, ctxPatches, t.src.proto !== "udp");
  if (e.hooks.wire !== null) data = sendThroughHook(e.hooks.wire, data, t.replyDest, t.sock);
  e.counters.k.rpl_relayed!.v++;
  e.counters.k.rpl_sent!.v++;
  e.counters.k.fwd_replies!.v++;
  e.recordUpstream(t, status, data);
  if (t.observers) notifyObservers(t.observers, "replySent", status, msg, branch, false);
}

/**
 * Tells the transaction's observers about a reply the proxy generated. The reply is parsed
 * from the bytes just sent, so observers see its To-tag; this only runs when someone observes.
 */
export function notifyLocalReply(e: Tm, t: ServerTxn, status: number, data: Buffer): void {
  const r = parseMessage(data, e.limits);
  if (!r.ok) {
    log.warn("cannot parse own local reply for transaction observers", { status, reason: r.reason });
    return;
  }
  notifyObservers(t.observers!, "replySent", status, r.msg, -1, true);
}

/** RFC 3261 §16.7 step 6 preference: 6xx first, else lower class wins; 4xx prefers auth/extension codes. */
function betterReply(a: number, b: number): boolean {
  const ca = Math.floor(a / 100);
  const cb = Math.floor(b / 100);
  if (cb === 6) return false;
  if (ca === 6) return true;
  // a local 408 (timeout) loses to any real reply
  if (ca !== cb) return ca < cb;
  const pref = (s: number) => (s === 401 || s === 407 || s === 415 || s === 420 || s === 484 ? 1 : 0);
  return pref(a) > pref(b);
}
