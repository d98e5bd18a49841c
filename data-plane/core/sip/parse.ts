import { TOKEN, isToken } from "../../../lib/sip/chars.js";
import { canonicalName, canonicalNameAt } from "./header-names.js";
import { parseUint } from "./header-values.js";
import { SipMessage } from "./message.js";

/**
 * The one-pass SIP parser (RFC 3261 §7): start line and header index of a SipMessage, with the
 * limits that protect it from hostile input, and the raw line scan used to answer a message the
 * parser rejected.
 */

/** Limits that protect the parser from hostile input. */
export interface ParseLimits {
  maxMessageSize: number;
  maxHeaders: number;
  maxLineLength: number;
}

export const DEFAULT_LIMITS: ParseLimits = { maxMessageSize: 65535, maxHeaders: 256, maxLineLength: 16384 };

export type ParseResult = { ok: true; msg: SipMessage } | { ok: false; reason: string };

/**
 * Parses one SIP message. `datagram`: the body is the rest of the packet (Content-Length may cut
 * it shorter, never longer); otherwise the caller has framed exactly one message.
 * Never throws; malformed input gives `{ ok: false, reason }`.
 */
export function parseMessage(input: Buffer | string, limits: ParseLimits = DEFAULT_LIMITS): ParseResult {
  if (input.length > limits.maxMessageSize) return { ok: false, reason: "message too large" };
  const s = typeof input === "string" ? input : input.toString("latin1");
  const n = s.length;
  let pos = 0;
  // RFC 3261 §7.5: ignore CRLFs before the start line
  while (pos < n && (s.charCodeAt(pos) === 13 || s.charCodeAt(pos) === 10)) pos++;
  if (pos >= n) return { ok: false, reason: "empty message" };
  const msg = new SipMessage(s);
  if (typeof input !== "string") msg.buf = input;
  let le = s.indexOf("\n", pos);
  if (le < 0) return { ok: false, reason: "no line terminator after start line" };
  if (le - pos > limits.maxLineLength) return { ok: false, reason: "start line too long" };
  const slEnd = le > pos && s.charCodeAt(le - 1) === 13 ? le - 1 : le;
  const err = parseStartLine(s, pos, slEnd, msg);
  if (err) return { ok: false, reason: err };
  msg.startLineEnd = le + 1;
  pos = le + 1;
  // the index is collected in module scratch arrays and copied once, at its exact size
  const idx = SCRATCH_IDX;
  const names = SCRATCH_NAMES;
  let ni = 0; // numbers in idx
  let nn = 0; // names
  let last = -1; // offset in idx of the last field
  for (;;) {
    if (pos >= n) return { ok: false, reason: "headers not terminated by an empty line" };
    const c = s.charCodeAt(pos);
    if (c === 13 && s.charCodeAt(pos + 1) === 10) {
      msg.headersEnd = pos;
      msg.bodyStart = pos + 2;
      break;
    }
    if (c === 10) {
      msg.headersEnd = pos;
      msg.bodyStart = pos + 1;
      break;
    }
    le = s.indexOf("\n", pos);
    if (le < 0) return { ok: false, reason: "headers not terminated by an empty line" };
    if (le - pos > limits.maxLineLength) return { ok: false, reason: "header line too long" };
    let lineEnd = le > pos && s.charCodeAt(le - 1) === 13 ? le - 1 : le;
    if (c === 32 || c === 9) {
      // folded continuation of the previous field (RFC 3261 §7.3.1)
      if (last < 0) return { ok: false, reason: "continuation line before any header" };
      while (lineEnd > pos && isSpace(s.charCodeAt(lineEnd - 1))) lineEnd--;
      if (lineEnd > pos) {
        let k = pos;
        while (k < lineEnd && isSpace(s.charCodeAt(k))) k++;
        if (k < lineEnd) {
          idx[last + 2] = lineEnd; // valueEnd
          idx[last + 4] = 1; // folded
        }
      }
      idx[last + 3] = le + 1; // end
    } else {
      let k = pos;
      while (k < lineEnd && TOKEN[s.charCodeAt(k)] === 1) k++;
      const nameEnd = k;
      if (nameEnd === pos) return { ok: false, reason: "malformed header name" };
      while (k < lineEnd && isSpace(s.charCodeAt(k))) k++;
      if (s.charCodeAt(k) !== 58) return { ok: false, reason: `header '${s.slice(pos, Math.min(nameEnd, pos + 40))}' without colon` };
      k++;
      while (k < lineEnd && isSpace(s.charCodeAt(k))) k++;
      let ve = lineEnd;
      while (ve > k && isSpace(s.charCodeAt(ve - 1))) ve--;
      if (nn >= limits.maxHeaders) return { ok: false, reason: "too many headers" };
      last = ni;
      names[nn++] = canonicalNameAt(s, pos, nameEnd);
      idx[ni] = pos;
      idx[ni + 1] = k;
      idx[ni + 2] = ve;
      idx[ni + 3] = le + 1;
      idx[ni + 4] = 0;
      ni += 5;
    }
    pos = le + 1;
  }
  msg.idx = idx.slice(0, ni);
  msg.names = names.slice(0, nn);
  // body
  const available = n - msg.bodyStart;
  const clv = msg.valueNamed("content-length");
  if (clv !== null) {
    const cl = parseUint(clv, 0x7fffffff);
    if (cl === null) return { ok: false, reason: "malformed Content-Length" };
    if (cl > available) return { ok: false, reason: "Content-Length larger than the message" };
    msg.bodyEnd = msg.bodyStart + cl;
  } else {
    msg.bodyEnd = n;
  }
  return { ok: true, msg };
}

const SCRATCH_IDX: number[] = [];
const SCRATCH_NAMES: string[] = [];

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/** Parses the request or status line in s[from, to); fills msg; returns an error text or null. */
function parseStartLine(s: string, from: number, to: number, msg: SipMessage): string | null {
  if (s.startsWith("SIP/", from)) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    const sp1 = s.indexOf(" ", from);
    if (sp1 < 0 || sp1 > to) return "malformed status line";
    msg.version = s.slice(from, sp1);
    const sp2 = s.indexOf(" ", sp1 + 1);
    const codeEnd = sp2 < 0 || sp2 > to ? to : sp2;
    const code = s.slice(sp1 + 1, codeEnd);
    if (!/^[1-6][0-9][0-9]$/.test(code)) return "malformed status code";
    msg.status = Number(code);
    msg.reason = codeEnd < to ? s.slice(codeEnd + 1, to) : "";
    msg.isRequest = false;
    if (msg.version !== "SIP/2.0" && !/^SIP\/\d+\.\d+$/i.test(msg.version)) return "malformed SIP version";
    return null;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version
  const sp1 = s.indexOf(" ", from);
  if (sp1 < 0 || sp1 >= to) return "malformed request line";
  // a known method is the literal (an internalized string: Map and Set lookups by it are cheap)
  const method = knownMethod(s, from, sp1) ?? s.slice(from, sp1);
  if (!isToken(method)) return "malformed method";
  const sp2 = s.indexOf(" ", sp1 + 1);
  if (sp2 < 0 || sp2 >= to) return "malformed request line";
  const version = s.slice(sp2 + 1, to);
  if (version.indexOf(" ") >= 0 || version.indexOf("\t") >= 0) return "malformed request line";
  const ruri = s.slice(sp1 + 1, sp2);
  if (ruri.length === 0) return "malformed request line";
  if (version !== "SIP/2.0" && !/^SIP\/\d+\.\d+$/i.test(version)) return "malformed SIP version";
  msg.isRequest = true;
  msg.method = method;
  msg.requestUri = ruri;
  msg.ruriStart = sp1 + 1;
  msg.ruriEnd = sp2;
  msg.version = version;
  return null;
}

const METHODS = ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "UPDATE", "INFO", "SUBSCRIBE", "NOTIFY", "PUBLISH", "MESSAGE", "REFER"];

function knownMethod(s: string, from: number, to: number): string | null {
  const len = to - from;
  for (const m of METHODS) if (m.length === len && s.startsWith(m, from)) return m;
  return null;
}

/**
 * For a request: the value of the first Via line and the other headers a reply copies, found
 * by a raw line scan — used to answer 400 to a message the full parser rejected.
 */
export function scanReplyHeaders(input: string): { isRequest: boolean; method: string; lines: Map<string, string[]> } | null {
  const lines = input.split(/\r?\n/);
  const first = lines[0] ?? "";
  const m = /^([A-Za-z0-9.!%*_+`'~-]+) /.exec(first);
  if (!m || first.startsWith("SIP/")) return null;
  const out = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") break;
    const c = line.indexOf(":");
    if (c <= 0) continue;
    const name = canonicalName(line.slice(0, c).trim());
    if (name === "via" || name === "from" || name === "to" || name === "call-id" || name === "cseq") {
      const arr = out.get(name) ?? [];
      arr.push(line.slice(c + 1).trim());
      out.set(name, arr);
    }
  }
  return { isRequest: true, method: m[1]!, lines: out };
}
