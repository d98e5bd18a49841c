import { isIP } from "node:net";
import type { TransportProto } from "../../../lib/sip/types.js";

/**
 * A local socket Olelo listens on (Kamailio's `listen=proto:addr:port [advertise host:port] [name n]`).
 * `advertise` is what goes into Via/Record-Route for servers behind 1:1 NAT.
 */
export interface ListenSpec {
  proto: TransportProto;
  address: string;
  port: number;
  advertise?: { host: string; port: number } | null;
  name?: string | null;
  /** TLS/WSS settings are handled by the TLS/WS transports. */
  tls?: Record<string, unknown> | null;
  /** WS/WSS listener settings (origins, ping, size limit), validated by transport/gateway-config.ts. */
  ws?: Record<string, unknown> | null;
}

export class ListenSocket {
  readonly family: 4 | 6;
  /** `proto:address:port` (IPv6 in brackets), Kamailio's socket string. */
  readonly id: string;
  /** host for Via / Record-Route (advertised or bound). */
  readonly sigHost: string;
  readonly sigPort: number;
  /** Port actually bound (differs from spec.port when spec.port is 0). */
  boundPort: number;
  /** This worker's egress port (workers > 1): named in the Via of requests sent from this socket. */
  egressPort: number | null = null;

  constructor(
    readonly proto: TransportProto,
    readonly address: string,
    port: number,
    readonly advertise: { host: string; port: number } | null = null,
    readonly name: string | null = null,
  ) {
    this.family = isIP(address) === 6 ? 6 : 4;
    this.boundPort = port;
    this.id = formatSocket(proto, address, port);
    this.sigHost = advertise?.host ?? address;
    this.sigPort = advertise?.port ?? port;
  }

  /** Host:port for Via/Record-Route after binding (port 0 resolved). */
  get viaHost(): string {
    const h = this.advertise?.host ?? this.address;
    return h.indexOf(":") >= 0 ? `[${h}]` : h;
  }

  get viaPort(): number {
    return this.advertise?.port ?? this.boundPort;
  }

  private _viaPrefix: string | null = null;

  /** "Via: SIP/2.0/UDP host:port;branch=" for this socket, built once. */
  get viaPrefix(): string {
    if (this._viaPrefix === null) {
      const proto = this.proto === "wss" ? "WSS" : this.proto.toUpperCase();
      this._viaPrefix = `Via: SIP/2.0/${proto} ${this.viaHost}:${this.egressPort ?? this.viaPort};branch=`;
    }
    return this._viaPrefix;
  }

  get socketString(): string {
    return formatSocket(this.proto, this.address, this.boundPort);
  }
}

export function formatSocket(proto: string, address: string, port: number): string {
  return `${proto}:${address.indexOf(":") >= 0 ? `[${address}]` : address}:${port}`;
}

const PROTOS = new Set(["udp", "tcp", "tls", "ws", "wss", "sctp"]);

/**
 * Parses `proto:address:port` (`udp:127.0.0.1:5060`, `tcp:[::1]:5060`); proto defaults to udp,
 * port to 5060 (5061 for tls, 80/443 are NOT implied for ws: give it).
 */
export function parseSocketString(s: string): { proto: TransportProto; address: string; port: number } | null {
  let rest = s.trim();
  let proto: TransportProto = "udp";
  const m = /^([a-z]+):(.*)$/i.exec(rest);
  if (m && PROTOS.has(m[1]!.toLowerCase())) {
    proto = m[1]!.toLowerCase() as TransportProto;
    rest = m[2]!;
  }
  let address: string;
  let port: number | null = null;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) return null;
    address = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after.startsWith(":")) port = Number(after.slice(1));
    else if (after !== "") return null;
  } else {
    const parts = rest.split(":");
    if (parts.length === 1) address = parts[0]!;
    else if (parts.length === 2) {
      address = parts[0]!;
      port = Number(parts[1]);
    } else {
      address = rest; // bare IPv6 without port
    }
  }
  if (port === null) port = proto === "tls" ? 5061 : 5060;
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  if (!address) return null;
  return { proto, address, port };
}
