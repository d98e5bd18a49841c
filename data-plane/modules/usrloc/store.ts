import type { Binding, BindingInfo } from "./binding.js";
import type { ChangeKind } from "./location-table.js";

/** A binding read back from storage, with the AoR it belongs to. */
export interface StoredBinding {
  readonly aor: string;
  readonly info: BindingInfo;
}

/**
 * Persistent storage behind the in-memory location tables (Kamailio usrloc db_mode 1/2 with
 * MySQL, or Olelo's shared Redis store). The tables stay the source for lookups; a store is told
 * about every change and loads the tables at start.
 */
export interface LocationStore {
  /** "mysql" or "redis". */
  readonly kind: string;
  /** Unexpired bindings of a table (at start, and for a table first used later). */
  load(table: string): Promise<StoredBinding[]>;
  /** A binding changed in memory; the store writes it now (write-through) or later (write-back). */
  changed(table: string, kind: ChangeKind, b: Binding): void;
  /** Writes everything pending (ul.flush, shutdown). */
  flush(): Promise<void>;
  /** Flushes and releases connections. */
  close(): Promise<void>;
  /** Counters for the usrloc RPCs: writes done, failures, pending. */
  status(): StoreStatus;
}

/** Write counters of a store. */
export interface StoreStatus {
  kind: string;
  writes: number;
  errors: number;
  pending: number;
  lastError: string | null;
}

/** A plain SQL/Redis-safe table name (the script and RPCs name tables). */
export const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
