/**
 * The nathelper module's configuration section, with Kamailio's parameter names.
 *
 * @example
 *   nathelper: { natping_interval: 30, ping_nated_only: 1, sipping_bflag: 7, keepalive_timeout: 120 }
 */
export interface NathelperParams {
  /** Seconds between keep-alive rounds; 0 = no keep-alives. */
  readonly natping_interval: number;
  /** Ping only contacts with usrloc's nat_bflag in their cflags. */
  readonly ping_nated_only: boolean;
  /** Branch flag selecting SIP pings (OPTIONS) instead of raw keep-alives; -1 = none. */
  readonly sipping_bflag: number;
  /** From URI of SIP pings. */
  readonly sipping_from: string;
  /** Method of SIP pings. */
  readonly sipping_method: string;
  /**
   * Seconds without any reply to SIP pings after which a contact is removed (0 = never).
   * Raw keep-alives get no reply, so only SIP-pinged contacts can be dropped.
   */
  readonly keepalive_timeout: number;
  /** Request variable nathelper's fixNatedRegister fills (registrar reads the same name). */
  readonly received_avp: string;
  /** Local socket (`proto:ip:port`) pings are sent from, "" = each binding's own socket. */
  readonly natping_socket: string;
  /** 1 (Kamailio default): 192.0.0.0/24 counts as private too. */
  readonly nat_addr_mode: 0 | 1;
  /** Raw keep-alive over UDP: "zeros" (Kamailio's 4 zero bytes) or "crlf" (RFC 5626 CRLFCRLF). Streams always get CRLFCRLF. */
  readonly udp_keepalive: "zeros" | "crlf";
  /** Location tables whose contacts are pinged. */
  readonly natping_tables: readonly string[];
  /** Final-response timeout of SIP pings in ms (0 = the core's fr_timer). */
  readonly sipping_timeout: number;
}

/** Kamailio's defaults (natping off, OPTIONS pings from sip:pinger@localhost). */
export const DEFAULT_NATHELPER_PARAMS: NathelperParams = Object.freeze({
  natping_interval: 0,
  ping_nated_only: false,
  sipping_bflag: -1,
  sipping_from: "sip:pinger@localhost",
  sipping_method: "OPTIONS",
  keepalive_timeout: 0,
  received_avp: "$avp(RECEIVED)",
  natping_socket: "",
  nat_addr_mode: 1,
  udp_keepalive: "zeros",
  natping_tables: ["location"],
  sipping_timeout: 5000,
});

/** Validates the configuration section; throws naming the bad parameter. */
export function parseNathelperParams(cfg: Readonly<Record<string, unknown>>): NathelperParams {
  const out: Record<string, unknown> = { ...DEFAULT_NATHELPER_PARAMS };
  const int = (k: string, v: unknown, min: number, max: number): number => {
    const n = typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
      throw new Error(`nathelper: parameter ${k} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    }
    return n;
  };
  const str = (k: string, v: unknown): string => {
    if (typeof v !== "string") throw new Error(`nathelper: parameter ${k} must be a string`);
    return v;
  };
  for (const [k, v] of Object.entries(cfg)) {
    switch (k) {
      case "natping_interval":
        out[k] = int(k, v, 0, 86400);
        break;
      case "keepalive_timeout":
        out[k] = int(k, v, 0, 86400 * 7);
        break;
      case "sipping_timeout":
        out[k] = int(k, v, 0, 120_000);
        break;
      case "ping_nated_only":
        out[k] = int(k, v, 0, 1) === 1;
        break;
      case "sipping_bflag":
        out[k] = int(k, v, -1, 31);
        break;
      case "nat_addr_mode":
        out[k] = int(k, v, 0, 1);
        break;
      case "sipping_from": {
        const s = str(k, v);
        if (!/^sips?:/i.test(s)) throw new Error("nathelper: sipping_from must be a SIP URI");
        out[k] = s;
        break;
      }
      case "sipping_method": {
        const s = str(k, v);
        if (!/^[A-Za-z]+$/.test(s)) throw new Error("nathelper: sipping_method must be a method name");
        out[k] = s.toUpperCase();
        break;
      }
      case "received_avp":
      case "natping_socket":
        out[k] = str(k, v);
        break;
      case "udp_keepalive":
        if (v !== "zeros" && v !== "crlf") throw new Error('nathelper: udp_keepalive must be "zeros" or "crlf"');
        out[k] = v;
        break;
      case "natping_tables":
        if (!Array.isArray(v) || v.length === 0 || v.some((t) => typeof t !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(t))) {
          throw new Error("nathelper: natping_tables must be a non-empty array of table names");
        }
        out[k] = v;
        break;
      default:
        throw new Error(`nathelper: unknown parameter '${k}'`);
    }
  }
  return out as unknown as NathelperParams;
}
