import type { ReplyEditor, RequestContext } from "../../core/api.js";
import { decodeReplaced, encodeReplaced, replacedAddr, routeState, splitAddr, type Replaced } from "./rr-state.js";
import { FTAG_SET } from "./auth.js";

/**
 * uac_replace_from / uac_replace_to and their restore (Kamailio uac, rr-based "auto" mode): the
 * initial request leaves with the new From/To, the original and the new value are kept masked in
 * a Record-Route parameter, replies of the transaction get the original back, and uac.inDialog()
 * (or uac_restore_from/to in "manual" mode) puts the right values into later in-dialog requests of
 * either side and their replies. The CSeq offset of uac_auth is applied there as well.
 */

export interface ReplaceDeps {
  readonly mode: "none" | "manual" | "auto";
  readonly fromParam: string;
  readonly toParam: string;
  readonly passwd: string;
  readonly stats: { inc(name: string): void };
}

type Which = "from" | "to";

/** Rewrites the name-addr of the first From/To value, keeping its parameters (tag). */
function rewrite(set: (name: string, index: number, value: string) => boolean, current: string | null, name: string, addr: string): boolean {
  if (current === null) return false;
  const [, params] = splitAddr(current);
  return set(name, 0, addr + params);
}

/** Kamailio's return codes: 1 replaced, -1 error (no such header, bad URI, not an initial request). */
export function uacReplace(req: RequestContext, which: Which, display: string | null, uri: string, d: ReplaceDeps): number {
  if (req.hasToTag && which === "from") return -1;
  if (uri !== "" && !/^(sips?|tel):[^\s<>]+$/i.test(uri)) return -1;
  if (display !== null && /[\r\n<>]/.test(display)) return -1;
  const name = which === "from" ? "From" : "To";
  const cur = req.msg.header(which);
  if (cur === null) return -1;
  const [orig] = splitAddr(cur);
  const repl = replacedAddr(orig, display, uri);
  if (!rewrite((n, i, v) => req.replaceHeader(n, i, v), cur, name, repl)) return -1;
  req.vars.set(`uac:${which}`, { orig, repl } satisfies Replaced);
  d.stats.inc(which === "from" ? "from_replaced" : "to_replaced");
  if (d.mode === "none") return 1;
  if (!req.vars.get(FTAG_SET) && req.msg.fromTag) {
    req.vars.set(FTAG_SET, true);
    req.recordRoute(`uacf=${req.msg.fromTag}`);
  }
  req.recordRoute(`${which === "from" ? d.fromParam : d.toParam}=${encodeReplaced({ orig, repl }, d.passwd)}`);
  if (d.mode === "auto") {
    // replies of this transaction go upstream with the caller's own value
    req.observeTransaction({
      replyReceived(r: ReplyEditor) {
        rewrite((n, i, v) => r.replaceHeader(n, i, v), r.msg.header(which), name, orig);
      },
    });
  }
  return 1;
}

/** What uac.inDialog / uac_restore_from / uac_restore_to fix in one in-dialog request. */
export interface InDialogParts {
  readonly cseq: boolean;
  readonly from: boolean;
  readonly to: boolean;
}

/**
 * Fixes an in-dialog request (after loose_route) from the Record-Route state: 1 something was
 * changed, -1 nothing to do (no uac state in the Route set).
 */
export function uacInDialog(req: RequestContext, parts: InDialogParts, d: ReplaceDeps): number {
  const st = routeState(req.msg, ["uacs", "uacf", d.fromParam, d.toParam]);
  if (!st) return -1;
  const ftag = st.get("uacf");
  // with no From-tag recorded the request is taken as coming from the caller
  const fromCaller = ftag === undefined || req.msg.fromTag === ftag;
  const fromR = parts.from && st.has(d.fromParam) ? decodeReplaced(st.get(d.fromParam)!, d.passwd) : null;
  const toR = parts.to && st.has(d.toParam) ? decodeReplaced(st.get(d.toParam)!, d.passwd) : null;
  const shift = parts.cseq ? Number(st.get("uacs") ?? 0) : 0;
  /** Header name → the name-addr replies must carry upstream. */
  const replyFix: Array<[Which, string]> = [];
  let changed = false;
  const set = (n: string, i: number, v: string) => req.replaceHeader(n, i, v);
  if (fromCaller) {
    if (Number.isInteger(shift) && shift > 0 && shift < 1_000_000) {
      req.setHeader("CSeq", `${req.msg.cseq.seq + shift} ${req.msg.cseq.method}`);
      changed = true;
    }
    if (fromR && rewrite(set, req.msg.header("from"), "From", fromR.repl)) {
      replyFix.push(["from", fromR.orig]);
      changed = true;
    }
    if (toR && rewrite(set, req.msg.header("to"), "To", toR.repl)) {
      replyFix.push(["to", toR.orig]);
      changed = true;
    }
  } else {
    // the callee addresses the caller with the values it was shown: From (ours) is its To
    if (fromR && rewrite(set, req.msg.header("to"), "To", fromR.orig)) {
      replyFix.push(["to", fromR.repl]);
      changed = true;
    }
    if (toR && rewrite(set, req.msg.header("from"), "From", toR.orig)) {
      replyFix.push(["from", toR.repl]);
      changed = true;
    }
  }
  if (!changed) return -1;
  const seq = req.msg.cseq.seq;
  const method = req.msg.cseq.method;
  const shifted = fromCaller && shift > 0;
  if (req.method !== "ACK" && (shifted || replyFix.length > 0)) {
    req.observeTransaction({
      replyReceived(r: ReplyEditor) {
        if (shifted && r.msg.cseq.seq !== seq) r.setHeader("CSeq", `${seq} ${method}`);
        for (const [which, addr] of replyFix) rewrite((n, i, v) => r.replaceHeader(n, i, v), r.msg.header(which), which === "from" ? "From" : "To", addr);
      },
    });
  }
  d.stats.inc("in_dialog_fixed");
  return 1;
}
