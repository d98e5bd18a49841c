import type { RequestContext } from "../../../core/api.js";
import type { DispatcherEngine } from "../engine.js";
import { isSkipped } from "../../../../tables/dispatcher/flags.js";
import { FLAG_FAILOVER, FLAG_HASH_USER_ONLY } from "../params.js";
import type { LiveSet } from "../state.js";
import { makeEntry, pushDst, type DstEntry, type PushMode } from "./dst-list.js";
import { hashAuthUser, hashCallId, hashFromUri, hashRuri, hashToUri, hashValue } from "./hash-keys.js";
import { orderByLatency, orderSrv, overloadSkip } from "./ordered-algs.js";

/**
 * Destination selection (Kamailio ds_manage_routes): pick a start index with the algorithm,
 * step over inactive/disabled destinations (trying ones stay eligible), apply the choice to the
 * request and build the failover list (the selected one first, then the ones after it, then the
 * ones before it, skipping unusable ones; the `use_default` destination last).
 */

/** Algorithm ids (Kamailio §1.4). */
export const ALG = {
  HASH_CALLID: 0,
  HASH_FROM: 1,
  HASH_TO: 2,
  HASH_RURI: 3,
  ROUND_ROBIN: 4,
  HASH_AUTH: 5,
  RANDOM: 6,
  HASH_VALUE: 7,
  SERIAL: 8,
  WEIGHT: 9,
  CALL_LOAD: 10,
  REL_WEIGHT: 11,
  PARALLEL: 12,
  LATENCY: 13,
  PRIO_OR_RR: 14,
  SRV: 15,
  OVERLOAD: 64,
} as const;

/** Per-call selection state (Kamailio ds_select_state_t). */
export interface SelectState {
  setid: number;
  alg: number;
  /** Max entries in the failover list (the selected one included); 0 = unlimited. */
  limit: number;
  mode: PushMode;
  /** Alg 7 key supplied by the script. */
  hashValue?: string;
  /** Entries collected so far (selectRoutes accumulates over several sets). */
  readonly entries: DstEntry[];
  /** True once a destination was pushed into $du / R-URI (selectRoutes pushes only the first). */
  pushed: boolean;
}

function cap(st: SelectState): number {
  return st.limit > 0 ? st.limit : Number.MAX_SAFE_INTEGER;
}

/** Round-robin step on a set's cursor. */
function rr(set: LiveSet): number {
  const h = set.last;
  set.last = (set.last + 1) % set.size;
  return h;
}

/**
 * Runs one selection. Returns true when a destination was chosen (Kamailio 1), false when the
 * set is missing/empty, every destination is down, or the algorithm has no key (-1).
 */
export function manageRoutes(engine: DispatcherEngine, req: RequestContext, st: SelectState): boolean {
  const p = engine.params;
  if (st.mode === "dst" && !p.forceDst && req.dst !== null && req.dst !== "") return false;
  const set = engine.set(st.setid);
  if (!set || set.size === 0) return false;
  const nr = set.size;
  const userOnly = (p.flags & FLAG_HASH_USER_ONLY) !== 0;
  let alg = st.alg;
  let hash = 0;
  let ordered: number[] | null = null;
  let fixedSel = -1;
  let ulast = false;

  switch (alg) {
    case ALG.HASH_CALLID:
      hash = hashCallId(req);
      break;
    case ALG.HASH_FROM:
      hash = hashFromUri(req, userOnly);
      break;
    case ALG.HASH_TO:
      hash = hashToUri(req, userOnly);
      break;
    case ALG.HASH_RURI:
      hash = hashRuri(req, userOnly);
      break;
    case ALG.ROUND_ROBIN:
    case ALG.OVERLOAD:
      hash = rr(set);
      ulast = true;
      break;
    case ALG.HASH_AUTH: {
      const h = hashAuthUser(req);
      if (h === null) {
        hash = rr(set);
        ulast = true;
      } else hash = h;
      break;
    }
    case ALG.RANDOM:
      hash = Math.floor(engine.random() * 4294967296);
      break;
    case ALG.HASH_VALUE:
      hash = hashValue(st.hashValue);
      break;
    case ALG.SERIAL:
    case ALG.PARALLEL:
      hash = 0;
      break;
    case ALG.WEIGHT:
      if (set.def.wlist) {
        hash = set.def.wlist[set.wlast % 100]!;
        set.wlast = (set.wlast + 1) % 100;
      } else hash = 0;
      break;
    case ALG.CALL_LOAD: {
      if (req.method !== "INVITE") {
        // only an INVITE starts a call: plain first-entry dispatching, no accounting
        hash = 0;
        alg = ALG.HASH_CALLID;
        break;
      }
      const i = leastLoaded(engine, set);
      if (i < 0) return false;
      const d = set.def.dests[i]!;
      if (d.attrs.duid === "") {
        req.log.warn("dispatcher alg 10: destination has no duid, call not accounted", { set: st.setid, uri: d.uri });
        alg = ALG.HASH_CALLID;
      } else {
        engine.loads.add(req.msg.callId, st.setid, d.attrs.duid, engine.now());
      }
      fixedSel = i;
      break;
    }
    case ALG.REL_WEIGHT:
      hash = set.rwlist[set.rwlast % 100]!;
      set.rwlast = (set.rwlast + 1) % 100;
      break;
    case ALG.LATENCY:
      ordered = orderByLatency(set, p.useDefault);
      break;
    case ALG.PRIO_OR_RR:
      if (set.def.samePriority) {
        hash = rr(set);
        ulast = true;
      } else hash = 0;
      break;
    case ALG.SRV:
      ordered = orderSrv(set, p.useDefault, engine.random);
      break;
    default:
      hash = 0;
  }
  if (hash < 0) return false;

  let sel: number;
  if (ordered !== null) {
    if (ordered.length === 0) {
      if (!p.useDefault || isSkipped(set.rt[nr - 1]!.flags)) return false;
      ordered = [nr - 1];
    }
    sel = ordered[0]!;
  } else if (fixedSel >= 0) {
    sel = fixedSel;
  } else {
    const n = p.useDefault && nr !== 1 ? nr - 1 : nr;
    hash %= n;
    let i = hash;
    const now = alg === ALG.OVERLOAD ? engine.now() : 0;
    while (isSkipped(set.rt[i]!.flags) || (alg === ALG.OVERLOAD && overloadSkip(set, i, now))) {
      i = (i + 1) % n;
      if (i === hash) {
        if (!p.useDefault) return false;
        i = nr - 1;
        if (isSkipped(set.rt[i]!.flags) || (alg === ALG.OVERLOAD && overloadSkip(set, i, now))) return false;
        break;
      }
    }
    sel = i;
    if (ulast) set.last = (sel + 1) % nr;
  }

  const first = makeEntry(set.def.dests[sel]!, set.rt[sel]!, alg === ALG.CALL_LOAD);
  if (st.mode !== "none" && !st.pushed) {
    pushDst(req, first, st.mode, p.defaultSocket);
    st.pushed = true;
  }
  set.rt[sel]!.selected++;
  engine.deps.stats.inc("selected");

  if (alg === ALG.PARALLEL) {
    addBranches(req, set, sel, st.mode, p.useDefault);
    st.entries.push(first);
    return true;
  }
  const failover = (p.flags & FLAG_FAILOVER) !== 0;
  const limit = cap(st);
  if (!failover) {
    // Kamailio keeps no list without failover; we keep the selected one so markDst still works.
    if (st.entries.length < limit) st.entries.push(first);
    return true;
  }
  if (st.entries.length >= limit) return true;
  st.entries.push(first);
  if (ordered !== null) {
    for (let k = 1; k < ordered.length && st.entries.length < limit; k++) {
      const i = ordered[k]!;
      st.entries.push(makeEntry(set.def.dests[i]!, set.rt[i]!, false));
    }
  } else {
    const load = alg === ALG.CALL_LOAD;
    for (let i = sel + 1; i < nr && st.entries.length < limit; i++) {
      if (usableForFailover(engine, set, i, load)) st.entries.push(makeEntry(set.def.dests[i]!, set.rt[i]!, load));
    }
    for (let i = 0; i < sel && st.entries.length < limit; i++) {
      if (usableForFailover(engine, set, i, load)) st.entries.push(makeEntry(set.def.dests[i]!, set.rt[i]!, load));
    }
  }
  if (p.useDefault && sel !== nr - 1 && st.entries.length < limit) {
    st.entries.push(makeEntry(set.def.dests[nr - 1]!, set.rt[nr - 1]!, alg === ALG.CALL_LOAD));
  }
  return true;
}

/** Whether destination `i` may follow the selected one in the failover list. */
function usableForFailover(engine: DispatcherEngine, set: LiveSet, i: number, callLoad: boolean): boolean {
  if (isSkipped(set.rt[i]!.flags)) return false;
  if (engine.params.useDefault && i === set.size - 1) return false;
  if (callLoad) {
    const d = set.def.dests[i]!;
    if (d.attrs.duid === "") return false;
    if (d.attrs.maxload !== 0 && engine.loads.load(set.id, d.attrs.duid) >= d.attrs.maxload) return false;
  }
  return true;
}

/**
 * Alg 10 (Kamailio ds_get_leastloaded): the active destination with the fewest tracked calls
 * that is under its maxload (0 = unlimited); ties go to the earlier one. -1 when none.
 */
export function leastLoaded(engine: DispatcherEngine, set: LiveSet): number {
  let k = -1;
  let t = Number.MAX_SAFE_INTEGER;
  for (let j = 0; j < set.size; j++) {
    if (isSkipped(set.rt[j]!.flags)) continue;
    const d = set.def.dests[j]!;
    const load = d.attrs.duid === "" ? 0 : engine.loads.load(set.id, d.attrs.duid);
    if (d.attrs.maxload !== 0 && load >= d.attrs.maxload) continue;
    if (load < t) {
      k = j;
      t = load;
    }
  }
  return k;
}

/**
 * Alg 12: the selected destination goes into $du / R-URI, every other active destination after
 * it becomes an extra branch (parallel fork). Unlike Kamailio, inactive ones are not forked to.
 */
function addBranches(req: RequestContext, set: LiveSet, sel: number, mode: PushMode, useDefault: boolean): void {
  const user = req.ruriUser;
  for (let i = sel + 1; i < set.size; i++) {
    if (isSkipped(set.rt[i]!.flags)) continue;
    if (useDefault && i === set.size - 1) continue;
    const d = set.def.dests[i]!;
    const sock = d.attrs.sockname !== "" ? d.attrs.sockname : d.attrs.socket;
    const opts = sock !== "" ? { socket: sock } : {};
    if (mode === "ruri") {
      const rest = d.uri.replace(/^sips?:/i, "");
      const scheme = d.target.scheme;
      req.appendBranch(user ? `${scheme}:${user}@${rest.replace(/^[^@]*@/, "")}` : d.uri, opts);
    } else {
      req.appendBranch(req.ruri, { ...opts, dst: d.uri });
    }
    set.rt[i]!.selected++;
  }
}
