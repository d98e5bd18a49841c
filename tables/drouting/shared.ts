/**
 * drouting compiled once per node and shared by its worker threads (data-plane/workers): the
 * primary runs the ordinary compile (compileDroutingSteps: same checks, same errors, same order),
 * then encodes what a lookup needs into typed arrays on SharedArrayBuffers and drops the objects:
 * - per group a prefix tree (PrefixTreeBuilder `shared: true`) whose value table is itself a shared
 *   Int32Array of rule-list ids (no per-prefix value objects);
 * - rule lists (`listStart`/`listRules`: rule indices by priority, the full compile's order) for
 *   every prefix and every group's empty-prefix rules;
 * - one record per rule: ruleid, priority, timerec id, routeid / prefix / gwlist string ids,
 *   its groups and its resolved gateway list (ids of distinct gwlists, flat `[n, gwid × n]…`);
 * - every string once in one UTF-8 byte pool with offsets.
 * Distinct timerecs (a handful), dr_gateways (gateway objects the keepalive state refers to) and
 * dr_groups are cloned to each worker as today. A lookup materialises only the rule it returns.
 * A shared buffer is never written after the encode: a new version is new buffers.
 */
import { PrefixTree, type SharedPrefixTree } from "../../lib/prefix-tree/prefix-tree.js";
import { PrefixTreeBuilder, emptyPrefixTree } from "../../lib/prefix-tree/build-prefix-tree.js";
import { applyDroutingChanges, type DrRowChanges } from "./delta.js";
import { ROW_SLICE_MASK, runSliced, rowCount, type Sliced } from "../kit/sliced.js";
import type { TableSet } from "../rows.js";
import type { Calendar } from "./calendar.js";
import { compileDroutingSteps, DR_PREFIX_CHARS, type CompiledDrouting, type DrGateway, type DrGroupRules, type DrGwList, type DrRule, type DrSharedRules } from "./table.js";
import { matchTimeRec, type TimeRec } from "./timerec.js";

/** A compiled drouting version as posted to a worker thread (typed arrays on shared memory). */
export interface SharedDrouting {
  readonly rows: number;
  readonly ruleCount: number;
  readonly gateways: readonly DrGateway[];
  readonly userDomainGroups: ReadonlyArray<readonly [string, number]>;
  readonly userGroups: ReadonlyArray<readonly [string, number]>;
  readonly timerecs: readonly TimeRec[];
  /** dr_gw_lists: id, text, gateway ids per serial group (what `#id` gwlists of a delta resolve to). */
  readonly lists: ReadonlyArray<readonly [number, string, readonly (readonly number[])[]]>;
  /** A delta on top of the buffers (the groups it changed, their rules as objects), until the fold. */
  readonly overlay?: DrSharedOverlay;
  /** Groups: id, its tree (values: a shared Int32Array of list ids), its empty-prefix list. */
  readonly groups: ReadonlyArray<{ readonly id: number; readonly tree: SharedPrefixTree<number>; readonly noPrefix: number }>;
  readonly a: SharedArrays;
}

/** What a delta changed: per group its empty-prefix rules and its prefix overlay (prefix → rules in order). */
export interface DrSharedOverlay {
  readonly rows: number;
  readonly ruleCount: number;
  readonly overlaySize: number;
  readonly groups: ReadonlyArray<readonly [number, readonly DrRule[], ReadonlyArray<readonly [string, readonly DrRule[]]>]>;
}

interface SharedArrays {
  readonly ruleId: Float64Array;
  readonly priority: Int32Array;
  /** timerec id, -1 = none. */
  readonly timerec: Int32Array;
  /** string ids; routeId -1 = none. */
  readonly routeId: Int32Array;
  readonly prefix: Int32Array;
  readonly gwlist: Int32Array;
  /** rule → its distinct resolved gwlist (gwgStart index). */
  readonly gwg: Int32Array;
  readonly groupStart: Int32Array;
  readonly groupFlat: Int32Array;
  readonly listStart: Int32Array;
  readonly listRules: Int32Array;
  readonly gwgStart: Int32Array;
  readonly gwgFlat: Int32Array;
  readonly strStart: Int32Array;
  readonly strBytes: Uint8Array;
}

const i32 = (n: number) => new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4));

/** Growable Int32 list (plain memory while encoding; copied once into a SharedArrayBuffer). */
class Ints {
  a = new Int32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  shared(): Int32Array {
    const s = i32(this.n);
    s.set(this.a.subarray(0, this.n));
    return s;
  }
}

/** The full compile, then the encode into shared memory (same rows, same errors as compileDroutingSteps). */
export function* compileSharedDroutingSteps(set: TableSet): Sliced<CompiledDrouting> {
  const c = yield* compileDroutingSteps(set);
  const d = yield* encodeDroutingSteps(c, rowCount(set));
  return attachDrouting(d);
}

/** compileSharedDroutingSteps in time slices (the primary thread keeps relaying meanwhile). */
export function compileSharedDrouting(set: TableSet): Promise<CompiledDrouting> {
  return runSliced(compileSharedDroutingSteps(set));
}

/** Encodes a compiled version (without a delta overlay) into shared typed arrays. */
export function* encodeDroutingSteps(c: CompiledDrouting, rows: number): Sliced<SharedDrouting> {
  if (c.overlaySize) throw new Error("encodeDrouting: fold the delta overlay first");
  const strIds = new Map<string, number>();
  const strs: string[] = [];
  const str = (s: string): number => {
    let id = strIds.get(s);
    if (id === undefined) strIds.set(s, (id = strs.push(s) - 1));
    return id;
  };
  const recIds = new Map<TimeRec, number>();
  const timerecs: TimeRec[] = [];
  const gwgIds = new Map<readonly (readonly DrGateway[])[], number>();
  const gwgStart = new Ints();
  const gwgFlat = new Ints();
  const ruleIds = new Map<DrRule, number>();
  const rules: DrRule[] = [];
  const listStart = new Ints();
  const listRules = new Ints();
  const ruleOf = (r: DrRule): number => {
    let id = ruleIds.get(r);
    if (id === undefined) ruleIds.set(r, (id = rules.push(r) - 1));
    return id;
  };
  const list = (rs: readonly DrRule[]): number => {
    listStart.push(listRules.n);
    for (const r of rs) listRules.push(ruleOf(r));
    return listStart.n - 1;
  };
  const groups: Array<{ id: number; tree: SharedPrefixTree<number>; noPrefix: number }> = [];
  let n = 0;
  for (const [id, g] of [...c.groups].sort((x, y) => x[0] - y[0])) {
    const b = new PrefixTreeBuilder<number>({ alphabet: DR_PREFIX_CHARS, expectedSize: g.tree.size, shared: true });
    for (const [prefix, rs] of g.tree.entries()) {
      if ((++n & ROW_SLICE_MASK) === 0) yield;
      b.add(prefix, list(rs));
    }
    const noPrefix = list(g.noPrefix);
    const t = (yield* b.buildSteps()).share();
    const values = i32(t.values.length);
    values.set(t.values);
    groups.push({ id, tree: { ...t, values: values as unknown as number[] }, noPrefix });
  }
  listStart.push(listRules.n);

  const R = rules.length;
  const f64 = new Float64Array(new SharedArrayBuffer(Math.max(1, R) * 8));
  const a = {
    ruleId: f64,
    priority: i32(R),
    timerec: i32(R),
    routeId: i32(R),
    prefix: i32(R),
    gwlist: i32(R),
    gwg: i32(R),
    groupStart: i32(R + 1),
  };
  const groupFlat = new Ints();
  for (let i = 0; i < R; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const r = rules[i]!;
    a.ruleId[i] = r.ruleId;
    a.priority[i] = r.priority;
    let tr = -1;
    if (r.timerec !== null) {
      tr = recIds.get(r.timerec) ?? -1;
      if (tr < 0) recIds.set(r.timerec, (tr = timerecs.push(r.timerec) - 1));
    }
    a.timerec[i] = tr;
    a.routeId[i] = r.routeId === null ? -1 : str(r.routeId);
    a.prefix[i] = str(r.prefix);
    a.gwlist[i] = str(r.gwlist);
    let gi = gwgIds.get(r.gwGroups);
    if (gi === undefined) {
      gwgIds.set(r.gwGroups, (gi = gwgStart.n));
      gwgStart.push(gwgFlat.n);
      for (const grp of r.gwGroups) {
        gwgFlat.push(grp.length);
        for (const gw of grp) gwgFlat.push(gw.gwid);
      }
    }
    a.gwg[i] = gi;
    a.groupStart[i] = groupFlat.n;
    for (const g of r.groups) groupFlat.push(g);
  }
  a.groupStart[R] = groupFlat.n;
  gwgStart.push(gwgFlat.n);
  yield;

  // the string pool: UTF-8 bytes, offsets
  const strStart = i32(strs.length + 1);
  let bytes = 0;
  for (let i = 0; i < strs.length; i++) {
    strStart[i] = bytes;
    bytes += Buffer.byteLength(strs[i]!, "utf8");
  }
  strStart[strs.length] = bytes;
  const strBytes = new Uint8Array(new SharedArrayBuffer(Math.max(1, bytes)));
  const buf = Buffer.from(strBytes.buffer, 0, strBytes.byteLength);
  for (let i = 0; i < strs.length; i++) {
    if ((i & 0xffff) === 0xffff) yield;
    buf.write(strs[i]!, strStart[i]!, "utf8");
  }
  return {
    rows,
    ruleCount: c.ruleCount,
    gateways: [...c.gateways.values()],
    userDomainGroups: [...c.userDomainGroups],
    userGroups: [...c.userGroups],
    timerecs,
    lists: [...(c.lists ?? new Map<number, DrGwList>())].map(([id, l]) => [id, l.text, l.groups.map((g) => g.map((gw) => gw.gwid))] as const),
    groups,
    a: { ...a, groupFlat: groupFlat.shared(), listStart: listStart.shared(), listRules: listRules.shared(), gwgStart: gwgStart.shared(), gwgFlat: gwgFlat.shared(), strStart, strBytes },
  };
}

/** Shared-memory bytes of a posted version (the node arrays, value tables and rule arrays). */
export function droutingSharedDataBytes(d: SharedDrouting): number {
  let n = 0;
  for (const v of Object.values(d.a)) n += (v as ArrayBufferView).byteLength;
  for (const g of d.groups) n += g.tree.nodes.byteLength + (g.tree.values as unknown as Int32Array).byteLength;
  return n;
}

/** The compiled structure over the posted one's memory: the same lookups as if compiled here. */
export function attachDrouting(d: SharedDrouting): CompiledDrouting {
  const a = d.a;
  if (!(a.listRules.buffer instanceof SharedArrayBuffer)) throw new Error("attachDrouting: the rule arrays are not shared memory");
  const gateways = new Map<number, DrGateway>();
  const byIp = new Map<string, DrGateway[]>();
  for (const gw of d.gateways) {
    gateways.set(gw.gwid, gw);
    if (gw.ipCanon === null) continue;
    let l = byIp.get(gw.ipCanon);
    if (!l) byIp.set(gw.ipCanon, (l = []));
    l.push(gw);
  }
  const gwOf = (id: number) => gateways.get(id)!;
  const lists = new Map<number, DrGwList>(d.lists.map(([id, text, ids]) => [id, { text, groups: ids.map((g) => g.map(gwOf)) }]));
  const pool = Buffer.from(a.strBytes.buffer, a.strBytes.byteOffset, a.strBytes.byteLength);
  const str = (i: number) => pool.toString("utf8", a.strStart[i]!, a.strStart[i + 1]!);
  const recOf = (r: number) => {
    const t = a.timerec[r]!;
    return t < 0 ? null : d.timerecs[t]!;
  };
  const ruleAt = (r: number): DrRule => {
    const gwGroups: DrGateway[][] = [];
    const g = a.gwg[r]!;
    for (let k = a.gwgStart[g]!, end = a.gwgStart[g + 1]!; k < end; ) {
      const len = a.gwgFlat[k++]!;
      const grp: DrGateway[] = [];
      for (let j = 0; j < len; j++) grp.push(gwOf(a.gwgFlat[k++]!));
      gwGroups.push(grp);
    }
    const rid = a.routeId[r]!;
    return {
      ruleId: a.ruleId[r]!,
      groups: Array.from(a.groupFlat.subarray(a.groupStart[r]!, a.groupStart[r + 1]!)),
      prefix: str(a.prefix[r]!),
      timerec: recOf(r),
      priority: a.priority[r]!,
      routeId: rid < 0 ? null : str(rid),
      gwGroups,
      gwlist: str(a.gwlist[r]!),
    };
  };
  const rulesOf = (list: number): DrRule[] => {
    const out: DrRule[] = [];
    for (let k = a.listStart[list]!, end = a.listStart[list + 1]!; k < end; k++) out.push(ruleAt(a.listRules[k]!));
    return out;
  };
  const firstInTime = (list: number, now: number, cal: Calendar): number => {
    for (let k = a.listStart[list]!, end = a.listStart[list + 1]!; k < end; k++) {
      const r = a.listRules[k]!;
      if (matchTimeRec(recOf(r), now, cal)) return r;
    }
    return -1;
  };

  // per group: the shared tree and, for the delta compile and a delta's overlay (delta.ts), a
  // DrGroupRules whose tree answers with rule objects made on demand (one object per group)
  const trees = new Map<number, { tree: PrefixTree<number>; noPrefix: number }>();
  const base = new Map<number, DrGroupRules>();
  for (const g of d.groups) {
    const t = PrefixTree.attach(g.tree);
    trees.set(g.id, { tree: t, noPrefix: g.noPrefix });
    const view = {
      size: t.size,
      get: (prefix: string) => {
        const l = t.get(prefix);
        return l === undefined ? undefined : rulesOf(l);
      },
      forEachMatch: (key: string, fn: (v: DrRule[], len: number) => boolean | void) => t.forEachMatch(key, (l, len) => fn(rulesOf(l), len)),
      collect: (key: string) => t.collect(key).map(rulesOf),
    } as unknown as PrefixTree<DrRule[]>;
    base.set(g.id, {
      tree: view,
      get noPrefix() {
        return rulesOf(g.noPrefix);
      },
    });
  }
  const levels: number[] = [];
  const rules: DrSharedRules = {
    data: d,
    bytes: droutingSharedDataBytes(d),
    isBase: (group, g) => base.get(group) === g,
    find(group, user, now, cal, edited) {
      const t = trees.get(group);
      if (edited === undefined || base.get(group) === edited) {
        if (t === undefined) return null;
        levels.length = 0;
        t.tree.forEachMatch(user, (v) => {
          levels.push(v);
        });
        for (let i = levels.length - 1; i >= 0; i--) {
          const r = firstInTime(levels[i]!, now, cal);
          if (r >= 0) return ruleAt(r);
        }
        const r = firstInTime(t.noPrefix, now, cal);
        return r < 0 ? null : ruleAt(r);
      }
      // a group a delta changed: the buffers' lists where the overlay has no entry (route.ts overlaidLevels)
      const ov = edited.overlay;
      const byLen: Array<[number, number | readonly DrRule[]]> = [];
      t?.tree.forEachMatch(user, (v, len) => {
        if (len > 0 && !ov?.has(user.slice(0, len))) byLen.push([len, v]);
      });
      for (const l of edited.overlayLengths ?? []) {
        if (l === 0 || l > user.length) continue;
        const o = ov!.get(user.slice(0, l));
        if (o !== undefined && o.length > 0) byLen.push([l, o]);
      }
      byLen.sort((x, y) => y[0] - x[0]);
      for (const [, l] of [...byLen, [0, edited.noPrefix] as const]) {
        if (typeof l === "number") {
          const r = firstInTime(l, now, cal);
          if (r >= 0) return ruleAt(r);
          continue;
        }
        for (const rule of l) if (matchTimeRec(rule.timerec, now, cal)) return rule;
      }
      return null;
    },
  };
  // the base ruleids, for a delta's duplicate check: sorted on first use (only the primary compiles deltas)
  let sortedIds: Float64Array | null = null;
  const ruleIds = {
    has(id: number): boolean {
      sortedIds ??= a.ruleId.slice(0, a.groupStart.length - 1).sort();
      let lo = 0;
      let hi = sortedIds.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = sortedIds[mid]!;
        if (v === id) return true;
        if (v < id) lo = mid + 1;
        else hi = mid - 1;
      }
      return false;
    },
  } as ReadonlySet<number>;
  const groups = new Map(base);
  const ov = d.overlay;
  if (ov) {
    // the delta's rules were cloned with their gateways: back to this version's gateway objects
    const same = new Map<DrRule, DrRule>();
    const own = (r: DrRule): DrRule => {
      let o = same.get(r);
      if (o === undefined) same.set(r, (o = { ...r, gwGroups: r.gwGroups.map((g) => g.map((gw) => gwOf(gw.gwid))) }));
      return o;
    };
    for (const [id, noPrefix, entries] of ov.groups) {
      const overlay = new Map(entries.map(([p, l]) => [p, l.map(own)] as const));
      const lengths = [...new Set([...overlay.keys()].map((k) => k.length))].sort((x, y) => y - x);
      const tree = base.get(id)?.tree ?? emptyPrefixTree<DrRule[]>();
      groups.set(id, { tree, noPrefix: noPrefix.map(own), ...(overlay.size > 0 ? { overlay, overlayLengths: lengths } : {}) });
    }
  }
  return {
    gateways,
    groups,
    userDomainGroups: new Map(d.userDomainGroups),
    userGroups: new Map(d.userGroups),
    byIp,
    ruleCount: ov?.ruleCount ?? d.ruleCount,
    ruleIds,
    lists,
    ...(ov ? { overlaySize: ov.overlaySize } : {}),
    sharedRules: rules,
    sharedRows: ov?.rows ?? d.rows,
  };
}

/** The groups a delta changed (not the buffers' own), for the post and the fold. */
function editedGroups(c: CompiledDrouting): Array<[number, DrGroupRules]> {
  const v = c.sharedRules!;
  return [...c.groups].filter(([id, g]) => !v.isBase(id, g));
}

/** What is posted to a worker: the buffers, plus a delta's changed groups as entries. */
export function shareDrouting(c: CompiledDrouting): SharedDrouting {
  const d = c.sharedRules!.data as SharedDrouting;
  const edited = editedGroups(c);
  if (edited.length === 0) return d;
  const groups = edited.map(([id, g]) => [id, [...g.noPrefix], [...(g.overlay ?? [])]] as const);
  return { ...d, overlay: { rows: c.sharedRows ?? d.rows, ruleCount: c.ruleCount, overlaySize: c.overlaySize ?? 0, groups } };
}

/** Whether a version carries a delta on top of its buffers (folded by the next full compile). */
export function droutingHasOverlay(c: CompiledDrouting): boolean {
  return c.sharedRules !== undefined && editedGroups(c).length > 0;
}

/** A delta over a shared version (delta.ts, over the buffers' groups), or null: compile the whole set. */
export function applySharedDroutingChanges(live: CompiledDrouting, changes: DrRowChanges, set: TableSet): CompiledDrouting | null {
  const next = applyDroutingChanges(live, changes, set);
  return next === null || next === live ? next : { ...next, sharedRows: rowCount(set) };
}

/** Bytes of shared memory a version holds (0 for one compiled the ordinary way). */
export function droutingSharedBytes(c: CompiledDrouting): number {
  return c.sharedRules?.bytes ?? 0;
}
