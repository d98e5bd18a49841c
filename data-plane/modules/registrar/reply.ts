import type { RequestContext } from "../../core/api.js";
import { formatQ, type Binding } from "../usrloc/api.js";

/**
 * Registrar outcomes (Kamailio registrar rerrno.h / reply.c): reply code and the text sent in
 * `P-Registrar-Error`.
 */
export const RegError = {
  INV_CSEQ: { code: 400, info: "Invalid CSeq number" },
  TO_USER: { code: 400, info: "No username in To URI" },
  AOR_LEN: { code: 500, info: "Address Of Record too long" },
  AOR_PARSE: { code: 400, info: "Error while parsing AOR" },
  INV_Q: { code: 400, info: "Invalid q param in contact" },
  PARSE: { code: 400, info: "Message parse error" },
  CID_MISS: { code: 400, info: "Call-ID header not found" },
  PARSE_EXP: { code: 400, info: "Expires parse error" },
  PARSE_CONT: { code: 400, info: "Contact parse error" },
  STAR_EXP: { code: 400, info: "* used in contact and expires is not zero" },
  STAR_CONT: { code: 400, info: "* used in contact and more than 1 contact" },
  UNESCAPE: { code: 400, info: "Error while unescaping username" },
  TOO_MANY: { code: 503, info: "Too many registered contacts" },
  CONTACT_LEN: { code: 400, info: "Contact/received too long" },
  CALLID_LEN: { code: 400, info: "Callid too long" },
  PARSE_PATH: { code: 400, info: "Path parse error" },
  PATH_UNSUP: { code: 420, info: "No support for found Path indicated" },
  OB_UNSUP: { code: 421, info: "No support for Outbound indicated" },
  OB_REQD: { code: 420, info: "No support for Outbound on server" },
  INV_REGID: { code: 400, info: "Invalid Reg-Id number" },
  LOW_EXP: { code: 423, info: "Interval too brief" },
  UNSUPPORTED: { code: 420, info: "Unsupported extension required" },
  UL_ERROR: { code: 500, info: "usrloc_contact_insert failed" },
} as const;
/** Name of a registrar error (a key of RegError). */
export type RegErrorKind = keyof typeof RegError;

/** Reason phrases of the codes the registrar sends (reply.c MSG_*). */
export const REASONS: Readonly<Record<number, string>> = Object.freeze({
  200: "OK",
  400: "Bad Request",
  420: "Bad Extension",
  421: "Extension Required",
  423: "Interval Too Brief",
  439: "First Hop Lacks Outbound Support",
  500: "Server Internal Error",
  503: "Service Unavailable",
});

/** A rejected REGISTER: which error, plus headers the reply must carry (Min-Expires, Unsupported ...). */
export class RegFailure extends Error {
  constructor(
    readonly kind: RegErrorKind,
    readonly headers: Array<[string, string]> = [],
  ) {
    super(RegError[kind].info);
  }
}

/** A reply prepared by save() with flag 0x10 and sent later by sendReply (reg_send_reply). */
export interface PreparedReply {
  readonly code: number;
  readonly reason: string;
  readonly headers: Array<[string, string]>;
}

/** req.vars key of a prepared reply. */
export const PREPARED_REPLY_VAR = "registrar:reply";

/**
 * The Contact header value of a 200 reply (Kamailio build_contact): every valid binding as
 * `<uri>;q=..;expires=N;received="..";+sip.instance="..";reg-id=N`, joined by ", ".
 * Null when there is no binding (the reply then has no Contact).
 */
export function buildContactList(bindings: readonly Binding[], now: number, receivedParam: string): string | null {
  let out = "";
  for (const c of bindings) {
    if (!c.isValid(now)) continue;
    if (out) out += ", ";
    out += `<${c.contact}>`;
    const q = formatQ(c.q);
    if (q) out += `;q=${q}`;
    out += `;expires=${c.expires === 0 ? 0 : c.expires - now}`;
    if (receivedParam && c.received) out += `;${receivedParam}="${c.received}"`;
    if (c.instance) out += `;+sip.instance="${c.instance}"`;
    if (c.regId > 0) out += `;reg-id=${c.regId}`;
  }
  return out || null;
}

/** Headers of an error reply: P-Registrar-Error, the failure's own headers, Retry-After on 5xx. */
export function errorHeaders(f: RegFailure, retryAfter: number): Array<[string, string]> {
  const e = RegError[f.kind];
  const h: Array<[string, string]> = [...f.headers, ["P-Registrar-Error", e.info]];
  if (e.code >= 500 && retryAfter > 0) h.push(["Retry-After", String(retryAfter)]);
  return h;
}

/** Sends a prepared reply (reg_send_reply); false when none was prepared or it could not be sent. */
export function sendPrepared(req: RequestContext): boolean {
  const p = req.vars.get(PREPARED_REPLY_VAR) as PreparedReply | undefined;
  if (!p) return false;
  req.vars.delete(PREPARED_REPLY_VAR);
  return req.reply(p.code, p.reason, { headers: p.headers });
}
