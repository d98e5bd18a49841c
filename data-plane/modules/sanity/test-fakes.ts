import type { SipMessageView } from "../../core/api.js";

/**
 * Test support: a tiny SipMessageView over raw text with only what sanity reads: isRequest, method, status,
 * requestUri, raw, size, body, header/headerAll/headerValues/hasHeader (compact forms v f t i m l).
 */
const COMPACT: Record<string, string> = { v: "via", f: "from", t: "to", i: "call-id", m: "contact", l: "content-length" };
function splitValues(v: string): string[] {
  const out: string[] = [];
  let depthAngle = 0;
  let quoted = false;
  let cur = "";
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (quoted) {
      if (c === "\\") {
        cur += c + (v[i + 1] ?? "");
        i++;
        continue;
      }
      if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "<") depthAngle++;
    else if (c === ">") depthAngle--;
    else if (c === "," && depthAngle === 0) {
      out.push(cur.trim());
      cur = "";
      continue;
    }
    cur += c;
  }
  if (cur.trim() !== "") out.push(cur.trim());
  return out;
}
export function fakeView(raw: string): SipMessageView {
  const sep = raw.indexOf("\r\n\r\n");
  const head = sep >= 0 ? raw.slice(0, sep) : raw;
  const body = sep >= 0 ? raw.slice(sep + 4) : "";
  const lines = head.split("\r\n");
  const first = lines.shift()!;
  const fields: Array<[string, string]> = [];
  for (const l of lines) {
    if ((l.startsWith(" ") || l.startsWith("\t")) && fields.length) fields[fields.length - 1]![1] += " " + l.trim();
    else {
      const c = l.indexOf(":");
      fields.push([l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()]);
    }
  }
  const norm = (n: string) => COMPACT[n.toLowerCase()] ?? n.toLowerCase();
  const all = (n: string) => fields.filter(([k]) => norm(k) === norm(n)).map(([, v]) => v);
  const isRequest = !first.startsWith("SIP/");
  const parts = first.split(" ");
  const cseq = all("cseq")[0] ?? "";
  return {
    isRequest,
    method: isRequest ? parts[0]! : (cseq.trim().split(/\s+/)[1] ?? ""),
    status: isRequest ? 0 : Number(parts[1]),
    requestUri: isRequest ? parts.slice(1, -1).join(" ") : "",
    raw,
    size: Buffer.byteLength(raw, "latin1"),
    body,
    header: (n: string) => all(n)[0] ?? null,
    headerAll: all,
    headerValues: (n: string) => all(n).flatMap(splitValues),
    hasHeader: (n: string) => all(n).length > 0,
  } as unknown as SipMessageView;
}

/** A well-formed INVITE; `edit` rewrites its lines. */
export function invite(edit: (lines: string[]) => string[] = (l) => l, body = "v=0\r\n"): string {
  const lines = [
    "INVITE sip:bob@example.com SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
    "Max-Forwards: 70",
    'From: "Alice" <sip:alice@example.com>;tag=1928301774',
    "To: <sip:bob@example.com>",
    "Call-ID: a84b4c76e66710@pc33.example.com",
    "CSeq: 314159 INVITE",
    "Contact: <sip:alice@192.0.2.10:5060;transport=udp>",
    "Route: <sip:proxy.example.com;lr>",
    "Expires: 300",
    "Content-Type: application/sdp",
    `Content-Length: ${body.length}`,
  ];
  return edit(lines).join("\r\n") + "\r\n\r\n" + body;
}
