/**
 * What the workers of one node share (data-plane/core/workers/README.md). Modules get it as
 * `host.node`; with `workers: 1` it is a single-worker instance (index 0, count 1, broadcast sends
 * nothing), so a module uses the same code either way.
 *
 * @example
 *   const sab = host.node.sharedInt32("pike", WindowCounters.cells(1 << 16)); // same bytes in every worker
 *   host.node.on("htable", (m) => apply(m));   // changes made by the other workers
 *   host.node.broadcast("htable", { op: "set", key, value });
 */
export interface NodeShared {
  /** This worker's index, 0..count-1 (0 also in single-process mode). */
  readonly index: number;
  /** Number of workers of the node. */
  readonly count: number;
  /**
   * Shared memory by name: the same Int32 cells in every worker and across a worker's restart
   * (zero at node start). Calls must come in the same order in every worker (module init order).
   */
  sharedInt32(name: string, length: number): Int32Array;
  /** Sends `msg` (structured-cloneable) to the `channel` handlers of every other worker. */
  broadcast(channel: string, msg: unknown): void;
  /**
   * Sends `msg` to the `channel` handlers of worker `to` alone (through the primary). When that
   * worker is not running, the message comes back to this worker's own `channel` handlers with
   * `from` = -1 (undeliverable), so the sender can fail what it asked for.
   */
  sendTo(to: number, channel: string, msg: unknown): void;
  /** Handles broadcasts (and sendTo messages) of the other workers on `channel`; returns the removal. */
  on(channel: string, fn: (msg: unknown, from: number) => void): () => void;
}

/** Bump allocator over the node's SharedArrayBuffer arena, by name (the same order gives the same offsets). */
export class SharedArena {
  private next = 0;
  private readonly given = new Map<string, Int32Array>();

  /** `arena` null: each allocation gets its own buffer (one worker). */
  constructor(private readonly arena: SharedArrayBuffer | null) {}

  int32(name: string, length: number): Int32Array {
    const had = this.given.get(name);
    if (had) {
      if (had.length < length) throw new Error(`shared memory '${name}' asked with ${length} cells, has ${had.length}`);
      return had;
    }
    let v: Int32Array;
    if (this.arena === null) v = new Int32Array(new SharedArrayBuffer(length * 4));
    else {
      const off = this.next;
      if (off + length * 4 > this.arena.byteLength) throw new Error(`shared memory '${name}' (${length * 4} bytes) does not fit the node arena (${this.arena.byteLength} bytes)`);
      v = new Int32Array(this.arena, off, length);
      this.next = (off + length * 4 + 63) & ~63;
    }
    this.given.set(name, v);
    return v;
  }
}

/** Worker 0 of 1: shared memory is private, broadcasts go nowhere. */
export function singleNode(): NodeShared {
  const arena = new SharedArena(null);
  return {
    index: 0,
    count: 1,
    sharedInt32: (name, length) => arena.int32(name, length),
    broadcast: () => {},
    sendTo: () => {},
    on: () => () => {},
  };
}
