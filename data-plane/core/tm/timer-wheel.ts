import { createLogger } from "../../../lib/log/logger.js";

const log = createLogger("core");

/**
 * One hashed timer wheel for all transaction timers (retransmissions T1/T2, timers A–K, fr_timer,
 * wait timer), as Kamailio's tm keeps its timer lists instead of one OS timer per timer: arming and
 * cancelling are O(1) list operations on a preallocated slot array, and one Node timer drives the
 * wheel while any timer is armed (a `setTimeout` per transaction timer costs an allocation and a
 * priority-queue insert and removal each, and a call has about six of them).
 *
 * Resolution is `tickMs` (1 ms): a timer fires at the first tick at or after its due time, never
 * early. The driver is set for the next slot that holds a timer, so an idle wheel does not wake
 * up; under load it wakes about once per millisecond and runs every timer due by then. Timers
 * further out than one turn (4 s) stay in their slot and are skipped until their turn comes. Time
 * is `Date.now()`, so test fake timers move it together with the driver.
 */
export class WheelTimer {
  /** Due time (ms since the epoch). */
  at = 0;
  fn: ((a: unknown, b: unknown) => void) | null = null;
  a: unknown = null;
  b: unknown = null;
  /** The list the timer is in (a wheel slot or the firing list), null when not armed. */
  list: TimerList | null = null;
  prev: WheelTimer | null = null;
  next: WheelTimer | null = null;
}

class TimerList {
  head: WheelTimer | null = null;
  tail: WheelTimer | null = null;

  push(t: WheelTimer): void {
    t.list = this;
    t.prev = this.tail;
    t.next = null;
    if (this.tail) this.tail.next = t;
    else this.head = t;
    this.tail = t;
  }

  remove(t: WheelTimer): void {
    if (t.prev) t.prev.next = t.next;
    else this.head = t.next;
    if (t.next) t.next.prev = t.prev;
    else this.tail = t.prev;
    t.prev = t.next = null;
    t.list = null;
  }
}

const SLOTS = 4096; // power of two

export class TimerWheel {
  private readonly slots: TimerList[] = [];
  private readonly firing = new TimerList();
  /** Last tick processed (absolute tick number = floor(ms / tickMs)). */
  private cursor: number;
  private armed = 0;
  private driver: NodeJS.Timeout | null = null;
  /** Absolute tick the driver is set for (Infinity: none). */
  private driverTick = Infinity;
  private readonly onTick = () => this.advance();

  constructor(private readonly tickMs = 1) {
    for (let i = 0; i < SLOTS; i++) this.slots.push(new TimerList());
    this.cursor = Math.floor(Date.now() / tickMs);
  }

  /** Number of armed timers. */
  get size(): number {
    return this.armed;
  }

  /**
   * Arms `fn(a, b)` to run in `ms`. Reuses `reuse` (cancelling it first) when given, so a field that
   * holds a timer re-arms it without allocating. Returns the armed timer.
   */
  arm<A, B>(reuse: WheelTimer | null, ms: number, fn: (a: A, b: B) => void, a: A, b: B): WheelTimer {
    const t = reuse ?? new WheelTimer();
    if (t.list) this.unlink(t);
    const now = Date.now();
    if (this.armed === 0) this.cursor = Math.max(this.cursor, Math.floor(now / this.tickMs)); // idle: skip the empty turns
    t.at = now + (ms > 0 ? ms : 0);
    t.fn = fn as (a: unknown, b: unknown) => void;
    t.a = a;
    t.b = b;
    let tick = Math.ceil(t.at / this.tickMs);
    if (tick <= this.cursor) tick = this.cursor + 1;
    this.slots[tick & (SLOTS - 1)]!.push(t);
    this.armed++;
    if (tick < this.driverTick) this.setDriver(tick);
    return t;
  }

  /** Cancels a timer (no-op when null or not armed). Always returns null, for `x = wheel.cancel(x)`. */
  cancel(t: WheelTimer | null): null {
    if (t && t.list) {
      this.unlink(t);
      t.fn = null;
      t.a = t.b = null;
    }
    return null;
  }

  /** Stops the driver and forgets every timer. */
  stop(): void {
    for (const l of [...this.slots, this.firing]) {
      while (l.head) this.cancel(l.head);
    }
    if (this.driver) clearTimeout(this.driver);
    this.driver = null;
    this.driverTick = Infinity;
  }

  private unlink(t: WheelTimer): void {
    const l = t.list!;
    l.remove(t);
    if (l !== this.firing) this.armed--;
  }

  private setDriver(tick: number): void {
    if (this.driver) clearTimeout(this.driver);
    this.driverTick = tick;
    this.driver = setTimeout(this.onTick, Math.max(0, tick * this.tickMs - Date.now()));
  }

  private advance(): void {
    this.driver = null;
    this.driverTick = Infinity;
    const now = Date.now();
    const target = Math.floor(now / this.tickMs);
    // after a long stall visit each slot once
    const from = target - this.cursor > SLOTS ? target - SLOTS : this.cursor;
    for (let tick = from + 1; tick <= target; tick++) {
      this.cursor = tick;
      const slot = this.slots[tick & (SLOTS - 1)]!;
      for (let t = slot.head; t; ) {
        const next = t.next;
        if (t.at <= now) {
          slot.remove(t);
          this.armed--;
          this.firing.push(t);
        }
        t = next;
      }
      // run due timers one by one: a callback may cancel or re-arm others (even ones in `firing`)
      while (this.firing.head) {
        const t = this.firing.head;
        this.firing.remove(t);
        const fn = t.fn!;
        const a = t.a;
        const b = t.b;
        t.fn = null;
        t.a = t.b = null;
        try {
          fn(a, b);
        } catch (err) {
          // a bug in one timer must not stop the others
          log.error("timer callback failed", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        }
      }
    }
    this.cursor = Math.max(this.cursor, target);
    if (this.armed === 0) return;
    // the next slot with a timer in it (perhaps one of a later turn: then the driver wakes for nothing once)
    for (let k = 1; k <= SLOTS; k++) {
      const tick = this.cursor + k;
      if (tick >= this.driverTick) return;
      if (this.slots[tick & (SLOTS - 1)]!.head) {
        this.setDriver(tick);
        return;
      }
    }
  }
}
