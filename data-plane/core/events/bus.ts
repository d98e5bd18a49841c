/**
 * The event stream: every event gets a sequence number and is kept in a bounded ring buffer,
 * so a client that reconnects can ask for what it missed (`since`).
 *
 * Event kinds use dotted names: `dispatcher.dst_down`, `dispatcher.dst_up`, `table.applied`,
 * `table.rejected`, `registration.added|refreshed|removed|expired`, `call.started|answered|ended`,
 * `security.banned`, `security.auth_failed`. A subscription filter is a list of kinds or kind
 * prefixes ending in `.` or `*` (`call.*`).
 *
 * @example
 *   bus.publish("dispatcher.dst_down", { set: 1, uri: "sip:10.0.0.1" });
 *   const off = bus.subscribe(["call.*"], (ev) => console.log(ev.seq, ev.kind));
 */
export interface OleloEvent {
  /** Boot epoch of the node that published it (EventBus.epoch): seq restarts at 1 with each epoch. */
  readonly epoch: number;
  readonly seq: number;
  readonly kind: string;
  readonly ts: string;
  readonly node: string;
  readonly data: Record<string, unknown>;
}

export type EventListener = (ev: OleloEvent) => void;

export function matchesKinds(kinds: readonly string[] | null | undefined, kind: string): boolean {
  if (!kinds || kinds.length === 0) return true;
  for (const k of kinds) {
    if (k === "*" || k === kind) return true;
    if (k.endsWith(".*") && kind.startsWith(k.slice(0, -1))) return true;
    if (k.endsWith(".") && kind.startsWith(k)) return true;
  }
  return false;
}

export class EventBus {
  private seq = 0;
  private tsMs = -1;
  private tsIso = "";
  /**
   * Boot epoch: ms since 1970 when this bus (the process) started. Sequence numbers are only
   * comparable within one epoch; a client holding another epoch lost everything its old epoch
   * published after its last seq (events.since answers `lost: "restart"`).
   */
  readonly epoch: number = Date.now();
  private readonly ring: Array<OleloEvent | undefined>;
  private readonly listeners = new Set<{ kinds: readonly string[] | null; fn: EventListener }>();

  constructor(
    readonly node: string = "olelo",
    readonly capacity = 10_000,
  ) {
    this.ring = new Array(capacity);
  }

  get lastSeq(): number {
    return this.seq;
  }

  publish(kind: string, data: Record<string, unknown>): OleloEvent {
    // events published within one millisecond share its ISO string (a REGISTER burst publishes one each)
    const now = Date.now();
    if (now !== this.tsMs) {
      this.tsMs = now;
      this.tsIso = new Date(now).toISOString();
    }
    const ev: OleloEvent = { epoch: this.epoch, seq: ++this.seq, kind, ts: this.tsIso, node: this.node, data };
    this.ring[ev.seq % this.capacity] = ev;
    for (const l of this.listeners) {
      if (matchesKinds(l.kinds, kind)) {
        try {
          l.fn(ev);
        } catch {
          // a failing listener never breaks the publisher
        }
      }
    }
    return ev;
  }

  /** Subscribes; returns the unsubscribe function. */
  subscribe(kinds: readonly string[] | null, fn: EventListener): () => void {
    const entry = { kinds, fn };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /**
   * Events with seq > `since` still in the buffer, oldest first. `missed` is how many events
   * after `since` were already overwritten (the client lost them for good).
   */
  since(since: number, kinds?: readonly string[] | null): { events: OleloEvent[]; missed: number } {
    const events: OleloEvent[] = [];
    const oldest = Math.max(1, this.seq - this.capacity + 1);
    const from = Math.max(since + 1, oldest);
    const missed = Math.max(0, oldest - (since + 1));
    for (let s = from; s <= this.seq; s++) {
      const ev = this.ring[s % this.capacity];
      if (ev && ev.seq === s && matchesKinds(kinds, ev.kind)) events.push(ev);
    }
    return { events, missed };
  }
}
