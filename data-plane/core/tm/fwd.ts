import type { Endpoint } from "../../../lib/sip/types.js";
import { createLogger } from "../../../lib/log/logger.js";
import { serializeBuffer, type SipMessage, type Patch } from "../sip/message.js";
import { parseMessage } from "../sip/parse.js";
import { fnvHex } from "./hash.js";
import { nextHopOf, type NextHop } from "./routing.js";
import { Branch, type ServerTxn } from "./transaction.js";
import type { BranchTarget, RelayPlan } from "./types.js";
import type { Tm } from "./internal.js";
import { notifyObservers } from "./observers.js";
import { requestPatches } from "./patches.js";
import { sendThroughHook } from "./wire-hook.js";

/**
 * Stateful forwarding (Kamailio t_fwd): t_relay over every target (branch route, loop check,
 * DNS names through the dispatcher), one branch per copy with its retransmission (Timer A/E)
 * and final-response timers, connection failures, and DNS failover to the next target.
 */

const log = createLogger("core");

/**
 * [t_relay] statefully forwards `t.req` to every target. Returns the number of branches started
 * (0 = nothing could be sent). Branch sending over DNS names completes asynchronously.
 */
export function relay(e: Tm, t: ServerTxn, plan: RelayPlan): number {
  const msg = t.req;
  if (t.isInvite && e.isLoop(msg)) {
    e.txnReply(t, 482, "Loop Detected");
    return 0;
  }
  let started = 0;
  for (const target of plan.targets) {
    const index = t.branches.length + started;
    let branchPatches: Patch[] | null = null;
    if (e.runner?.onBranch) {
      const r = e.runner.onBranch(e, t, target, index);
      if (r.drop) continue;
      branchPatches = r.patches;
    }
    const hop = nextHopOf(target.dst ?? target.uri);
    if (!hop) {
      log.info("relay: target is not a SIP URI", { target: target.dst ?? target.uri });
      continue;
    }
    if (hop.proto !== "tls" && hop.proto !== "wss" && target.uri.slice(0, 5).toLowerCase() === "sips:") {
      // RFC 5630 §3.1.3: a SIPS request goes over TLS on every hop; never downgrade it
      log.info("relay: sips target needs a TLS/WSS next hop", { target: target.uri, dst: target.dst });
      continue;
    }
    if (hop.family === 0) {
      started++;
      void e.dispatcher.resolve(hop).then(
        (eps) => {
          const ep = eps[0];
          if (!ep || t.deleted) return e.branchUnreachable(t, target, index);
          // the other targets are kept for DNS failover inside this transaction
          e.startBranch(t, plan, target, withEndpoint(hop, ep), branchPatches, eps.slice(1));
        },
        () => e.branchUnreachable(t, target, index),
      );
      continue;
    }
    if (e.startBranch(t, plan, target, hop, branchPatches)) started++;
  }
  return started;
}

export function branchUnreachable(e: Tm, t: ServerTxn, target: BranchTarget, index: number): void {
  log.info("relay: destination not resolvable", { target: target.dst ?? target.uri });
  // account as a failed branch so the transaction can complete
  const fake = new Branch(t, index, "", `unresolved-${t.id}-${index}`, target.uri, { proto: "udp", address: "0.0.0.0", port: 0 }, t.sock, Buffer.alloc(0), () => null, () => {});
  fake.final = 478;
  t.branches.push(fake);
  e.considerReply(t, 478, null, fake.index);
  e.checkCompletion(t);
}

export function startBranch(e: Tm, t: ServerTxn, plan: RelayPlan, target: BranchTarget, hop: NextHop, branchPatches: Patch[] | null, rest: Endpoint[] = []): boolean {
  const msg = t.req;
  const sock = e.transport.chooseSocket(hop.proto, hop.family as 4 | 6, target.socket);
  if (!sock) {
    log.info("relay: no socket for destination", { proto: hop.proto, family: hop.family, target: target.uri });
    return false;
  }
  const index = t.branches.length;
  const branchId = `${e.branchPrefix}${fnvHex(target.uri, msg.callId, msg.fromTag ?? "", String(msg.cseq.seq))}.${(e.nextBranchSeq()).toString(36)}`;
  const dest: Endpoint = { proto: hop.proto, address: hop.host, port: hop.port };
  let patches = requestPatches(e, msg, t.src, t.sock, sock, plan, target, branchId, dest);
  if (!patches) {
    // Max-Forwards exhausted
    e.txnReply(t, 483, "Too Many Hops");
    return false;
  }
  if (branchPatches && branchPatches.length) patches = patches.concat(branchPatches);
  let data = serializeBuffer(msg, patches, hop.proto !== "udp");
  if (e.hooks.wire !== null) data = sendThroughHook(e.hooks.wire, data, dest, sock);
  const key = `${branchId}|${msg.method}`;
  const b = new Branch(t, index, branchId, key, target.uri, dest, sock, data, reparse, e.branchReplyFn);
  t.branches.push(b);
  if (t.observers) {
    const info = { index, uri: target.uri, dstUri: target.dst, dst: dest };
    notifyObservers(t.observers, "branchSent", info);
  }
  e.clientTxns.set(key, b);
  e.counters.k.UAC_transactions!.v++;
  e.counters.k.fwd_requests!.v++;
  b.sentAt = Date.now();
  if (log.enabled("debug")) log.debug("request forwarded", { callId: msg.callId, method: msg.method, branch: index, uri: target.uri, dst: `${dest.proto}:${dest.address}:${dest.port}` });
  if (rest.length && e.dispatcher.failover) e.failover.set(b, { plan, target, hop, patches: branchPatches, rest });
  // the dispatcher chain may refuse the copy (dst blocklist) and reports send failures (477)
  const ok = e.dispatcher.send({ sock, dest, data });
  if (!ok) {
    b.final = 503;
    e.considerReply(t, 503, null, index);
    e.nextTarget(b);
    queueMicrotask(() => e.checkCompletion(t));
    return true;
  }
  if (dest.proto === "udp") {
    b.retransInterval = e.config.tm.t1;
    b.retransTimer = e.timers.arm(b.retransTimer, b.retransInterval, retransmitCb, e, b);
  }
  e.armFr(b, t.isInvite ? (t.frNonInv || e.config.tm.frTimer) : (t.frNonInv || e.config.tm.frTimer));
  return true;
}

/** @internal timer callback */
export function retransmitBranch(e: Tm, b: Branch): void {
  const node = b.retransTimer;
  b.retransTimer = null;
  if (b.final || b.txn.deleted) return;
  if (b.txn.isInvite && b.provisional) return; // Timer A stops on a provisional
  e.transport.send(b.sock, b.dst, b.sent);
  b.retransInterval = b.txn.isInvite ? b.retransInterval * 2 : Math.min(b.retransInterval * 2, e.config.tm.t2);
  b.retransTimer = e.timers.arm(node, b.retransInterval, retransmitCb, e, b);
}

export function armFr(e: Tm, b: Branch, ms: number): void {
  b.frTimer = e.timers.arm(b.frTimer, ms, frCb, e, b);
}

/** @internal timer callback */
export function branchTimeout(e: Tm, b: Branch): void {
  b.frTimer = null;
  if (b.final || b.txn.deleted) return;
  b.retransTimer = e.timers.cancel(b.retransTimer);
  b.timedOut = true;
  e.counters.observeBranch(b.dst, b.sentAt, "timeout");
  const t = b.txn;
  if (t.isInvite && b.provisional && !b.cancelSent) e.sendCancel(b, null);
  b.final = 408;
  e.considerReply(t, 408, null, b.index);
  if (!b.replied) {
    // no reply at all: the target is dead (blocklist) and DNS failover may try the next one
    e.dispatcher.targetFailed(b.dst, 408);
    e.nextTarget(b);
  }
  e.checkCompletion(t);
}

/**
 * A stream connection to `dest` ended before it was usable (connect refused, TLS handshake or
 * certificate failure; reported by the transport gateway): branches waiting on it fail now, as
 * a send failure would, instead of waiting for fr_timer — and may fail over to the next target.
 */
export function connectionFailed(e: Tm, dest: Endpoint): void {
  const hit: Branch[] = [];
  for (const h of e.clientTxns.values()) {
    if (!(h instanceof Branch) || h.final !== 0 || h.replied) continue;
    const d = h.dst;
    if (d.proto === dest.proto && d.port === dest.port && d.address === dest.address) hit.push(h);
  }
  for (const b of hit) {
    e.clearBranchTimers(b);
    b.final = 503;
    e.considerReply(b.txn, 503, null, b.index);
    e.dispatcher.targetFailed(b.dst, 477);
    e.nextTarget(b);
    e.checkCompletion(b.txn);
  }
}

/**
 * [use_dns_failover] starts a new branch of the same transaction to the next target the
 * resolver returned for this branch's host, unless the caller cancelled or a final reply went out.
 */
export function nextTarget(e: Tm, b: Branch): void {
  const fo = e.failover.get(b);
  if (!fo) return;
  e.failover.delete(b);
  const t = b.txn;
  if (t.canceled || t.finalSent || t.deleted) return;
  const ep = fo.rest[0]!;
  log.info("dns failover to next target", { from: `${b.dst.address}:${b.dst.port}`, to: `${ep.address}:${ep.port}`, callId: t.req.callId });
  e.startBranch(t, fo.plan, fo.target, withEndpoint(fo.hop, ep), fo.patches, fo.rest.slice(1));
}

/** Loop detection (RFC 3261 §16.3 item 4): our own Via with a branch made for this very request. */
export function isLoop(e: Tm, msg: SipMessage): boolean {
  const vias = msg.viasOrNull;
  if (!vias || vias.length < 2) return false;
  const want = fnvHex(msg.requestUri, msg.callId, msg.fromTag ?? "", String(msg.cseq.seq));
  for (let i = 0; i < vias.length; i++) {
    const v = vias[i]!;
    if (v.branch && v.branch.startsWith(e.branchPrefix) && e.isMyHostPort(v.host, v.port, v.transport)) {
      const h = v.branch.slice(e.branchPrefix.length, e.branchPrefix.length + 8);
      if (h === want) return true;
    }
  }
  return false;
}

function retransmitCb(e: Tm, b: Branch): void {
  e.retransmitBranch(b);
}
function frCb(e: Tm, b: Branch): void {
  e.branchTimeout(b);
}

/** The next hop with a resolved address (DNS answer) in place of the host name. */
function withEndpoint(hop: NextHop, ep: Endpoint): NextHop {
  return { ...hop, host: ep.address, port: ep.port, proto: ep.proto, family: ep.address.indexOf(":") >= 0 ? 6 : 4 };
}

function reparse(b: Buffer): SipMessage | null {
  const r = parseMessage(b);
  return r.ok ? r.msg : null;
}
