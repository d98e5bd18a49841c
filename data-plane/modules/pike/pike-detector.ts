import { formatIp, maskBytes, parseIpInto, v4ToNumber } from "../../core/kit/index.js";

/**
 * Request-density detection per source address (Kamailio pike).
 *
 * Kamailio keeps a byte-wise IP tree whose nodes split as hits accumulate: an address only gets
 * its own leaf after its prefix nodes saw max_hits/4 hits each, so a flooder turns "red" after
 * between x and about 3x requests in a window for IPv4 (about 9x for IPv6), x being
 * `reqs_density_per_unit`. Olelo keeps an exact per-address entry instead (a Map keyed by the
 * IPv4 number or the IPv6 prefix), so it applies Kamailio's leaf rule from the first request:
 * an address is hot when the current window, the previous window, or their average reaches x.
 * Detection therefore happens at exactly the x-th request of a window — the lower edge of
 * Kamailio's band, for IPv4 and IPv6 alike. To approximate Kamailio's average, configure about
 * 2x. IPv6 sources can be grouped by prefix (`ipv6_prefix`, default 128 = per address) because one
 * attacker usually owns a whole /64.
 *
 * Windows are aligned on multiples of `sampling_time_unit` (Kamailio's swap timer); a red address
 * turns green again at the first window boundary where it is no longer hot. Idle entries are
 * dropped `remove_latency` seconds after their last request; `max_entries` bounds memory under
 * spoofed-source floods (untracked sources are let through, like Kamailio's internal-error case).
 */

/** pike_check_req / pike_check_ip results. */
export type PikeResult = 1 | -1 | -2;

/** Detector settings (Kamailio pike modparams plus Olelo's memory bound and IPv6 grouping). */
export interface PikeOptions {
  /** Seconds per sampling window (Kamailio sampling_time_unit, default 2). */
  readonly samplingTimeUnit: number;
  /** Requests per window that make a source a flooder (reqs_density_per_unit, default 30). */
  readonly reqsDensityPerUnit: number;
  /** Seconds an idle source stays tracked (remove_latency, default 120). Not a ban time. */
  readonly removeLatency: number;
  /** Upper bound of tracked sources. */
  readonly maxEntries: number;
  /** IPv6 prefix length sources are grouped by (128 = per address). */
  readonly ipv6Prefix: number;
}

/** Per-source state: hits in the previous and current window, red flag, last hit. */
export interface PikeEntry {
  /** Address (or IPv6 prefix) as shown by pike.top. */
  readonly ip: string;
  prev: number;
  curr: number;
  /** Window index `curr` belongs to. */
  unit: number;
  red: boolean;
  lastHit: number;
}

/** A row of pike.top. */
export interface PikeTopRow {
  readonly ip_addr: string;
  readonly leaf_hits_prev: number;
  readonly leaf_hits_curr: number;
  /** Seconds until the idle entry is removed. */
  readonly expires: number;
  /** "HOT", "WARM" or "". */
  readonly status: string;
}

const scratch = new Uint8Array(16);

/** The per-source density detector behind pike_check_req / pike_check_ip and pike.top. */
export class PikeDetector {
  private readonly map = new Map<number | string, PikeEntry>();
  private readonly unitMs: number;
  private readonly latencyMs: number;
  private readonly max: number;
  /** Sources seen while the table was full (not tracked). */
  untracked = 0;
  /** Sources newly turned red. */
  blocked = 0;
  /**
   * Node-wide counts (workers > 1): hits are counted in shared memory, so the density holds
   * whatever worker each request lands on; this worker's entries keep the red flag and pike.top.
   */
  shared: { hit(hi: number, lo: number, unit: number): { curr: number; prev: number } | null } | null = null;

  constructor(
    readonly opts: PikeOptions,
    private readonly now: () => number = () => Date.now(),
    /** Receives `blocked` (Kamailio's pike:blocked counter). */
    private readonly stats?: { inc(name: string): void },
  ) {
    this.unitMs = opts.samplingTimeUnit * 1000;
    this.latencyMs = opts.removeLatency * 1000;
    this.max = opts.reqsDensityPerUnit;
  }

  /** Tracked sources. */
  get size(): number {
    return this.map.size;
  }

  private hot(e: PikeEntry): boolean {
    const m = this.max;
    return e.curr >= m || e.prev >= m || (e.prev + e.curr) >> 1 >= m;
  }

  private rotate(e: PikeEntry, unit: number): void {
    if (e.unit === unit) return;
    e.prev = e.unit === unit - 1 ? e.curr : 0;
    e.curr = 0;
    e.unit = unit;
    if (e.red && !this.hot(e)) e.red = false;
  }

  /**
   * [pike_check_ip] counts one request from `ip`: 1 = ok (also for text that is not an address
   * or when the table is full), -1 = known flooder, -2 = flooder detected by this request.
   */
  check(ip: string): PikeResult {
    const fam = parseIpInto(ip, scratch);
    if (fam === 0) return 1;
    let key: number | string;
    if (fam === 4) {
      key = v4ToNumber(scratch);
    } else {
      if (this.opts.ipv6Prefix < 128) maskBytes(scratch, 6, this.opts.ipv6Prefix);
      key = String.fromCharCode(
        (scratch[0]! << 8) | scratch[1]!,
        (scratch[2]! << 8) | scratch[3]!,
        (scratch[4]! << 8) | scratch[5]!,
        (scratch[6]! << 8) | scratch[7]!,
        (scratch[8]! << 8) | scratch[9]!,
        (scratch[10]! << 8) | scratch[11]!,
        (scratch[12]! << 8) | scratch[13]!,
        (scratch[14]! << 8) | scratch[15]!,
      );
    }
    const now = this.now();
    const unit = Math.floor(now / this.unitMs);
    let e = this.map.get(key);
    if (e === undefined) {
      if (this.map.size >= this.opts.maxEntries) {
        this.untracked++;
        return 1;
      }
      const shown = fam === 4 ? formatIp(4, scratch) : this.opts.ipv6Prefix < 128 ? `${formatIp(6, scratch)}/${this.opts.ipv6Prefix}` : formatIp(6, scratch);
      e = { ip: shown, prev: 0, curr: 0, unit, red: false, lastHit: now };
      this.map.set(key, e);
    } else {
      this.rotate(e, unit);
    }
    e.lastHit = now;
    const c = this.shared === null ? null : this.shared.hit(typeof key === "number" ? key | 0 : hash32(key, 0), typeof key === "number" ? 0 : hash32(key, 4) | 1, unit);
    if (c === null) e.curr++;
    else {
      e.curr = c.curr;
      e.prev = c.prev;
    }
    if (e.red) return -1;
    if (this.hot(e)) {
      e.red = true;
      this.blocked++;
      this.stats?.inc("blocked");
      return -2;
    }
    return 1;
  }

  /**
   * Drops sources idle for remove_latency; returns how many. A full scan (about 10 ms per 250k
   * entries), run by the module timer every min(sampling_time_unit, 10) seconds.
   */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [k, e] of this.map) {
      if (now - e.lastHit >= this.latencyMs) {
        this.map.delete(k);
        n++;
      }
    }
    return n;
  }

  /** Status of one source (after window rotation), or null when untracked. */
  status(e: PikeEntry): "HOT" | "WARM" | "" {
    if (this.hot(e)) return "HOT";
    if (e.curr >= this.max >> 2) return "WARM";
    return "";
  }

  /** [pike.top] tracked sources with the given status, most hits first. */
  top(mode: "ALL" | "HOT" | "WARM"): PikeTopRow[] {
    const now = this.now();
    const unit = Math.floor(now / this.unitMs);
    const rows: PikeTopRow[] = [];
    for (const e of this.map.values()) {
      this.rotate(e, unit);
      const st = this.status(e);
      if (mode === "HOT" && st !== "HOT") continue;
      if (mode === "WARM" && st !== "WARM") continue;
      rows.push({
        ip_addr: e.ip,
        leaf_hits_prev: e.prev,
        leaf_hits_curr: e.curr,
        expires: Math.max(0, Math.ceil((e.lastHit + this.latencyMs - now) / 1000)),
        status: st,
      });
    }
    rows.sort((a, b) => b.leaf_hits_prev + b.leaf_hits_curr - (a.leaf_hits_prev + a.leaf_hits_curr));
    return rows;
  }

  /** Forgets every source. */
  clear(): void {
    this.map.clear();
  }
}

/** FNV-1a over 4 UTF-16 units of an IPv6 key from `at`. */
function hash32(k: string, at: number): number {
  let h = 0x811c9dc5;
  for (let i = at; i < at + 4; i++) h = Math.imul(h ^ k.charCodeAt(i), 16777619);
  return h | 0;
}
