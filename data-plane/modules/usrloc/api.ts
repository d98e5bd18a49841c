/**
 * usrloc's typed API, the only file of usrloc other modules may import (Kamailio's
 * load_ul_api): the `UsrlocApi` a module gets from `host.modules` after declaring
 * `requires: ["usrloc"]`, the binding and location-table types it hands out, and the pure binding
 * helpers (methods mask, q values, contact matching) registrar and nathelper apply to them.
 */
import type { Binding } from "./binding.js";
import type { ChangeKind, LocationTable } from "./location-table.js";
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
  /**
   * Calls `fn` synchronously after every binding change of any table (registrar save, RPC,
   * expiry timer, and — flagged `replicated` — copies from the shared store / another node).
   * Kamailio's `register_ulcb`. Returns the unsubscribe function. A throwing listener is logged.
   */
  onChange(fn: (change: UsrlocChange) => void): () => void;
}

/** One binding change as `onChange` listeners see it (the binding is live: copy what you keep). */
export interface UsrlocChange {
  readonly table: string;
  readonly kind: ChangeKind;
  readonly binding: Binding;
  /** `proto:ip:port` of the REGISTER, "rpc", "timer", "keepalive", "script" or "store". */
  readonly source: string;
  /** A copy of another node's / the store's change (fleet), not made here. */
  readonly replicated: boolean;
}

export { Binding, ALL_METHODS, Q_UNSPECIFIED, ContactFlag, METHOD_BITS, methodBit, parseMethods, allowsMethod, formatQ, parseQ, sameInstance } from "./binding.js";
export type { BindingInfo } from "./binding.js";
export { LocationTable, nowSeconds } from "./location-table.js";
export type { ChangeKind, ChangeOrigin } from "./location-table.js";
export { MatchCode, matchContact } from "./match-contact.js";
export type { MatchQuery, MatchResult } from "./match-contact.js";
export { parseUsrlocParams } from "./params.js";
export type { UsrlocParams } from "./params.js";
