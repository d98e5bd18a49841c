import type { SipMessage } from "./message.js";
import { WORD } from "../../../lib/sip/chars.js";
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

/** Counts of the headers validation looks at, in one pass over the header index. */
class Counts {
  from = 0;
  to = 0;
  callId = 0;
  cseq = 0;
  via = 0;
  contentLength = 0;
  maxForwards = 0;
  expires = -1;
  date = -1;
}

function countHeaders(msg: SipMessage): Counts {
  const c = new Counts();
  const ns = msg.names;
  for (let i = 0; i < ns.length; i++) {
    switch (ns[i]) {
      case "via": c.via++; break;
      case "from": c.from++; break;
      case "to": c.to++; break;
      case "call-id": c.callId++; break;
      case "cseq": c.cseq++; break;
      case "content-length": c.contentLength++; break;
      case "max-forwards": c.maxForwards++; break;
      case "expires": if (c.expires < 0) c.expires = i; break;
      case "date": if (c.date < 0) c.date = i; break;
    }
  }
  return c;
}

/** The SINGLE headers' missing/duplicate rejection, in SINGLE's order, or null. */
function singles(c: Counts): Rejection | null {
  const counts = [c.from, c.to, c.callId, c.cseq];
  for (let k = 0; k < SINGLE.length; k++) {
    const n = counts[k]!;
    if (n === 0) return bad(`missing ${SINGLE[k]}`);
    if (n > 1) return bad(`more than one ${SINGLE[k]}`);
  }
  return null;
}

/** Call-ID = word ["@" word]: every character a word character, one "@" allowed (its first). */
function callIdOk(callId: string): boolean {
  const n = callId.length;
  if (n === 0 || n > 1024) return false;
  const at = callId.indexOf("@");
  for (let i = 0; i < n; i++) if (i !== at && WORD[callId.charCodeAt(i)] !== 1) return false;
  return true;
}

export function validateCommon(msg: SipMessage): Rejection | null {
  const c = countHeaders(msg);
  const s = singles(c);
  if (s) return s;
  if (c.via === 0) return bad("missing Via");
  if (!msg.topViaOrNull) return bad("malformed Via");
  if (!callIdOk(msg.callId)) return bad("malformed Call-ID");
  const cseq = msg.cseqOrNull;
  if (!cseq) return bad("malformed CSeq");
  if (!msg.fromOrNull) return bad("malformed From");
  if (!msg.toOrNull) return bad("malformed To");
  if (c.contentLength > 1) return bad("more than one Content-Length");
  const mf = c.maxForwards;
  if (mf > 1) return bad("more than one Max-Forwards");
  if (mf === 1 && msg.maxForwards === null) return bad("malformed Max-Forwards");
  if (c.expires >= 0 && parseUint(msg.valueAt(c.expires), 0xffffffff) === null) return bad("malformed Expires");
  if (c.date >= 0 && !DATE_RE.test(msg.valueAt(c.date).trim())) return bad("malformed Date");
  return null;
}

export function validateRequest(msg: SipMessage): Rejection | null {
  if (msg.version !== "SIP/2.0" && msg.version.toUpperCase() !== "SIP/2.0") return { status: 505, reason: "Version Not Supported" };
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
  const c = countHeaders(msg);
  const s = singles(c);
  if (s) return s;
  if (!msg.topViaOrNull) return bad("malformed Via");
  if (!msg.cseqOrNull) return bad("malformed CSeq");
  if (c.contentLength > 1) return bad("more than one Content-Length");
  return null;
}
