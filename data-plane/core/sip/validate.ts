import type { SipMessage } from "./message.js";
import { WORD, allIn } from "../../../lib/sip/chars.js";
import { parseUint } from "./header-values.js";
import { uriScheme } from "../../../lib/sip/uri.js";

/**
 * Checks a parsed message before the core acts on it: the mandatory headers exist once and parse,
 * scalar fields are in range, the start line is consistent (RFC 3261 §8.2, §16.3; RFC 4475).
 * Returns the reply to send (status and reason) or null when the message is acceptable.
 * A response that fails validation is dropped by the caller (status is then informative only).
 */
export interface Rejection {
  readonly status: number;
  readonly reason: string;
  /** Extra reply headers (e.g. Unsupported for 420). */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

const bad = (what: string): Rejection => ({ status: 400, reason: `Bad Request (${what})` });

const SINGLE = ["from", "to", "call-id", "cseq"] as const;
const DATE_RE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

export function validateCommon(msg: SipMessage): Rejection | null {
  for (const h of SINGLE) {
    const c = msg.countOf(h);
    if (c === 0) return bad(`missing ${h}`);
    if (c > 1) return bad(`more than one ${h}`);
  }
  if (msg.countOf("via") === 0) return bad("missing Via");
  if (!msg.topViaOrNull) return bad("malformed Via");
  const callId = msg.callId;
  if (callId.length === 0 || callId.length > 1024 || !allIn(WORD, callId.replace("@", ""))) return bad("malformed Call-ID");
  const cseq = msg.cseqOrNull;
  if (!cseq) return bad("malformed CSeq");
  if (!msg.fromOrNull) return bad("malformed From");
  if (!msg.toOrNull) return bad("malformed To");
  if (msg.countOf("content-length") > 1) return bad("more than one Content-Length");
  const mf = msg.countOf("max-forwards");
  if (mf > 1) return bad("more than one Max-Forwards");
  if (mf === 1 && msg.maxForwards === null) return bad("malformed Max-Forwards");
  const exp = msg.field("expires");
  if (exp && parseUint(msg.valueOf(exp), 0xffffffff) === null) return bad("malformed Expires");
  const date = msg.field("date");
  if (date && !DATE_RE.test(msg.valueOf(date).trim())) return bad("malformed Date");
  return null;
}

export function validateRequest(msg: SipMessage): Rejection | null {
  if (msg.version.toUpperCase() !== "SIP/2.0") return { status: 505, reason: "Version Not Supported" };
  const common = validateCommon(msg);
  if (common) return common;
  if (msg.cseq.method !== msg.method) return bad("CSeq method does not match the request method");
  const scheme = uriScheme(msg.requestUri);
  if (scheme === null) return bad("malformed Request-URI");
  if (scheme === "sip" || scheme === "sips" || scheme === "tel") {
    const u = msg.ruriParsed;
    if (!u) return bad("malformed Request-URI");
    if (u.headers !== null) return bad("headers in the Request-URI");
  } else {
    return { status: 416, reason: "Unsupported URI Scheme" };
  }
  if (msg.method === "REGISTER" && msg.countOf("contact") > 0 && msg.contactsOrNull() === null) {
    return bad("malformed Contact");
  }
  return null;
}

/**
 * Replies are checked more lightly than requests (as Kamailio does): the headers a proxy needs to
 * match and relay them must be present and the top Via and CSeq must parse; From/To are parsed only
 * when something asks for them.
 */
export function validateResponse(msg: SipMessage): Rejection | null {
  if (msg.version !== "SIP/2.0" && msg.version.toUpperCase() !== "SIP/2.0") return bad("version");
  for (const h of SINGLE) {
    const c = msg.countOf(h);
    if (c === 0) return bad(`missing ${h}`);
    if (c > 1) return bad(`more than one ${h}`);
  }
  if (!msg.topViaOrNull) return bad("malformed Via");
  if (!msg.cseqOrNull) return bad("malformed CSeq");
  if (msg.countOf("content-length") > 1) return bad("more than one Content-Length");
  return null;
}
