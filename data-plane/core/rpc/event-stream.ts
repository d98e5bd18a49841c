import type { EventBus, OleloEvent } from "../events/bus.js";
import type { SubscribeResult } from "../../../lib/rpc/session.js";

/**
 * One client's event stream with bounded memory. Events (replayed from the bus ring, then live)
 * go through a per-client queue that is written to the socket only while the socket's own
 * buffer is below `highWaterBytes`. When the queue is full, further events are skipped and a
 * single `events.missed` marker (first/last seq, count) takes their place in the stream, so the
 * client knows exactly what it lost and can fetch it with `events.since`. A client whose socket
 * does not drain for `slowClientTimeoutMs` is disconnected. Nothing grows without bound:
 * the queue holds at most `maxQueued` events plus one marker, and the socket buffer at most
 * `highWaterBytes` plus one message.
 *
 * Wire format (JSON-RPC 2.0 notifications):
 *   {"jsonrpc":"2.0","method":"event","params":{"seq":42,"kind":"dispatcher.dst_down","ts":"…","node":"p1","data":{…}}}
 *   {"jsonrpc":"2.0","method":"events.missed","params":{"missed":17,"first":43,"last":59}}
 *
 * @example
 *   const sub = new EventSubscription(bus, socket, ["call.*"], {});
 *   const res = sub.start(lastSeenSeq);   // queue replay, hold output
 *   sub.release();                          // after the subscribe reply was written
 */
export interface EventSocket {
  /** Bytes accepted by send() but not yet written to the kernel. */
  bufferedAmount(): number;
  sendText(text: string): void;
  isOpen(): boolean;
  close(code: number, reason: string): void;
}

export interface EventStreamOptions {
  /** Stop writing while the socket buffers this many bytes (default 1 MiB). */
  readonly highWaterBytes?: number;
  /** Most events queued per client before events are skipped (default 10 000). */
  readonly maxQueued?: number;
  /** Disconnect a client whose socket stays above the high-water mark this long (default 30 s). */
  readonly slowClientTimeoutMs?: number;
  /** How often a blocked stream re-checks the socket buffer (default 20 ms). */
  readonly pollMs?: number;
}

interface MissedMarker {
  missed: number;
  first: number;
  last: number;
}

export interface EventStreamStats {
  sent: number;
  dropped: number;
  queued: number;
  maxQueuedSeen: number;
}

const encoded = new WeakMap<OleloEvent, string>();

/** The `event` notification text for one event, serialised once and shared by all clients. */
export function encodeEventNotification(ev: OleloEvent): string {
  let s = encoded.get(ev);
  if (s === undefined) {
    s = JSON.stringify({ jsonrpc: "2.0", method: "event", params: ev });
    encoded.set(ev, s);
  }
  return s;
}

export class EventSubscription {
  private queue: Array<OleloEvent | MissedMarker | undefined> = [];
  private head = 0;
  private held = true;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private blockedSince = 0;
  private off: (() => void) | null = null;
  private readonly highWater: number;
  private readonly maxQueued: number;
  private readonly slowMs: number;
  private readonly pollMs: number;
  readonly stats: EventStreamStats = { sent: 0, dropped: 0, queued: 0, maxQueuedSeen: 0 };

  constructor(
    private readonly bus: EventBus,
    private readonly socket: EventSocket,
    readonly kinds: readonly string[] | null,
    opts: EventStreamOptions,
  ) {
    this.highWater = opts.highWaterBytes ?? 1 << 20;
    this.maxQueued = Math.max(1, opts.maxQueued ?? 10_000);
    this.slowMs = opts.slowClientTimeoutMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 20;
  }

  /**
   * Queues the replay (events after `since` still in the ring) and attaches to live events.
   * Output stays held until release(), so the subscribe reply reaches the client first.
   */
  start(since: number | undefined): SubscribeResult {
    const seq = this.bus.lastSeq;
    let missed = 0;
    let replay: OleloEvent[] = [];
    if (since !== undefined && since < seq) {
      const r = this.bus.since(Math.max(0, since), this.kinds);
      missed = r.missed;
      replay = r.events;
      if (replay.length > this.maxQueued) {
        missed += replay.length - this.maxQueued;
        replay = replay.slice(replay.length - this.maxQueued);
      }
    }
    for (const ev of replay) this.queue.push(ev);
    this.noteQueued();
    this.off = this.bus.subscribe(this.kinds, (ev) => this.onLive(ev));
    return { seq, missed, replayed: replay.length };
  }

  /** Starts writing to the socket. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.pump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.off?.();
    this.off = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.head = 0;
    this.stats.queued = 0;
  }

  private onLive(ev: OleloEvent): void {
    if (this.closed) return;
    const queued = this.queue.length - this.head;
    if (queued >= this.maxQueued) {
      this.stats.dropped++;
      const last = this.queue[this.queue.length - 1];
      if (last && isMarker(last)) {
        last.missed++;
        last.last = ev.seq;
      } else {
        this.queue.push({ missed: 1, first: ev.seq, last: ev.seq });
      }
      return;
    }
    this.queue.push(ev);
    this.noteQueued();
    if (!this.held && this.timer === null) this.pump();
  }

  private pump(): void {
    this.timer = null;
    if (this.closed || this.held) return;
    while (this.head < this.queue.length) {
      if (!this.socket.isOpen()) {
        this.close();
        return;
      }
      if (this.socket.bufferedAmount() >= this.highWater) {
        const now = Date.now();
        if (this.blockedSince === 0) this.blockedSince = now;
        else if (now - this.blockedSince > this.slowMs) {
          this.socket.close(1008, "event consumer too slow");
          this.close();
          return;
        }
        this.timer = setTimeout(() => this.pump(), this.pollMs);
        this.timer.unref?.();
        this.stats.queued = this.queue.length - this.head;
        return;
      }
      this.blockedSince = 0;
      const item = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      if (isMarker(item)) {
        this.socket.sendText(JSON.stringify({ jsonrpc: "2.0", method: "events.missed", params: { ...item } }));
      } else {
        this.socket.sendText(encodeEventNotification(item));
        this.stats.sent++;
      }
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    }
    this.queue.length = 0;
    this.head = 0;
    this.stats.queued = 0;
  }

  private noteQueued(): void {
    const q = this.queue.length - this.head;
    this.stats.queued = q;
    if (q > this.stats.maxQueuedSeen) this.stats.maxQueuedSeen = q;
  }
}

function isMarker(x: OleloEvent | MissedMarker): x is MissedMarker {
  return (x as MissedMarker).missed !== undefined && (x as OleloEvent).kind === undefined;
}
