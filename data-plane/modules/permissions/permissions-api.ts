import type { RequestContext } from "../../core/api.js";
import { AddressTable, type AddressEntry } from "../../../tables/permissions/address-table.js";
import { TrustedTable, type TrustedEntry } from "../../../tables/permissions/trusted-table.js";

/** Live, swappable state of the permissions module (one reference per table kind). */
export class PermissionsState {
  address: AddressTable = AddressTable.empty();
  trusted: TrustedTable = TrustedTable.empty();
  addressVersion: string | null = null;
  trustedVersion: string | null = null;
}

/** Options fixed at init. */
export interface PermissionsApiOptions {
  readonly peerTagVar: string;
  readonly trustedGroups: readonly number[];
  /** Receives `allowed` / `denied` counts (the module's stats group). */
  readonly stats?: { inc(name: string): void };
}

/**
 * The permissions script API (Kamailio permissions module). Functions that look at the request take
 * its context first; a matched row's tag is stored in `req.vars` under `peer_tag_var`
 * ("permissions:tag" by default), like Kamailio's peer_tag_avp.
 *
 * @example
 *   if (permissions.allowSourceAddress(req)) { // group 1, $si:$sp
 *     req.log.info("trusted peer", { tag: req.vars.get("permissions:tag") });
 *   }
 */
export interface PermissionsApi {
  /** [allow_source_address(grp)] source IP/port in address group `grp` (default 1). */
  allowSourceAddress(req: RequestContext, grp?: number): boolean;
  /** [allow_address(grp, ip, port)] */
  allowAddress(req: RequestContext, grp: number, ip: string, port: number): boolean;
  /** [allow_source_address_group()] group of the source address, or -1. */
  allowSourceAddressGroup(req: RequestContext): number;
  /** [allow_address_group(ip, port)] group of the address, or -1. */
  allowAddressGroup(req: RequestContext, ip: string, port: number): number;
  /**
   * [allow_trusted([src, proto[, furi]])] the source (or `src`/`proto`) is in the trusted table with
   * patterns matching the From URI and the Request-URI.
   */
  allowTrusted(req: RequestContext, src?: string, proto?: string, fromUri?: string): boolean;
  /** Pure lookup: most specific `address` row for ip/port (grp null = any group). */
  matchAddress(grp: number | null, ip: string, port: number): AddressEntry | null;
  /** Pure lookup in the `trusted` table. */
  matchTrusted(ip: string, proto: string, fromUri: string | null, ruri: string | null): TrustedEntry | null;
  /**
   * Pre-parse helper: whether `ip` (and `port`, when known) belongs to one of `trusted_groups` in
   * the address table, or has a trusted row without URI patterns. Trusted peers are exempt from
   * flood checks and authentication in the default script.
   */
  isTrusted(ip: string, port?: number): boolean;
}

/** Builds the API over the live state. */
export function createPermissionsApi(state: PermissionsState, opts: PermissionsApiOptions): PermissionsApi {
  const tagVar = opts.peerTagVar;
  const groups = opts.trustedGroups;

  const setTag = (req: RequestContext, tag: string | null): void => {
    if (tag !== null) req.vars.set(tagVar, tag);
  };
  const stats = opts.stats;
  const count = (ok: boolean): boolean => {
    stats?.inc(ok ? "allowed" : "denied");
    return ok;
  };

  return {
    allowSourceAddress(req, grp = 1) {
      const e = state.address.match(grp, req.source.address, req.source.port);
      if (e) setTag(req, e.tag);
      return count(e !== null);
    },
    allowAddress(req, grp, ip, port) {
      const e = state.address.match(grp, ip, port);
      if (e) setTag(req, e.tag);
      return count(e !== null);
    },
    allowSourceAddressGroup(req) {
      const e = state.address.match(null, req.source.address, req.source.port);
      if (e) setTag(req, e.tag);
      count(e !== null);
      return e ? e.grp : -1;
    },
    allowAddressGroup(req, ip, port) {
      const e = state.address.match(null, ip, port);
      if (e) setTag(req, e.tag);
      count(e !== null);
      return e ? e.grp : -1;
    },
    allowTrusted(req, src, proto, fromUri) {
      const ip = src ?? req.source.address;
      const p = proto ?? (src === undefined ? req.source.proto : "any");
      let furi: string | null = fromUri ?? null;
      if (furi === null) {
        try {
          furi = req.msg.from.uriText;
        } catch {
          furi = null;
        }
      }
      const e = state.trusted.match(ip, p, furi, req.msg.requestUri);
      if (e) setTag(req, e.tag);
      return count(e !== null);
    },
    matchAddress(grp, ip, port) {
      return state.address.match(grp, ip, port);
    },
    matchTrusted(ip, proto, fromUri, ruri) {
      return state.trusted.match(ip, proto, fromUri, ruri);
    },
    isTrusted(ip, port) {
      const p = port ?? -1; // without a port only rows with port 0 (any) count
      for (let i = 0; i < groups.length; i++) {
        if (state.address.match(groups[i]!, ip, p) !== null) return true;
      }
      return state.trusted.hasUnconditional(ip);
    },
  };
}
