/**
 * usrloc's typed API, the only file of usrloc other modules may import (Kamailio's
 * load_ul_api): the `UsrlocApi` a module gets from `host.modules` after declaring
 * `requires: ["usrloc"]`, the binding and location-table types it hands out, and the pure binding
 * helpers (methods mask, q values, contact matching) registrar and nathelper apply to them.
 */
import type { LocationTable } from "./location-table.js";
import type { UsrlocParams } from "./params.js";

/**
 * What other modules (registrar, nathelper) and routing scripts get from usrloc: the location
 * tables and the AoR rules. Changes made through a table are written to storage and published
 * as `registration.*` events by the module.
 */
export interface UsrlocApi {
  readonly params: UsrlocParams;
  /** The named table, created on first use (Kamailio registers one udomain per table name). */
  table(name: string): LocationTable;
  /** An existing table, or undefined. */
  existing(name: string): LocationTable | undefined;
  tables(): LocationTable[];
  /** AoR of an RPC argument (rpc_fix_aor), or null when a domain is required but missing. */
  normalizeAor(aor: string): string | null;
  /** Branch-flag mask of NATed contacts (nat_bflag), 0 when unset. */
  readonly natMask: number;
  /** Resolves once the tables are loaded from storage. */
  ready(): Promise<void>;
  /** Writes pending changes now. */
  flush(): Promise<void>;
}

export { Binding, ALL_METHODS, Q_UNSPECIFIED, ContactFlag, METHOD_BITS, methodBit, parseMethods, allowsMethod, formatQ, parseQ, sameInstance } from "./binding.js";
export type { BindingInfo } from "./binding.js";
export { LocationTable, nowSeconds } from "./location-table.js";
export type { ChangeKind, ChangeOrigin } from "./location-table.js";
export { MatchCode, matchContact } from "./match-contact.js";
export type { MatchQuery, MatchResult } from "./match-contact.js";
export { parseUsrlocParams } from "./params.js";
export type { UsrlocParams } from "./params.js";
