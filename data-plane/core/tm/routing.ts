import { isIP } from "node:net";
import type { SipUri, TransportProto } from "../../../lib/sip/types.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import { parseUri } from "../../../lib/sip/uri.js";

/** Where a URI says to send a request: transport, host, port (RFC 3263 §4 without DNS). */
export interface NextHop {
  proto: TransportProto;
  host: string;
  port: number;
  /** 4 or 6 when host is an IP literal, 0 when it needs DNS. */
  family: 0 | 4 | 6;
  /** Port was explicit in the URI (no SRV lookup then). */
  explicitPort: boolean;
  /** Transport was explicit (`;transport=` or sips). */
  explicitProto: boolean;
  uri: SipUri;
}

/** Resolves the next hop of a SIP/SIPS URI; null when the URI is not a SIP URI. */
export function nextHopOf(uriText: string): NextHop | null {
  const u = parseUri(uriText);
  if (!u || u.scheme === "tel") return null;
  // maddr overrides the host (RFC 3261 §19.1.1)
  const maddr = u.params.get("maddr");
  const host = maddr && maddr.length ? maddr.replace(/^\[|\]$/g, "").toLowerCase() : u.host;
  const t = u.params.get("transport")?.toLowerCase();
  let proto: TransportProto = "udp";
  if (u.scheme === "sips") proto = t === "ws" || t === "wss" ? "wss" : "tls";
  else if (t === "tcp" || t === "tls" || t === "ws" || t === "wss" || t === "sctp" || t === "udp") proto = t;
  const fam = isIP(host);
  const port = u.port ?? (proto === "tls" ? 5061 : proto === "ws" ? 80 : proto === "wss" ? 443 : 5060);
  return {
    proto,
    host,
    port,
    family: fam === 4 ? 4 : fam === 6 ? 6 : 0,
    explicitPort: u.port !== null,
    explicitProto: t !== undefined || u.scheme === "sips",
    uri: u,
  };
}

/**
 * Record-Route URI for one of our sockets (RFC 3261 §16.6 step 4): `<sip:host:port;transport=x;lr>`.
 * UDP gets no transport parameter unless `forceTransport`. `user` is a flow token (RFC 5626) naming
 * the connection of a WebSocket peer on that side, or null.
 */
export function recordRouteValue(sock: ListenSocket, params: string, forceTransport: boolean, user: string | null = null): string {
  const scheme = sock.proto === "tls" || sock.proto === "wss" ? "sips" : "sip";
  let t = "";
  if (sock.proto !== "udp" || forceTransport) {
    if (sock.proto === "tls") t = scheme === "sips" ? "" : ";transport=tls";
    else if (sock.proto === "wss") t = ";transport=ws";
    else t = `;transport=${sock.proto}`;
  }
  return `<${scheme}:${user ? `${user}@` : ""}${sock.viaHost}:${sock.viaPort}${t};lr${params}>`;
}
