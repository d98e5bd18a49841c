/**
 * A small SIP URI reader for what the dispatcher needs from destination URIs and hash keys:
 * scheme, user, host (as written), port and the transport parameter (RFC 3261 §19.1.1).
 * It is deliberately local: the core's full URI parser (data-plane/core/sip/) is not a module
 * contract yet. It keeps the text as written so hash keys match Kamailio's byte for byte.
 */

/** Kamailio proto ids (PROTO_NONE .. PROTO_WSS), shown as PROTOID by `dispatcher.list full`. */
export const PROTO_IDS: Readonly<Record<string, number>> = { "": 0, udp: 1, tcp: 2, tls: 3, sctp: 4, ws: 5, wss: 6 };

export interface DestUri {
  readonly scheme: "sip" | "sips";
  /** User part as written, or "" when absent. */
  readonly user: string;
  /** Host as written (IPv6 without brackets). */
  readonly host: string;
  readonly ipv6: boolean;
  /** The port text as written ("" when absent). */
  readonly portText: string;
  /** Explicit port or 0 when absent. */
  readonly port: number;
  /** Lower-cased `transport` parameter, or "" when absent. */
  readonly transport: string;
  /** `host[:port]` as written, brackets kept for IPv6 (what ds_select_domain writes into the R-URI). */
  readonly hostport: string;
}

const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const USER_RE = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+$/;
const TRANSPORTS = new Set(["udp", "tcp", "tls", "sctp", "ws", "wss"]);

/** True for an IPv4 dotted quad. */
export function isIpv4(s: string): boolean {
  return IPV4_RE.test(s);
}

/** True for an IPv6 literal (without brackets); a loose check: hex groups, colons, optional v4 tail. */
export function isIpv6(s: string): boolean {
  if (!s.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(s)) return false;
  const dbl = s.split("::").length - 1;
  if (dbl > 1) return false;
  const groups = s.split(":").filter((g) => g !== "");
  return groups.length <= 8 && groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g) || isIpv4(g));
}

/**
 * Parses a sip:/sips: URI. Returns the parts or a reason string when the text is not a usable
 * SIP URI. URI headers (`?...`) are accepted and ignored.
 *
 * @example parseSipUri("sip:10.0.0.1:5080;transport=tcp") // { host: "10.0.0.1", port: 5080, transport: "tcp", ... }
 */
export function parseSipUri(text: string): DestUri | string {
  const t = text.trim();
  const colon = t.indexOf(":");
  if (colon < 0) return "missing scheme (sip: or sips:)";
  const scheme = t.slice(0, colon).toLowerCase();
  if (scheme !== "sip" && scheme !== "sips") return `unsupported scheme '${t.slice(0, colon)}'`;
  let rest = t.slice(colon + 1);
  const q = rest.indexOf("?");
  if (q >= 0) rest = rest.slice(0, q);
  let user = "";
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const pw = user.indexOf(":");
    const u = pw >= 0 ? user.slice(0, pw) : user;
    if (u === "" || !USER_RE.test(u)) return `bad user part '${user}'`;
    user = u;
  }
  const semi = rest.indexOf(";");
  const hp = semi >= 0 ? rest.slice(0, semi) : rest;
  const params = semi >= 0 ? rest.slice(semi + 1) : "";
  let host: string;
  let portText = "";
  let ipv6 = false;
  if (hp.startsWith("[")) {
    const close = hp.indexOf("]");
    if (close < 0) return "unterminated IPv6 reference";
    host = hp.slice(1, close);
    if (!isIpv6(host)) return `bad IPv6 address '${host}'`;
    ipv6 = true;
    const after = hp.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) return `bad text after IPv6 reference '${after}'`;
      portText = after.slice(1);
    }
  } else {
    const pc = hp.lastIndexOf(":");
    host = pc >= 0 ? hp.slice(0, pc) : hp;
    portText = pc >= 0 ? hp.slice(pc + 1) : "";
    if (host === "") return "missing host";
    if (!HOST_RE.test(host) && !isIpv4(host)) return `bad host '${host}'`;
  }
  let port = 0;
  if (portText !== "" || hp.endsWith(":")) {
    if (!/^\d{1,5}$/.test(portText)) return `bad port '${portText}'`;
    port = Number(portText);
    if (port < 1 || port > 65535) return `port ${port} out of range`;
  }
  let transport = "";
  if (params !== "") {
    for (const p of params.split(";")) {
      if (p === "") continue;
      const eq = p.indexOf("=");
      const name = (eq >= 0 ? p.slice(0, eq) : p).trim().toLowerCase();
      if (name === "transport") {
        transport = (eq >= 0 ? p.slice(eq + 1) : "").trim().toLowerCase();
        if (!TRANSPORTS.has(transport)) return `unknown transport '${transport}'`;
      }
    }
  }
  const hostport = (ipv6 ? `[${host}]` : host) + (portText !== "" ? `:${portText}` : "");
  return { scheme, user, host, ipv6, portText, port, transport, hostport };
}

/**
 * Default transport of a destination when its URI has no `transport` parameter: udp for sip:,
 * tls for sips: (RFC 3261 §18.1.1 / §26.2.2). Used by isFromList's protocol check.
 */
export function effectiveTransport(u: DestUri): string {
  if (u.transport !== "") return u.transport;
  return u.scheme === "sips" ? "tls" : "udp";
}

/** Strips a name-addr down to its URI: `"Bob" <sip:b@x>;tag=1` → `sip:b@x`. */
export function uriOfNameAddr(v: string): string {
  const lt = v.indexOf("<");
  if (lt >= 0) {
    const gt = v.indexOf(">", lt);
    return (gt >= 0 ? v.slice(lt + 1, gt) : v.slice(lt + 1)).trim();
  }
  const semi = v.indexOf(";");
  return (semi >= 0 ? v.slice(0, semi) : v).trim();
}
