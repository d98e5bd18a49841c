/**
 * Small, allocation-light syntax checks the sanity module runs on raw header text, so it does not
 * depend on how leniently the core parser reads a field: URI syntax (RFC 3261 §25.1 SIP-URI,
 * RFC 3966 tel), name-addr / addr-spec extraction, header-parameter scanning and the first Via.
 */

import { lexUri } from "../../core/kit/index.js";

/** Result of checking a URI: fine, unsupported scheme, or bad syntax. */
export type UriCheck = "ok" | "scheme" | "bad";

const HOST_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;
// unreserved / escaped / user-unreserved / password chars (RFC 3261 §25.1)
const USERINFO = /^([A-Za-z0-9\-_.!~*'()&=+$,;?/:]|%[0-9A-Fa-f]{2})+$/;
// pname / pvalue chars, with '=' between them and '[' ']' for IPv6 in maddr
const PARAM = /^([A-Za-z0-9\-_.!~*'()[\]/:&+$=]|%[0-9A-Fa-f]{2})*$/;
const HEADERS = /^([A-Za-z0-9\-_.!~*'()[\]/?:+$=&]|%[0-9A-Fa-f]{2})*$/;
const TEL_CHARS = /^[^\s<>"\\\x00-\x1f\x7f]+$/;

function checkHost(host: string): boolean {
  if (host === "") return false;
  if (host.charCodeAt(0) === 91 /* [ */) {
    if (host.charCodeAt(host.length - 1) !== 93) return false;
    const inner = host.slice(1, -1);
    return inner.includes(":") && IPV6_CHARS.test(inner);
  }
  if (IPV4.test(host)) return true;
  const h = host.endsWith(".") ? host.slice(0, -1) : host;
  if (h === "" || h.length > 253) return false;
  for (const label of h.split(".")) if (!HOST_LABEL.test(label)) return false;
  return true;
}

/**
 * Checks a URI as it appears in a Request-URI, From/To/Contact/Route: sip/sips fully, tel/tels
 * and urn loosely (non-empty, no whitespace or delimiters); any other scheme is "scheme".
 */
export function checkUri(uri: string): UriCheck {
  const colon = uri.indexOf(":");
  if (colon <= 0) return "bad";
  const scheme = uri.slice(0, colon).toLowerCase();
  const rest = uri.slice(colon + 1);
  if (scheme === "tel" || scheme === "tels" || scheme === "urn") return rest !== "" && TEL_CHARS.test(rest) ? "ok" : "bad";
  if (scheme !== "sip" && scheme !== "sips") return /^[A-Za-z][A-Za-z0-9+.-]*$/.test(scheme) ? "scheme" : "bad";
  // the one URI lexer cuts it (userinfo up to the first '@', RFC 3261 §19.1.1); the pieces are checked here
  const p = lexUri(uri)!;
  if (p.headers !== null && !HEADERS.test(p.headers)) return "bad";
  if (p.userinfo !== null && (p.userinfo === "" || !USERINFO.test(p.userinfo))) return "bad";
  const hostport = p.hostport;
  if (p.params !== null) {
    for (const prm of p.params.split(";")) {
      if (prm === "" || prm.startsWith("=") || !PARAM.test(prm)) return "bad";
    }
  }
  let host = hostport;
  const close = hostport.lastIndexOf("]");
  const pc = hostport.lastIndexOf(":");
  if (pc > close) {
    const port = hostport.slice(pc + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return "bad";
    host = hostport.slice(0, pc);
  }
  return checkHost(host) ? "ok" : "bad";
}

/** One address of a From/To/Contact/Route header: the URI text and the header-parameter text. */
export interface AddressParts {
  readonly uri: string;
  /** Text after the URI (`;tag=x;expires=60`), possibly empty. */
  readonly params: string;
}

const DISPLAY_TOKENS = /^[A-Za-z0-9\-.!%*_+`'~\s]*$/;

/**
 * Splits a name-addr (`"Bob" <sip:bob@x>;tag=1`) or addr-spec (`sip:bob@x;tag=1`) into URI and
 * parameters; null when the brackets or quotes do not line up.
 */
export function splitAddress(value: string): AddressParts | null {
  const v = value.trim();
  if (v === "") return null;
  let i = 0;
  let lt = -1;
  // a quoted display-name may contain '<'
  if (v.charCodeAt(0) === 34 /* " */) {
    i = 1;
    while (i < v.length) {
      const c = v.charCodeAt(i);
      if (c === 92) i += 2;
      else if (c === 34) break;
      else i++;
    }
    if (i >= v.length) return null;
    i++;
    const restStart = v.slice(i).trimStart();
    if (!restStart.startsWith("<")) return null;
    lt = v.indexOf("<", i);
  } else {
    lt = v.indexOf("<");
    if (lt >= 0 && !DISPLAY_TOKENS.test(v.slice(0, lt))) return null;
  }
  if (lt >= 0) {
    const gt = v.indexOf(">", lt + 1);
    if (gt < 0) return null;
    const after = v.slice(gt + 1).trim();
    if (after !== "" && !after.startsWith(";")) return null;
    return { uri: v.slice(lt + 1, gt).trim(), params: after };
  }
  if (v.includes(">") || v.includes('"')) return null;
  const semi = v.indexOf(";");
  return semi >= 0 ? { uri: v.slice(0, semi).trim(), params: v.slice(semi) } : { uri: v, params: "" };
}

/** Counts header parameters named `name` (case-insensitive) in a `;a=1;b` parameter string. */
export function countParam(params: string, name: string): number {
  if (params === "") return 0;
  let n = 0;
  const want = name.toLowerCase();
  for (const p of params.split(";")) {
    const eq = p.indexOf("=");
    const k = (eq >= 0 ? p.slice(0, eq) : p).trim().toLowerCase();
    if (k === want) n++;
  }
  return n;
}

/** Whether a URI has a parameter `name` (e.g. `lr` on Route entries). */
export function uriHasParam(uri: string, name: string): boolean {
  const q = uri.indexOf("?");
  const u = q >= 0 ? uri.slice(0, q) : uri;
  const semi = u.indexOf(";");
  return semi >= 0 && countParam(u.slice(semi), name) > 0;
}

/** The topmost Via's sent-by host and branch, or null when it does not parse. */
export function parseFirstVia(value: string): { protocol: string; transport: string; host: string; branch: string | null } | null {
  const m = /^\s*([A-Za-z0-9._!%*+`'~-]+)\s*\/\s*([A-Za-z0-9._!%*+`'~-]+)\s*\/\s*([A-Za-z0-9._!%*+`'~-]+)\s+([^;\s]+)\s*(.*)$/s.exec(value);
  if (!m) return null;
  const sentBy = m[4]!;
  let host = sentBy;
  if (sentBy.startsWith("[")) {
    const e = sentBy.indexOf("]");
    if (e < 0) return null;
    host = sentBy.slice(0, e + 1);
  } else {
    const c = sentBy.indexOf(":");
    if (c >= 0) host = sentBy.slice(0, c);
  }
  if (!checkHost(host)) return null;
  let branch: string | null = null;
  const params = m[5]!.trim();
  if (params !== "") {
    if (!params.startsWith(";")) return null;
    for (const p of params.slice(1).split(";")) {
      const eq = p.indexOf("=");
      if (eq >= 0 && p.slice(0, eq).trim().toLowerCase() === "branch") branch = p.slice(eq + 1).trim();
    }
  }
  return { protocol: `${m[1]}/${m[2]}`, transport: m[3]!.toUpperCase(), host, branch };
}

/** Method, Request-URI and version from the request line of `raw`, or null. */
export function parseRequestLine(raw: string): { method: string; uri: string; version: string } | null {
  let end = raw.indexOf("\n");
  if (end < 0) end = raw.length;
  const line = raw.slice(0, end).replace(/\r$/, "");
  const a = line.indexOf(" ");
  const b = line.lastIndexOf(" ");
  if (a <= 0 || b <= a) return null;
  return { method: line.slice(0, a), uri: line.slice(a + 1, b), version: line.slice(b + 1) };
}
