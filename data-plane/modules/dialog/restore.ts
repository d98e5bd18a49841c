/**
 * Rebuilds the dialogs a node had up before a restart from their stored rows (db-store.ts) and
 * hands them to the manager. A restored dialog is confirmed (state 3 or 4), has its legs, route
 * sets, CSeqs, flags, variables, profiles and the gateway that answered, and keeps its INVITE time, so its
 * CDR gets the same cdr_id it would have had without the restart.
 */
import type { Endpoint, TransportProto } from "../../core/api.js";
import { Dialog, DlgState } from "./dialog.js";
import type { StoredDialog } from "./db-store.js";
import type { DialogManager } from "./manager.js";

function endpoint(s: string | null): Endpoint | null {
  if (!s) return null;
  const m = /^(\w+):(.*):(\d+)$/.exec(s);
  return m ? { proto: m[1] as TransportProto, address: m[2]!, port: Number(m[3]) } : null;
}

/** Adopts every stored dialog; returns the dialogs taken over. */
export function restoreDialogs(m: DialogManager, rows: readonly StoredDialog[]): Dialog[] {
  const out: Dialog[] = [];
  for (const r of rows) {
    if (r.state !== DlgState.CONFIRMED && r.state !== DlgState.CONFIRMED_NA) continue;
    const x = r.x;
    const src = endpoint(x.src) ?? { proto: "udp" as TransportProto, address: "0.0.0.0", port: 0 };
    const d = new Dialog(m, r.hEntry, r.hId, r.callId, r.fromUri, r.toUri, r.reqUri, src, r.fromTag, r.callerContact, r.callerCseq, r.callerRouteSet, r.callerSock, x.lt, x.i);
    d.state = r.state as DlgState;
    d.startTs = x.s;
    d.ackTs = x.a;
    d.sflags = r.sflags;
    d.iflags = r.iflags;
    d.code = x.c;
    d.reason = x.r;
    d.startedPublished = true;
    d.txnAlive = false;
    d.callee.tag = r.toTag;
    d.callee.contact = r.calleeContact;
    d.callee.cseq = r.calleeCseq;
    d.callee.routeSet = r.calleeRouteSet;
    d.callee.socket = r.calleeSock;
    if (r.vars.size) d.vars = new Map(r.vars);
    const ga = endpoint(x.ga);
    if (x.gw !== null && ga) {
      d.branches[0] = { index: 0, uri: x.gw, dstUri: x.gd, dst: ga };
      d.decidingBranch = 0;
    }
    m.adopt(d, r.timeoutAt);
    // back into its profiles (a profile no longer declared is skipped)
    for (const [p, v] of x.p ?? []) if (m.profiles.has(p)) m.profiles.set(d, p, v);
    out.push(d);
  }
  return out;
}
