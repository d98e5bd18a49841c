import type { CompiledDispatcher, CompiledDest, CompiledSet } from "../../../tables/dispatcher/table.js";
import { DS_STATES_ALL, isSkipped } from "../../../tables/dispatcher/flags.js";
import { shuffleInPlace } from "../../../tables/dispatcher/hash.js";
import { isIpv4, isIpv6 } from "../../core/kit/index.js";

/**
 * Runtime state that lives beside the immutable compiled table: current state bits, probe
 * counters, latency statistics, per-destination counters, round-robin cursors. A reload builds a
 * new LiveTable to one side (carrying the DestRuntime objects of unchanged destinations when
 * `reload_state` is "keep") and the engine swaps it in with one reference write.
 */

/**
 * Per-destination latency statistics of keepalive replies (Kamailio ds_latency_stats_t):
 * running average and standard deviation (Welford), max/min, an EWMA estimate and the timeout
 * count. Same update rule as Kamailio's latency_stats_update so EST/AVG match its figures.
 */
export class LatencyStats {
  count = 0;
  average = 0;
  m2 = 0;
  stdev = 0;
  estimate = 0;
  max = 0;
  min = 0;
  timeout = 0;

  /** Seeds the estimator (attr `latency=`), counting as fully trained as Kamailio does. */
  init(latency: number, count: number): void {
    this.stdev = 0;
    this.m2 = 0;
    this.max = latency;
    this.min = latency;
    this.average = latency;
    this.estimate = latency;
    this.count = count;
  }

  /** Adds one sample in ms; alpha is the EWMA memory (0.9 = a new sample weighs 10%). */
  update(latency: number, alpha: number): void {
    if (this.count < 2097152) this.count++;
    else this.m2 -= this.m2 / (this.count || 1);
    if (this.count === 1) this.init(latency, 1);
    if (this.count > 10 && this.count < 10000 && this.stdev < 0.5) this.count = 10000;
    if (this.min > latency) this.min = latency;
    if (this.max < latency) this.max = latency;
    if (this.count > 1) {
      const delta = latency - this.average;
      this.average += delta / (this.count || 1);
      const delta2 = latency - this.average;
      this.m2 += delta * delta2;
      this.stdev = Math.sqrt(this.m2 / (this.count - 1 || 1));
    }
    this.estimate = this.count < 10 ? this.average : this.estimate * alpha + latency * (1 - alpha);
  }

  /** Copies another object's figures (used when a destination is re-created with kept stats). */
  copyFrom(o: LatencyStats): void {
    Object.assign(this, o);
  }
}

/** Overload-control data of alg 64 (Kamailio ds_ocdata_t). */
export interface OverloadState {
  rate: number;
  idx: number;
  seq: number;
  /** Epoch ms until which the rate applies; 0 = not set. */
  until: number;
  /** 100 slots, 1 = use, 0 = skip. */
  dist: Uint8Array;
}

/** Mutable runtime of one destination. Identity is kept across reloads for unchanged ones. */
export class DestRuntime {
  /** Current flags: state bits (I/T/D/P) + configuration bits (16, 32). */
  flags: number;
  /** The flags column this state was seeded from; a different column value on reload re-seeds. */
  configFlags: number;
  /** Consecutive failures while trying, or consecutive successes while inactive. */
  probingCount = 0;
  readonly latency = new LatencyStats();
  /** Times chosen (select or failover to it). */
  selected = 0;
  /** Times a request failed over away from it (nextDst). */
  failed = 0;
  probesSent = 0;
  probesFailed = 0;
  lastCode = 0;
  lastReason = "";
  /** Epoch ms of the last keepalive result, 0 = never. */
  lastProbeAt = 0;
  /** Epoch ms of the last state change, 0 = none since load. */
  lastChangeAt = 0;
  /** Effective relative weight (alg 11); congestion control lowers it. */
  rweight: number;
  readonly oc: OverloadState;
  /** Resolved addresses for isFromList (IP literal hosts: the host itself). */
  addrs: string[];
  /** Epoch ms of the last DNS resolution, 0 = none. */
  dnsTime = 0;

  constructor(dest: CompiledDest) {
    this.flags = dest.flags;
    this.configFlags = dest.flags;
    this.rweight = dest.attrs.rweight;
    this.oc = { rate: dest.attrs.ocrate, idx: 0, seq: 0, until: 0, dist: buildOcDist(dest.attrs.ocrate) };
    this.addrs = isIpv4(dest.target.host) || isIpv6(dest.target.host) ? [normalizeIp(dest.target.host)] : [];
    if (dest.attrs.latency !== null) this.latency.init(dest.attrs.latency, 10000);
  }
}

/** 100 slots with `rate` zeros (skip) and the rest ones, shuffled (Kamailio ds_oc_prepare). */
export function buildOcDist(rate: number, rnd: () => number = Math.random): Uint8Array {
  const d = new Uint8Array(100);
  for (let i = rate; i < 100; i++) d[i] = 1;
  shuffleInPlace(d, rnd);
  return d;
}

/** A set with its runtime: cursors for alg 4/9/11/13/14/64 and the alg 11 slot table. */
export class LiveSet {
  /** Round-robin cursor (alg 4, 5 fallback, 13, 14, 64). */
  last = 0;
  /** Alg 9 slot cursor. */
  wlast = 0;
  /** Alg 11 slot table over active destinations, rebuilt on state changes. */
  readonly rwlist = new Uint16Array(100);
  rwlast = 0;

  constructor(
    readonly def: CompiledSet,
    readonly rt: readonly DestRuntime[],
  ) {}

  get id(): number {
    return this.def.id;
  }
  get size(): number {
    return this.def.dests.length;
  }
  /** True when any destination carries an rweight (alg 11 table worth keeping up to date). */
  get usesRweight(): boolean {
    return this.rt.some((r) => r.rweight > 0);
  }
}

/** Where a destination sits in the live table. */
export interface DestLocation {
  readonly set: LiveSet;
  readonly idx: number;
  readonly dest: CompiledDest;
  readonly rt: DestRuntime;
}

/** The whole live structure the engine swaps in one step. */
export class LiveTable {
  readonly sets = new Map<number, LiveSet>();
  readonly byKey = new Map<string, DestLocation>();

  constructor(readonly compiled: CompiledDispatcher) {}

  /** Location of a destination by set id and URI (case-insensitive, as Kamailio). */
  find(setid: number, uri: string): DestLocation | undefined {
    return this.byKey.get(`${setid}|${uri.trim().toLowerCase()}`);
  }
}

/** What building a live table found out: destinations that are new or were re-seeded. */
export interface LiveBuildResult {
  readonly table: LiveTable;
  /** New destinations (no runtime carried over). */
  readonly added: DestLocation[];
  /** Kept destinations whose flags column changed, re-seeded; `before` is the previous flags. */
  readonly reseeded: Array<{ loc: DestLocation; before: number }>;
  /** Destinations of the previous table that are gone. */
  readonly removed: Array<{ setid: number; uri: string; flags: number }>;
}

/**
 * Builds a LiveTable from a compiled table. With `keep`, destinations with the same set and URI
 * reuse their DestRuntime (state, latency, counters); a changed `flags` column re-seeds the state
 * bits from the new column (an edit of the table is a deliberate operator decision and wins),
 * keeping latency and counters. With `reset`, everything starts from the flags (Kamailio).
 */
export function buildLiveTable(
  compiled: CompiledDispatcher,
  prev: LiveTable | null,
  mode: "keep" | "reset",
  rnd: () => number = Math.random,
): LiveBuildResult {
  const table = new LiveTable(compiled);
  const added: DestLocation[] = [];
  const reseeded: Array<{ loc: DestLocation; before: number }> = [];
  for (const sid of compiled.setIds) {
    const def = compiled.sets.get(sid)!;
    const rts: DestRuntime[] = [];
    const pending: Array<{ dest: CompiledDest; rt: DestRuntime; kind: "new" | "kept" | "reseeded"; before: number }> = [];
    for (const dest of def.dests) {
      const old = mode === "keep" && prev ? prev.byKey.get(dest.key) : undefined;
      let rt: DestRuntime;
      let kind: "new" | "kept" | "reseeded" = "new";
      let before = 0;
      if (old) {
        rt = old.rt;
        kind = "kept";
        before = rt.flags;
        if (rt.configFlags !== dest.flags) {
          rt.flags = dest.flags;
          rt.configFlags = dest.flags;
          rt.probingCount = 0;
          kind = "reseeded";
        } else {
          // configuration bits follow the row; state bits stay as the runtime has them
          rt.flags = (rt.flags & DS_STATES_ALL) | (dest.flags & ~DS_STATES_ALL);
        }
        if (old.dest.attrs.body !== dest.attrs.body) {
          rt.rweight = dest.attrs.rweight;
          rt.oc.rate = dest.attrs.ocrate;
          rt.oc.dist = buildOcDist(dest.attrs.ocrate, rnd);
          rt.oc.until = 0;
        }
        if (old.dest.target.host !== dest.target.host) {
          rt.addrs = new DestRuntime(dest).addrs;
          rt.dnsTime = 0;
        }
      } else {
        rt = new DestRuntime(dest);
      }
      rts.push(rt);
      pending.push({ dest, rt, kind, before });
    }
    const live = new LiveSet(def, rts);
    const prevSet = mode === "keep" && prev ? prev.sets.get(sid) : undefined;
    if (prevSet && live.size > 0) {
      live.last = prevSet.last % live.size;
      live.wlast = prevSet.wlast;
      live.rwlast = prevSet.rwlast;
    }
    rebuildRelativeWeights(live, rnd);
    table.sets.set(sid, live);
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!;
      const loc: DestLocation = { set: live, idx: i, dest: p.dest, rt: p.rt };
      table.byKey.set(p.dest.key, loc);
      if (p.kind === "new") added.push(loc);
      else if (p.kind === "reseeded") reseeded.push({ loc, before: p.before });
    }
  }
  const removed: Array<{ setid: number; uri: string; flags: number }> = [];
  if (prev) {
    for (const [k, loc] of prev.byKey) {
      if (!table.byKey.has(k)) removed.push({ setid: loc.dest.setid, uri: loc.dest.uri, flags: loc.rt.flags });
    }
  }
  return { table, added, reseeded, removed };
}

/**
 * Alg 11 table (Kamailio dp_init_relative_weights): each active destination gets
 * rweight*100/sum(rweight of active ones) slots (truncated), the remainder goes to the last one
 * inserted, then the slots are shuffled. Called at load and whenever a destination of the set
 * becomes active or inactive, so the shares follow the live destinations.
 */
export function rebuildRelativeWeights(set: LiveSet, rnd: () => number = Math.random): void {
  const rw = set.rwlist;
  rw.fill(0);
  const nr = set.size;
  if (nr < 2) return;
  let sum = 0;
  for (let j = 0; j < nr; j++) if (!isSkipped(set.rt[j]!.flags)) sum += set.rt[j]!.rweight;
  if (sum === 0) return;
  let t = 0;
  for (let j = 0; j < nr && t < 100; j++) {
    const r = set.rt[j]!;
    if (isSkipped(r.flags)) continue;
    const slice = Math.trunc((r.rweight * 100) / sum);
    for (let k = 0; k < slice && t < 100; k++) rw[t++] = j;
  }
  const lastInsert = t > 0 ? rw[t - 1]! : nr - 1;
  for (; t < 100; t++) rw[t] = lastInsert;
  shuffleInPlace(rw, rnd);
}

/**
 * Canonical text of an IP address for comparisons: IPv4-mapped IPv6 becomes IPv4, IPv6 is
 * expanded to 8 lower-case groups without leading zeros.
 */
export function normalizeIp(ip: string): string {
  let s = ip.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const lower = s.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1]!;
  if (!lower.includes(":")) return lower;
  let head = lower;
  let v4tail: string[] = [];
  const lastColon = lower.lastIndexOf(":");
  const tail = lower.slice(lastColon + 1);
  if (tail.includes(".")) {
    const o = tail.split(".").map(Number);
    v4tail = [((o[0]! << 8) | o[1]!).toString(16), ((o[2]! << 8) | o[3]!).toString(16)];
    head = lower.slice(0, lastColon + 1) + "0";
  }
  const parts = head.split("::");
  const left = parts[0] ? parts[0].split(":") : [];
  const right = parts.length > 1 && parts[1] ? parts[1].split(":") : [];
  if (v4tail.length) (parts.length > 1 ? right : left).pop();
  const fill = 8 - v4tail.length - left.length - right.length;
  const groups = [...left, ...Array(Math.max(0, parts.length > 1 ? fill : 0)).fill("0"), ...right, ...v4tail];
  return groups.map((g) => (g === "" ? "0" : g.replace(/^0+(?=.)/, ""))).join(":");
}
