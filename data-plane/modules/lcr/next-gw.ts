import type { LcrGw } from "../../../tables/lcr/table.js";

/**
 * The Request-URI and destination URI next_gw builds for one gateway (Kamailio lcr_mod.c
 * generate_uris):
 * - the user is the original R-URI user with `strip` leading characters removed and the
 *   gateway `prefix` put in front (neither when dont_strip_or_prefix applies);
 * - hostname only → R-URI host is the hostname; ip_addr only → the address; each followed by
 *   :port, the transport parameter and the gateway params;
 * - hostname and ip_addr → R-URI host is the hostname (with the params), and $du is
 *   scheme + address + :port + transport.
 *
 * @example
 *   buildGwUris(gw, "004930123", false); // { ruri: "sip:4930123@10.0.0.1:5060;transport=udp", dst: null }
 */
export interface GwUris {
  readonly ruri: string;
  /** $du, or null when the gateway needs none. */
  readonly dst: string | null;
}

/** Builds the URIs; returns null when the strip count is longer than the user. */
export function buildGwUris(gw: LcrGw, user: string, dontStripOrPrefix: boolean): GwUris | null {
  const strip = dontStripOrPrefix ? 0 : gw.strip;
  const prefix = dontStripOrPrefix ? "" : gw.prefix;
  if (strip > user.length) return null;
  const u = prefix + user.slice(strip);
  const userPart = u === "" ? "" : `${u}@`;
  const addr = gw.ipAddr === null ? null : gw.ipv6 ? `[${gw.ipAddr}]` : gw.ipAddr;
  const port = gw.port > 0 ? `:${gw.port}` : "";
  if (addr !== null && gw.hostname !== null) {
    return {
      ruri: `${gw.scheme}${userPart}${gw.hostname}${gw.params}`,
      dst: `${gw.scheme}${addr}${port}${gw.transport}`,
    };
  }
  const host = addr ?? gw.hostname!;
  return { ruri: `${gw.scheme}${userPart}${host}${port}${gw.transport}${gw.params}`, dst: null };
}
