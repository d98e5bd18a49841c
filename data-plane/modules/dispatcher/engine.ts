import type { Logger } from "../../core/api.js";
import type { StatGroup } from "../../core/api.js";
import { DS_DISABLED, DS_INACTIVE, DS_NODNSARES, DS_PROBING, DS_STATES_ALL, DS_TRYING, isSkipped, stateLetters, stateName } from "../../../tables/dispatcher/flags.js";
import type { DispatcherParams } from "./params.js";
import { CallLoadTable } from "./select/call-load.js";
import { buildLiveTable, LiveTable, normalizeIp, rebuildRelativeWeights, type DestLocation, type LiveSet } from "./state.js";
import type { CompiledDispatcher } from "../../../tables/dispatcher/table.js";
import { compileDispatcherTables } from "../../../tables/dispatcher/table.js";

/**
 * The dispatcher's live state and the rules that change it: the swap-in of a new table, the
 * destination state machine (Kamailio ds_update_state), events on every state change, and the
 * alg 10 call table. Selection (select/), probing (probe/) and the RPCs work on this object.
 */

/** Why a state changed; carried in the dispatcher.dst_up / dst_down events. */
export type ChangeReason = "probe" | "script" | "rpc" | "initial" | "reload";

export interface ChangeInfo {
  readonly reason: ChangeReason;
  /** Keepalive reply code (probe), or Kamailio's pseudo codes for script marks. */
  readonly code?: number;
  readonly replyReason?: string;
}

export interface EngineDeps {
  readonly params: DispatcherParams;
  readonly log: Logger;
  readonly stats: StatGroup;
  publish(kind: string, data: Record<string, unknown>): void;
  /** Clock (epoch ms); tests may pass a fake. */
  readonly now?: () => number;
  /** Random source in [0,1) for alg 6/11/15/64. */
  readonly random?: () => number;
  /** Resolves a host name to addresses for isFromList (default: node:dns lookup). */
  readonly resolve?: (host: string) => Promise<string[]>;
}

/** Module-wide counter names in the `dispatcher` stats group. */
export const DISPATCHER_STATS = [
  "selected",
  "no_destination",
  "failovers",
  "probes_sent",
  "probe_failures",
  "state_changes",
  "reloads",
  "reload_failures",
] as const;

export class DispatcherEngine {
  /** The live table; replaced by one reference write in apply(). */
  live: LiveTable;
  readonly loads: CallLoadTable;
  /** Global keepalive switch (dispatcher.ping_active). */
  pingActive = true;
  readonly now: () => number;
  readonly random: () => number;
  /** Increments on every apply; lets late async work (DNS) detect it lost the race. */
  generation = 0;

  constructor(readonly deps: EngineDeps) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.live = new LiveTable(compileDispatcherTables({ dispatcher: [] }));
    this.loads = new CallLoadTable(deps.params.hashExpire * 1000, deps.params.hashInitExpire * 1000);
  }

  get params(): DispatcherParams {
    return this.deps.params;
  }

  /**
   * Swaps a compiled table in. Never throws. Destinations that are new (or re-seeded from a
   * changed flags column) and start inactive/disabled publish dst_down right away — Kamailio
   * issue #4906: monitoring must learn about destinations that are down from the start.
   */
  apply(compiled: CompiledDispatcher): void {
    const { table, added, reseeded, removed } = buildLiveTable(compiled, this.live, this.params.reloadState, this.random);
    this.live = table;
    this.generation++;
    for (const loc of added) {
      if (isSkipped(loc.rt.flags)) this.emitChange(loc, 0, loc.rt.flags, { reason: "initial" });
    }
    for (const { loc, before } of reseeded) {
      if (isSkipped(before) !== isSkipped(loc.rt.flags)) this.emitChange(loc, before, loc.rt.flags, { reason: "reload" });
    }
    for (const r of removed) {
      this.deps.log.debug("destination removed", { set: r.setid, uri: r.uri });
    }
    this.resolveHosts();
  }

  /** Resolves host names of destinations (not IP literals, not flag 16) for isFromList. */
  private resolveHosts(): void {
    const resolve = this.deps.resolve;
    const gen = this.generation;
    for (const loc of this.live.byKey.values()) {
      if (loc.rt.addrs.length > 0 || loc.rt.flags & DS_NODNSARES) continue;
      if (!resolve) continue;
      const host = loc.dest.target.host;
      resolve(host).then(
        (addrs) => {
          if (gen !== this.generation && this.live.byKey.get(loc.dest.key)?.rt !== loc.rt) return;
          loc.rt.addrs = addrs.map(normalizeIp);
          loc.rt.dnsTime = this.now();
        },
        (e: unknown) => this.deps.log.warn("cannot resolve destination host", { host, error: (e as Error).message }),
      );
    }
  }

  /**
   * Kamailio's ds_update_state for keepalive results and script marks.
   *  - trying on an inactive destination keeps it inactive (it must become active first);
   *  - trying counts failures; at `probing_threshold` the destination becomes inactive;
   *  - a success on an inactive destination counts successes; keepalives need
   *    `inactive_threshold` of them in a row, a script/RPC mark makes it active at once;
   *  - disabled wins over everything.
   * Publishes dispatcher.dst_down / dst_up when the destination leaves or joins the selectable
   * ones, and rebuilds the alg 11 table of its set when that happens.
   */
  updateState(loc: DestLocation, requested: number, info: ChangeInfo): void {
    const rt = loc.rt;
    const old = rt.flags;
    let state = requested & DS_STATES_ALL;
    const initState = state;
    let flags = old & ~DS_STATES_ALL;
    if (state & DS_TRYING && old & DS_INACTIVE) {
      state = (state & ~DS_TRYING) | DS_INACTIVE;
    }
    flags |= state & DS_DISABLED ? DS_DISABLED : state;
    if (state & DS_TRYING) {
      rt.probingCount++;
      if (rt.probingCount >= this.params.probingThreshold) {
        flags = (flags & ~DS_TRYING) | DS_INACTIVE;
        rt.probingCount = 0;
      }
    } else if (!(initState & DS_TRYING) && old & DS_INACTIVE && !(state & DS_DISABLED)) {
      if (state & DS_INACTIVE) {
        rt.probingCount = 0;
      } else {
        rt.probingCount++;
        if (info.reason === "probe" && rt.probingCount < this.params.inactiveThreshold) {
          flags |= DS_INACTIVE;
          if (old & DS_PROBING) flags |= DS_PROBING;
        } else {
          rt.probingCount = 0;
        }
      }
    } else {
      rt.probingCount = 0;
    }
    rt.flags = flags;
    if (flags !== old) this.afterChange(loc, old, flags, info);
  }

  /**
   * Sets the state bits directly (dispatcher.set_state / set_duid_state, Kamailio
   * ds_reinit_state): no thresholds. Unlike Kamailio, an RPC change publishes events too, so
   * monitoring sees manual changes.
   */
  setState(loc: DestLocation, state: number, info: ChangeInfo): void {
    const old = loc.rt.flags;
    loc.rt.flags = (old & ~DS_STATES_ALL) | (state & DS_STATES_ALL);
    loc.rt.probingCount = 0;
    if (loc.rt.flags !== old) this.afterChange(loc, old, loc.rt.flags, info);
  }

  /** Told of every state change made here (workers: broadcast to the node's other workers). */
  onStateChange: ((key: string, flags: number) => void) | null = null;

  /** A state change made by another worker of the node: applied without events or counters. */
  applyRemoteState(key: string, flags: number): void {
    const loc = this.live.byKey.get(key);
    if (!loc || loc.rt.flags === flags) return;
    const old = loc.rt.flags;
    loc.rt.flags = flags;
    loc.rt.probingCount = 0;
    loc.rt.lastChangeAt = this.now();
    if (isSkipped(old) !== isSkipped(flags) && loc.set.usesRweight) rebuildRelativeWeights(loc.set, this.random);
  }

  private afterChange(loc: DestLocation, old: number, now: number, info: ChangeInfo): void {
    loc.rt.lastChangeAt = this.now();
    this.onStateChange?.(loc.dest.key, now);
    this.deps.stats.inc("state_changes");
    if (isSkipped(old) !== isSkipped(now)) {
      this.emitChange(loc, old, now, info);
      if (loc.set.usesRweight) rebuildRelativeWeights(loc.set, this.random);
    }
  }

  private emitChange(loc: DestLocation, old: number, now: number, info: ChangeInfo): void {
    const kind = isSkipped(now) ? "dispatcher.dst_down" : "dispatcher.dst_up";
    const data: Record<string, unknown> = {
      set: loc.dest.setid,
      uri: loc.dest.uri,
      state: stateLetters(now),
      previous: stateLetters(old),
      status: stateName(now),
      reason: info.reason,
    };
    if (info.code !== undefined) data.code = info.code;
    if (info.replyReason !== undefined) data.replyReason = info.replyReason;
    this.deps.log.info(kind === "dispatcher.dst_down" ? "destination down" : "destination up", data);
    this.deps.publish(kind, data);
  }

  /** Set by id, or undefined. */
  set(setid: number): LiveSet | undefined {
    return this.live.sets.get(setid);
  }

  /** Every location whose duid matches (case-insensitive) in a set. */
  findDuid(setid: number, duid: string): DestLocation | undefined {
    const s = this.live.sets.get(setid);
    if (!s) return undefined;
    const d = duid.toLowerCase();
    for (let i = 0; i < s.size; i++) {
      if (s.def.dests[i]!.attrs.duid.toLowerCase() === d) return { set: s, idx: i, dest: s.def.dests[i]!, rt: s.rt[i]! };
    }
    return undefined;
  }

  /** Kamailio's "probing" mark for a script failure without an explicit state. */
  defaultMarkState(): number {
    return DS_INACTIVE | (this.params.probingMode === 1 ? DS_PROBING : 0);
  }
}
