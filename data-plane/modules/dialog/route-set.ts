/**
 * Route sets and the dialog id in Record-Route / Route headers (RFC 3261 §12.1, §16.12;
 * Kamailio dialog's rr_param). Pure string functions over header values, unit-tested.
 */

import { uriOfNameAddr } from "../../core/kit/index.js";

export { uriOfNameAddr };

/** A compiled matcher for `;<rr_param>=<h_entry hex>.<h_id hex>` in a Route/Record-Route value. */
export function didMatcher(rrParam: string): (value: string) => { hEntry: number; hId: number } | null {
  const re = new RegExp(`;${rrParam}=([0-9a-f]{1,8})\\.([0-9a-f]{1,8})(?=[;>,\\s]|$)`, "i");
  return (value) => {
    const m = re.exec(value);
    if (!m) return null;
    return { hEntry: parseInt(m[1]!, 16), hId: parseInt(m[2]!, 16) };
  };
}

/**
 * Route set towards the caller: the Record-Route entries the INVITE carried when it reached us
 * (the proxies between the caller and us), nearest first — they are already in that order.
 */
export function callerRouteSet(inviteRecordRoutes: readonly string[]): string[] {
  return inviteRecordRoutes.map(asRoute);
}

/**
 * Route set towards the callee, from the Record-Route entries of the 2xx: the entries above our
 * own (the proxies between us and the callee), nearest first, i.e. reversed. Our own entries
 * (one, or two with double record-routing) are the ones carrying `ownParam`
 * (`;did=<id>`); when none does, the callee route set is empty and requests go to its Contact.
 */
export function calleeRouteSet(replyRecordRoutes: readonly string[], ownParam: string): string[] {
  const lower = ownParam.toLowerCase();
  let first = -1;
  for (let i = 0; i < replyRecordRoutes.length; i++) {
    if (hasParam(replyRecordRoutes[i]!.toLowerCase(), lower)) {
      first = i;
      break;
    }
  }
  if (first <= 0) return [];
  return replyRecordRoutes.slice(0, first).reverse().map(asRoute);
}

/** Where a request with this route set goes first: the first route, or the remote target. */
export function firstHop(routeSet: readonly string[], remoteTarget: string): string {
  return routeSet.length ? uriOfNameAddr(routeSet[0]!) : remoteTarget;
}

function hasParam(value: string, param: string): boolean {
  let i = value.indexOf(param);
  while (i >= 0) {
    const end = i + param.length;
    const c = value.charCodeAt(end);
    // the parameter must end here: ';', '>', ',', whitespace or the end of the value
    if (Number.isNaN(c) || c === 59 || c === 62 || c === 44 || c === 32 || c === 9) return true;
    i = value.indexOf(param, end);
  }
  return false;
}

/** A Route header value for a Record-Route entry: the name-addr without header parameters. */
function asRoute(rr: string): string {
  return `<${uriOfNameAddr(rr)}>`;
}
