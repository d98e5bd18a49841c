import type { LcrGw, LcrInstance } from "../../../tables/lcr/table.js";
import { expandIp } from "../../core/kit/index.js";

/**
 * from_gw / to_gw matching (Kamailio lcr_mod.c do_from_gw / do_to_gw): is an address one of the
 * instance's gateways? Instances with a gateway that has no ip_addr are never matched (Kamailio
 * refuses them because hostnames are not resolved).
 *
 * Protocol numbers: 0 any, 1 udp, 2 tcp, 3 tls, 4 sctp. A gateway whose transport is NULL/0
 * and one whose port is NULL/0 accept any protocol and any port (see README: Kamailio compares
 * them literally, so such gateways never pass from_gw(lcr_id) there).
 */

/** Kamailio's protocol numbers by transport name (ws/wss have none in lcr_gw). */
export function protoNumber(proto: string | null | undefined): number {
  switch ((proto ?? "").toLowerCase()) {
    case "udp":
      return 1;
    case "tcp":
      return 2;
    case "tls":
      return 3;
    case "sctp":
      return 4;
    case "ws":
      return 5;
    case "wss":
      return 6;
    default:
      return 0;
  }
}

/**
 * The gateway the address belongs to, or null. `port` 0 means "do not compare ports"
 * (from_gw with ip and proto but without src_port); `proto` 0 means any protocol.
 */
export function findGwByAddress(inst: LcrInstance, ip: string, proto: number, port: number): LcrGw | null {
  if (inst.hasGwWithoutIp) return null;
  const canon = expandIp(ip);
  if (canon === null) return null;
  const list = inst.byIp.get(canon);
  if (list === undefined) return null;
  for (const gw of list) {
    if (port !== 0 && gw.port !== 0 && gw.port !== port) continue;
    if (proto !== 0 && gw.transportCode !== 0 && gw.transportCode !== proto) continue;
    return gw;
  }
  return null;
}
