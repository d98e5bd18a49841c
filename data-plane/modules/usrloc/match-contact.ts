import { sameInstance, type Binding } from "./binding.js";

/** Result codes of Kamailio's get_ucontact: found, not found, out of order, retransmission. */
export const MatchCode = { FOUND: 0, NOT_FOUND: 1, INVALID_CSEQ: -1, SKIP: -2 } as const;
/** One of the MatchCode values. */
export type MatchCode = (typeof MatchCode)[keyof typeof MatchCode];

/** The outcome of matchContact and the binding it found (if any). */
export interface MatchResult {
  readonly code: MatchCode;
  readonly binding: Binding | null;
}

/** What a REGISTER contact brings to find its binding. */
export interface MatchQuery {
  readonly contact: string;
  readonly callid: string;
  readonly path: string | null;
  readonly cseq: number;
  /** +sip.instance of the contact (RFC 5626), or null. */
  readonly instance: string | null;
  readonly regId: number;
}

const NOT_FOUND: MatchResult = Object.freeze({ code: MatchCode.NOT_FOUND, binding: null });

/**
 * Finds the binding a registered contact refers to (Kamailio get_ucontact_by_instance):
 * by +sip.instance and reg-id when the contact has an instance (one binding per device
 * instance, RFC 5626 §6), otherwise by `matching_mode` (0 contact URI, 1 contact + Call-ID,
 * 2 contact + path, 3 Call-ID only), comparing URIs byte-wise as Kamailio does.
 *
 * With the same Call-ID, a lower CSeq is out of order (INVALID_CSEQ → 400); the same CSeq within
 * `cseqDelay` seconds of the last change is a retransmission (SKIP), later it is out of order.
 */
export function matchContact(
  bindings: readonly Binding[],
  q: MatchQuery,
  matchingMode: number,
  cseqDelay: number,
  now: number,
): MatchResult {
  if (q.instance) {
    for (const b of bindings) {
      if (b.instance && b.regId === q.regId && sameInstance(b.instance, q.instance)) return { code: MatchCode.FOUND, binding: b };
    }
    return NOT_FOUND;
  }
  let found: Binding | null = null;
  let callidMatched = false;
  for (const b of bindings) {
    let ok: boolean;
    switch (matchingMode) {
      case 1:
        ok = b.contact === q.contact && b.callid === q.callid;
        break;
      case 2:
        ok = b.contact === q.contact && (q.path === null || b.path === q.path);
        break;
      case 3:
        ok = b.callid === q.callid;
        break;
      default:
        ok = b.contact === q.contact;
    }
    if (ok) {
      found = b;
      callidMatched = matchingMode === 1;
      break;
    }
  }
  if (!found) return NOT_FOUND;
  if (callidMatched || found.callid === q.callid) {
    if (q.cseq < found.cseq) return { code: MatchCode.INVALID_CSEQ, binding: found };
    if (q.cseq === found.cseq) {
      return { code: found.lastModified + cseqDelay > now ? MatchCode.SKIP : MatchCode.INVALID_CSEQ, binding: found };
    }
  }
  return { code: MatchCode.FOUND, binding: found };
}
