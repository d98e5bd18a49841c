/**
 * The proxy part shared by the routing test scripts (routing-drouting.ts, routing-carrierroute.ts,
 * routing-prefix-route.ts, routing-mtree.ts): Max-Forwards, CANCEL, in-dialog requests by Route,
 * ACKs, Record-Route on INVITEs — Kamailio's default cfg blocks the default script has too — and
 * the failover test of their failure routes.
 */
import type { FailureContext, RequestContext } from "../../data-plane/core/api.js";

/**
 * Handles what is not an initial request (and Max-Forwards); returns true when done. Initial
 * requests lose preloaded Route headers and INVITEs are record-routed.
 */
export function proxyBasics(req: RequestContext): boolean {
  if (!req.processMaxForwards(10)) {
    req.reply(483, "Too Many Hops");
    return true;
  }
  if (req.method === "CANCEL") {
    if (req.checkTransaction()) req.relay();
    return true;
  }
  if (req.hasToTag) {
    if (req.looseRoute()) relay(req);
    else if (req.method === "ACK") {
      if (req.checkTransaction()) req.relay();
    } else req.reply(404, "Not here");
    return true;
  }
  if (req.method === "ACK") {
    if (req.checkTransaction()) req.relay();
    return true;
  }
  req.removeHeader("Route");
  if (req.method === "INVITE") req.recordRoute();
  return false;
}

/** t_relay, or the core's error reply when it cannot be sent. */
export function relay(req: RequestContext): void {
  if (!req.relay()) req.replyError();
}

/**
 * Whether a failure route should try the next destination: not cancelled, and a 5xx or a branch
 * timeout without any reply (Kamailio's dispatcher.cfg / lcr examples).
 */
export function shouldFailOver(f: FailureContext): boolean {
  if (f.isCanceled()) return false;
  return f.checkStatus(/^5\d\d$/) || (f.branchTimeout() && !f.branchReplied());
}
