/**
 * Parsed forms of the SIP syntax elements the core and modules work with (RFC 3261 §25).
 * Values are plain objects built on demand from the raw message; the raw text stays the source
 * of truth, so unknown parameters and headers pass through byte-exact.
 */

/** sip:, sips: or tel: URI (RFC 3261 §19.1, RFC 3966). */
export interface SipUri {
  readonly scheme: "sip" | "sips" | "tel";
  /** User part, still %-escaped as on the wire (for tel: the number). Null when absent. */
  readonly user: string | null;
  readonly password: string | null;
  /** Host without IPv6 brackets, lower-cased. Empty for tel: URIs. */
  readonly host: string;
  /** True when the host is an IPv6 reference (`[2001:db8::1]`). */
  readonly ipv6: boolean;
  /** Explicit port, or null. */
  readonly port: number | null;
  /** URI parameters, names lower-cased, in order; a parameter without value maps to "". */
  readonly params: ReadonlyMap<string, string>;
  /** Raw `?headers` part without the `?`, or null. */
  readonly headers: string | null;
  /** The text the URI was parsed from. */
  readonly raw: string;
}

/** name-addr / addr-spec with header parameters (From, To, Contact, Route, Record-Route). */
export interface NameAddr {
  /** Display name without quotes (unescaped), or null. */
  readonly displayName: string | null;
  /** The URI text as written (inside <> when present). */
  readonly uriText: string;
  /** Parsed URI, or null when the URI text is not a valid SIP/SIPS/TEL URI (e.g. another scheme). */
  readonly uri: SipUri | null;
  /** Header parameters after the URI (tag, q, expires, lr ...), names lower-cased. */
  readonly params: ReadonlyMap<string, string>;
  readonly tag: string | null;
  /** Whether the address was written in angle brackets. */
  readonly angle: boolean;
  /** The whole value as written. */
  readonly raw: string;
}

/** One Via value (RFC 3261 §20.42, RFC 3581). */
export interface Via {
  /** "SIP/2.0" protocol name/version. */
  readonly protocol: string;
  /** Transport, upper-cased: UDP, TCP, TLS, SCTP, WS, WSS. */
  readonly transport: string;
  readonly host: string;
  readonly ipv6: boolean;
  readonly port: number | null;
  readonly branch: string | null;
  readonly received: string | null;
  /** null = no rport param; "" = rport without value; otherwise the value. */
  readonly rport: string | null;
  readonly params: ReadonlyMap<string, string>;
  readonly raw: string;
}

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** A transport a message came in on or goes out through. */
export type TransportProto = "udp" | "tcp" | "tls" | "ws" | "wss" | "sctp";

/** Where a message came from / goes to. */
export interface Endpoint {
  readonly proto: TransportProto;
  readonly address: string;
  readonly port: number;
}
