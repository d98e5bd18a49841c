/**
 * Counters with Kamailio's names (`group:name`, e.g. `core:rcv_requests`, `tmx:UAS_transactions`).
 * A counter is a plain number slot in a group object, incremented inline on the hot path;
 * gauges are functions read at query time (e.g. `tmx:inuse_transactions`).
 *
 * @example
 *   const core = stats.group("core", ["rcv_requests", "fwd_requests"]);
 *   core.inc("rcv_requests");
 */
import { MetricFamilies } from "./families.js";

/** One counter; hot paths keep a reference and increment `v` directly. */
export class Counter {
  v = 0;
}

export class StatGroup {
  private readonly slots = new Map<string, Counter>();
  readonly gauges: Record<string, () => number> = Object.create(null);
  /** Names that `stats.reset_statistics` must not clear (gauges and "no reset" counters). */
  readonly noReset = new Set<string>();
  /** Values read at query time that only go up (e.g. dns:queries): exposed as Prometheus counters. */
  readonly monotonic = new Set<string>();

  constructor(readonly name: string) {}

  declare(names: readonly string[]): this {
    for (const n of names) this.counter(n);
    return this;
  }

  /** The counter object for a name (created at 0), for inline increments: `c.v++`. */
  counter(name: string): Counter {
    let c = this.slots.get(name);
    if (!c) {
      c = new Counter();
      this.slots.set(name, c);
    }
    return c;
  }

  inc(name: string, by = 1): void {
    this.counter(name).v += by;
  }

  dec(name: string, by = 1): void {
    this.counter(name).v -= by;
  }

  set(name: string, v: number): void {
    this.counter(name).v = v;
  }

  /** A value read at query time; `monotonic` when it only goes up (exposed as a counter). */
  gauge(name: string, read: () => number, monotonic = false): void {
    this.gauges[name] = read;
    this.noReset.add(name);
    if (monotonic) this.monotonic.add(name);
  }

  /** Whether `name` is a level (gauge) rather than a count of events (counter), for /metrics. */
  isGauge(name: string): boolean {
    return name in this.gauges && !this.monotonic.has(name);
  }

  get(name: string): number | undefined {
    if (name in this.gauges) return this.gauges[name]!();
    return this.slots.get(name)?.v;
  }

  names(): string[] {
    return [...this.slots.keys(), ...Object.keys(this.gauges)];
  }

  reset(name?: string): void {
    if (name === undefined) {
      for (const [k, c] of this.slots) if (!this.noReset.has(k)) c.v = 0;
    } else {
      const c = this.slots.get(name);
      if (c && !this.noReset.has(name)) c.v = 0;
    }
  }
}

export class StatsRegistry {
  private readonly groups = new Map<string, StatGroup>();
  /** Labelled gauges and histograms (per destination, per set …) beside the groups. */
  readonly families = new MetricFamilies();

  /** The group of that name, if declared. */
  groupOf(name: string): StatGroup | undefined {
    return this.groups.get(name);
  }

  /** Returns the group, creating it and declaring `names` (initialised to 0). */
  group(name: string, names: readonly string[] = []): StatGroup {
    let g = this.groups.get(name);
    if (!g) {
      g = new StatGroup(name);
      this.groups.set(name, g);
    }
    return g.declare(names);
  }

  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  /**
   * Kamailio's stats.get_statistics selector: "all", "group:" or "group:name" (also bare "name",
   * searched in every group). Returns `group:name = value` strings, as Kamailio does.
   */
  select(selector: string): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    const push = (g: StatGroup, n: string) => out.push([`${g.name}:${n}`, g.get(n) ?? 0]);
    if (selector === "all") {
      for (const g of this.groups.values()) for (const n of g.names()) push(g, n);
      return out;
    }
    const colon = selector.indexOf(":");
    if (colon >= 0) {
      const g = this.groups.get(selector.slice(0, colon));
      if (!g) return out;
      const n = selector.slice(colon + 1);
      if (n === "") for (const k of g.names()) push(g, k);
      else if (g.get(n) !== undefined) push(g, n);
      return out;
    }
    for (const g of this.groups.values()) if (g.get(selector) !== undefined) push(g, selector);
    return out;
  }

  /** Resets the selected counters (same selector syntax); gauges keep their value. */
  reset(selector: string): number {
    let n = 0;
    if (selector === "all") {
      for (const g of this.groups.values()) {
        g.reset();
        n++;
      }
      return n;
    }
    const colon = selector.indexOf(":");
    if (colon >= 0) {
      const g = this.groups.get(selector.slice(0, colon));
      if (!g) return 0;
      const name = selector.slice(colon + 1);
      g.reset(name === "" ? undefined : name);
      return 1;
    }
    for (const g of this.groups.values()) {
      if (g.get(selector) !== undefined) {
        g.reset(selector);
        n++;
      }
    }
    return n;
  }
}
