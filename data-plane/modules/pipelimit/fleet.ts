import { Redis } from "ioredis";
import type { Logger } from "../../core/api.js";
import type { PipeState } from "./algorithms.js";

/**
 * Fleet-wide counting of pipes through Redis (see README "Fleet counting"). Every node counts
 * locally on the SIP path and never waits for Redis there; every `flushMs` one pipelined round
 * trip adds each active pipe's new messages to the interval's shared counter
 * (`INCRBY <prefix><pipe>:<slot> <delta>`) and reads the fleet total back, from which the node
 * learns how many messages the other nodes pushed (`others`). Slots are wall-clock intervals
 * (floor(now / interval)), so all nodes agree on them. A node's own messages are added exactly
 * once (no double counting): `flushed` tracks what was sent, a failed round trip is re-sent.
 *
 * A round trip that fails or takes longer than `timeoutMs` marks Redis down: the pipes then count
 * this node alone against limit / nodes (the node count last seen through the heartbeat set, or
 * the `fleet_nodes` param) until a round trip succeeds again.
 */
export interface FleetOptions {
  readonly url: string;
  readonly prefix: string;
  readonly nodeId: string;
  readonly flushMs: number;
  readonly intervalMs: number;
  /** Fixed node count for the fallback share (0 = count the nodes through the heartbeat set). */
  readonly fixedNodes: number;
  readonly timeoutMs: number;
  readonly log: Logger;
  readonly onError: () => void;
  /** The current slot (replies of an ended slot do not touch the pipes' new interval). */
  readonly currentSlot: () => number;
}

interface Sent {
  readonly pipe: PipeState;
  readonly delta: number;
  readonly flushedAfter: number;
}

const HEARTBEAT_MS = 1000;
const NODE_TTL_MS = 5000;

export class FleetCounter {
  /** Whether the last round trip succeeded (pipes are counted fleet-wide). */
  up = false;
  /** Nodes sharing the counters (for the fallback share), at least 1. */
  nodes = 1;
  errors = 0;
  private readonly redis: Redis;
  private inflight: { gen: number; since: number } | null = null;
  private gen = 0;
  private lastBeat = 0;
  private closed = false;

  constructor(private readonly o: FleetOptions) {
    this.nodes = o.fixedNodes > 0 ? o.fixedNodes : 1;
    this.redis = new Redis(o.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      retryStrategy: (n) => Math.min(n * 200, 2000),
    });
    this.redis.on("error", () => undefined); // reported by the failing round trips
  }

  /** The shared counter's key of `pipe` in `slot`. */
  key(pipe: string, slot: number): string {
    return `${this.o.prefix}${pipe}:${slot}`;
  }

  /**
   * One flush: adds the new messages of `pipes` (shared algorithms, current `slot`) to Redis and
   * learns the others' counts. Skipped while a round trip is in flight; one that outlived
   * `timeoutMs` is abandoned (its late reply ignored) and Redis counted down.
   */
  flush(pipes: Iterable<PipeState>, slot: number, now: number): void {
    if (this.closed) return;
    if (this.redis.status !== "ready") {
      // not connected (yet): count alone; the client reconnects by itself
      if (this.up) this.markDown("disconnected");
      return;
    }
    if (this.inflight !== null) {
      if (now - this.inflight.since < this.o.timeoutMs) return;
      this.inflight = null;
      this.markDown("timeout");
    }
    const multi = this.redis.pipeline();
    const sent: Sent[] = [];
    const ttl = this.o.intervalMs * 3;
    for (const p of pipes) {
      if (p.counter === 0 && p.others === 0) continue;
      const delta = p.counter - p.flushed;
      multi.incrby(this.key(p.name, slot), delta);
      if (delta > 0) multi.pexpire(this.key(p.name, slot), ttl);
      p.flushed = p.counter;
      sent.push({ pipe: p, delta, flushedAfter: p.counter });
    }
    const beat = this.o.fixedNodes === 0 && now - this.lastBeat >= HEARTBEAT_MS;
    if (beat) {
      this.lastBeat = now;
      const k = `${this.o.prefix}nodes`;
      multi.zadd(k, now, this.o.nodeId);
      multi.zremrangebyscore(k, 0, now - NODE_TTL_MS);
      multi.zcard(k);
      multi.pexpire(k, NODE_TTL_MS * 2);
    }
    if (sent.length === 0 && !beat) return;
    const gen = ++this.gen;
    this.inflight = { gen, since: now };
    multi.exec().then(
      (res) => this.settle(gen, slot, sent, beat, res),
      () => this.fail(gen, slot, sent),
    );
  }

  private settle(gen: number, slot: number, sent: Sent[], beat: boolean, res: Array<[Error | null, unknown]> | null): void {
    if (this.inflight?.gen !== gen) return;
    this.inflight = null;
    if (res === null || res.some(([e]) => e !== null)) return this.fail(-1, slot, sent);
    let i = 0;
    for (const s of sent) {
      const total = Number(res[i]![1]);
      i += s.delta > 0 ? 2 : 1;
      // a reply of an interval that has ended says nothing about the current one
      if (slot === this.o.currentSlot() && Number.isFinite(total)) s.pipe.others = Math.max(0, total - s.flushedAfter);
    }
    if (beat) {
      const n = Number(res[i + 2]?.[1]);
      if (Number.isFinite(n) && n > 0) this.nodes = n;
    }
    if (!this.up) this.o.log.info("pipelimit: Redis reachable, pipes counted fleet-wide", { nodes: this.nodes });
    this.up = true;
  }

  private fail(gen: number, slot: number, sent: Sent[]): void {
    if (gen !== -1 && this.inflight?.gen !== gen) return;
    this.inflight = null;
    // not added: send these messages again with the next flush (same interval only)
    if (slot === this.o.currentSlot()) for (const s of sent) s.pipe.flushed -= s.delta;
    this.markDown("error");
  }

  private markDown(why: string): void {
    this.errors++;
    this.o.onError();
    if (this.up) this.o.log.warn("pipelimit: Redis unreachable, pipes fall back to this node's share", { why, nodes: this.nodes });
    this.up = false;
  }

  /**
   * The fleet totals of an ended slot (read a little after the boundary, once the other nodes
   * flushed): sets each pipe's lastCounter and RED load from them.
   */
  correct(pipes: readonly PipeState[], slot: number): void {
    if (this.closed || !this.up || pipes.length === 0) return;
    const keys = pipes.map((p) => this.key(p.name, slot));
    this.redis.mget(keys).then(
      (vals) => {
        vals.forEach((v, i) => {
          const p = pipes[i]!;
          const total = v === null ? 0 : Number(v);
          if (!Number.isFinite(total) || total < p.lastCounter) return;
          p.lastCounter = total;
          if (p.algo === "RED" && p.limit > 0) p.load = Math.floor(total / p.limit);
        });
      },
      () => undefined,
    );
  }

  close(): void {
    this.closed = true;
    this.redis.disconnect();
  }
}
