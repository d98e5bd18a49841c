import type { ListenSpec } from "./transport/listen-socket.js";

/**
 * Core settings (Kamailio's core + tm + rr + sl parameters). Times in milliseconds.
 * Defaults follow Kamailio's where Olelo mirrors a Kamailio parameter.
 */
export interface CoreConfig {
  /** Node name shown in events and RPCs. */
  node: string;
  listen: ListenSpec[];
  /** Extra host names / addresses that count as "myself" (Kamailio `alias=`). */
  aliases: string[];
  /** Send replies to the source port even without `;rport` (force_rport). */
  forceRport: boolean;
  tm: {
    t1: number;
    t2: number;
    t4: number;
    /** fr_timer: final-response timer before any provisional (and for non-INVITE). */
    frTimer: number;
    /** fr_inv_timer: INVITE final-response timer after a provisional. */
    frInvTimer: number;
    /** wt_timer: how long a completed transaction is kept to absorb retransmissions. */
    wtTimer: number;
    /** auto_inv_100 */
    autoInv100: boolean;
    /** remap_503_500: never relay a 503 upstream. */
    remap503: boolean;
    /** Maximum transactions in memory; new ones beyond it get 503. */
    maxTransactions: number;
  };
  rr: {
    /** enable_double_rr: two Record-Routes when in/out socket or transport differ. */
    doubleRr: boolean;
    /** append_fromtag: add ;ftag= to Record-Route. */
    appendFromTag: boolean;
  };
  maxfwd: {
    /** Max-Forwards set when absent and the script did not process it. */
    default: number;
  };
  limits: {
    maxMessageSize: number;
    maxHeaders: number;
    maxLineLength: number;
  };
  tcp: {
    idleTimeoutMs: number;
    maxConnections: number;
    connectTimeoutMs: number;
    /** Accepted stream connections per source address (0: no limit). */
    maxConnectionsPerSource: number;
    /** Close an accepted connection with no complete message within this many ms (0: never). */
    firstMessageTimeoutMs: number;
  };
  /** Server header / User-Agent for local replies and requests. */
  serverHeader: string | null;
}

export const DEFAULT_CORE_CONFIG: CoreConfig = {
  node: "olelo",
  listen: [
    { proto: "udp", address: "127.0.0.1", port: 5060 },
    { proto: "tcp", address: "127.0.0.1", port: 5060 },
    { proto: "udp", address: "::1", port: 5060 },
    { proto: "tcp", address: "::1", port: 5060 },
  ],
  aliases: [],
  forceRport: true,
  tm: {
    t1: 500,
    t2: 4000,
    t4: 5000,
    frTimer: 30_000,
    frInvTimer: 120_000,
    wtTimer: 5000,
    autoInv100: true,
    remap503: true,
    maxTransactions: 200_000,
  },
  rr: { doubleRr: true, appendFromTag: false },
  maxfwd: { default: 70 },
  limits: { maxMessageSize: 65535, maxHeaders: 256, maxLineLength: 16384 },
  tcp: { idleTimeoutMs: 600_000, maxConnections: 4096, connectTimeoutMs: 10_000, maxConnectionsPerSource: 64, firstMessageTimeoutMs: 10_000 },
  serverHeader: "Olelo",
};
