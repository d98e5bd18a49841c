/** Messages between the primary (primary.ts) and its worker threads (worker-main.ts). */
import type { DataPlaneConfig } from "../core/config-file.js";
import type { RpcParam } from "../../lib/rpc/registry.js";
import type { TableSet } from "../core/tables/registry.js";
import type { TableRow } from "../../tables/rows.js";
import type { ReceivedDelta } from "../../tables/wire/delta-chunks.js";

/** The error code of a worker that cannot apply a delta (it does not run the delta's base). */
export const NEEDS_FULL = -32010;

/** Rows per `rows` message (about 10–30 ms of structured-clone decoding in the worker). */
export const ROWS_PER_MESSAGE = 10_000;

export interface WorkerData {
  readonly index: number;
  readonly count: number;
  readonly config: DataPlaneConfig;
  /** The node's shared memory (pike counts, ...), the same for every worker and its restarts. */
  readonly arena: SharedArrayBuffer;
  /** Control-plane mode: the primary runs the one sync client and sends every version ("tables"). */
  readonly tablesFromPrimary: boolean;
}

export type ToWorker =
  | { t: "rpc"; id: number; name: string; params: unknown }
  | { t: "metrics"; id: number }
  /**
   * A table version from the primary's sync client (control-plane mode): load it, answer when
   * applied. A full version carries its rows; a delta only its upserted rows (`set`) and the delta
   * as received, which the worker applies to the version it runs (answer `NEEDS_FULL` when it does
   * not run the base: the primary then sends the full set).
   */
  | { t: "tables"; id: number; kind: string; version: string; source: string; set: TableSet; delta: { wire: ReceivedDelta; baseDigest: string } | null; chunked?: boolean }
  /**
   * Rows of a full version sent ahead of its `tables` message (which then says `chunked`), in
   * slices of ROWS_PER_MESSAGE, the next only once the worker answered the last: a worker never
   * spends seconds decoding one 1M-row message (or a queue of slices, which a MessagePort drains
   * in one go) while its SIP traffic waits.
   */
  | { t: "rows"; id: number; kind: string; version: string; table: string; rows: TableRow[] }
  /**
   * A version the primary compiled into shared memory (shared-kinds.ts): `compiled` is the kind's
   * posted form (its SharedArrayBuffers are shared, not copied); the worker attaches and applies
   * it without compiling. `fold`: the same version with its delta overlay folded into a new tree.
   */
  | { t: "shared"; id: number; kind: string; version: string; source: string; compiled: unknown; rows: number; fold?: boolean }
  /** The health counters of a StatsReport (summed by the primary). */
  | { t: "health"; id: number }
  | { t: "bcast"; ch: string; msg: unknown; from: number }
  /** A NodeShared.sendTo message of worker `from`; from -1: one this worker sent that could not be delivered. */
  | { t: "to"; ch: string; msg: unknown; from: number }
  | { t: "stop" };

export interface MethodInfo {
  name: string;
  doc: string;
  params: readonly RpcParam[];
  returns?: string;
}

export type FromWorker =
  | { t: "ready"; methods: MethodInfo[]; kinds: string[]; options: Record<string, unknown>; sockets: { socket: string; egressPort: number | null }[] }
  | { t: "failed"; error: string }
  | { t: "res"; id: number; ok: true; result: unknown }
  | { t: "res"; id: number; ok: false; error: { code: number; message: string; data?: unknown } }
  | { t: "bcast"; ch: string; msg: unknown }
  /** To one worker (NodeShared.sendTo). */
  | { t: "to"; to: number; ch: string; msg: unknown; undeliverable?: true }
  | { t: "event"; kind: string; data: Record<string, unknown> };
