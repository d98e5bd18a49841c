import type { Endpoint } from "../../../lib/sip/types.js";
import { Patch, firstListComma, type SipMessage } from "../sip/message.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import { encodeFlowToken, needsFlowToken } from "../transport/flow-token.js";
import { viaWithReceived } from "./builders.js";
import { recordRouteValue } from "./routing.js";
import type { BranchTarget, RelayPlan } from "./types.js";
import type { Tm } from "./internal.js";

/** Request patches of t_fwd: what changes in each outgoing copy of a request, and the Via a relayed reply loses. */

/**
 * Request-level and branch patches for one outgoing copy: our Via on top, received/rport on the
 * previous top Via, R-URI rewrite, Max-Forwards, Record-Route (double when sockets differ).
 * Returns null when Max-Forwards is exhausted.
 */
export function requestPatches(
  e: Tm,
  msg: SipMessage,
  src: Endpoint,
  inSock: ListenSocket,
  outSock: ListenSocket,
  plan: RelayPlan,
  target: BranchTarget,
  branchId: string,
  dest: Endpoint,
): Patch[] | null {
  const out: Patch[] = [];
  // received / rport on the top Via (RFC 3261 §18.2.1, RFC 3581)
  const vf = msg.indexOf("via");
  const vr = viaWithReceived(msg, src, e.config.forceRport);
  if (vr.changed && !msg.foldedAt(vf)) {
    const comma = firstListComma(msg.valueAt(vf));
    const vs = msg.valueStartAt(vf);
    out.push(new Patch(vs, comma < 0 ? msg.valueEndAt(vf) : vs + comma, vr.value));
  }
  // Max-Forwards (RFC 3261 §16.6 step 3)
  if (!plan.maxForwardsDone) {
    const mf = msg.indexOf("max-forwards");
    if (mf < 0) out.push(new Patch(msg.headersEnd, msg.headersEnd, `Max-Forwards: ${e.config.maxfwd.default}\r\n`));
    else {
      const v = msg.maxForwards ?? 0;
      if (v <= 0) return null;
      out.push(new Patch(msg.valueStartAt(mf), msg.valueEndAt(mf), String(v - 1)));
    }
  }
  // Record-Route
  if (plan.recordRoute !== null || plan.recordRoutePreset !== null) {
    let rrText: string;
    if (plan.recordRoutePreset !== null) rrText = `Record-Route: ${plan.recordRoutePreset}\r\n`;
    else {
      let params = plan.recordRoute ?? "";
      if (e.config.rr.appendFromTag && msg.fromTag) params += `;ftag=${msg.fromTag}`;
      // WebSocket peers are reachable only over their connection: their side of the
      // Record-Route carries a flow token (RFC 5626 §5.2), and both sides get an entry
      const inFlow = needsFlowToken(inSock.proto) ? encodeFlowToken(src) : null;
      const outFlow = needsFlowToken(outSock.proto) ? encodeFlowToken(dest) : null;
      const differ = outSock !== inSock || inFlow !== null || outFlow !== null;
      if (differ && e.config.rr.doubleRr) {
        rrText =
          `Record-Route: ${recordRouteValue(outSock, params, true, outFlow)}\r\n` +
          `Record-Route: ${recordRouteValue(inSock, params, true, inFlow)}\r\n`;
      } else {
        rrText = `Record-Route: ${recordRouteValue(inSock, params, false, inFlow)}\r\n`;
      }
    }
    const firstRr = msg.indexOf("record-route");
    const at = firstRr >= 0 ? msg.startAt(firstRr) : msg.startLineEnd;
    out.push(new Patch(at, at, rrText));
  }
  // our Via on top (after a Record-Route inserted at the same place, so the Vias stay together)
  out.push(new Patch(msg.startLineEnd, msg.startLineEnd, outSock.viaPrefix + branchId + "\r\n"));
  // R-URI
  if (target.uri !== msg.requestUri) out.push(new Patch(msg.ruriStart, msg.ruriEnd, target.uri));
  // Path (registrar-learnt path becomes Route headers)
  if (target.path) out.push(new Patch(msg.startLineEnd, msg.startLineEnd, `Route: ${target.path}\r\n`));
  return out;
}

/** Removes our top Via value from a reply before it is relayed. */
export function removeTopViaPatch(msg: SipMessage): Patch[] {
  const f = msg.indexOf("via");
  const comma = firstListComma(msg.valueAt(f));
  if (comma < 0 || msg.foldedAt(f)) return [new Patch(msg.startAt(f), msg.endAt(f), "")];
  // remove "top," and the whitespace after it
  const vs = msg.valueStartAt(f);
  const ve = msg.valueEndAt(f);
  let e = vs + comma + 1;
  const raw = msg.raw;
  while (e < ve && (raw.charCodeAt(e) === 32 || raw.charCodeAt(e) === 9)) e++;
  return [new Patch(vs, e, "")];
}
