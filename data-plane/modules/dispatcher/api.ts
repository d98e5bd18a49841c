import type { RequestContext, SipMessageView } from "../../core/api.js";
import type { DispatcherEngine } from "./engine.js";
import { isSkipped, parseMarkState, DS_DISABLED, DS_INACTIVE, DS_PROBING, DS_TRYING } from "../../../tables/dispatcher/flags.js";
import { isFromList as isFromListImpl } from "./is-from-list.js";
import { FLAG_FAILOVER } from "./params.js";
import { getDstList, pushDst, VAR_CNT, VAR_DST, type DstEntry, type DstList, type PushMode } from "./select/dst-list.js";
import { manageRoutes, type SelectState } from "./select/select.js";
import { buildOcDist } from "./state.js";

/** Extra selection options: `limit` (failover list size, 0 = all) and the alg 7 key. */
export interface SelectOptions {
  readonly limit?: number;
  /** Alg 7: the string to hash (Kamailio builds it from hash_pvar; here the script passes it). */
  readonly hash?: string;
}

/** What `current(req)` reports about the destination in use. */
export interface CurrentDst {
  readonly set: number;
  readonly uri: string;
  readonly attrs: string;
  readonly socket: string;
  /** Position in the failover list, 0 = first choice. */
  readonly index: number;
  /** Entries in the list. */
  readonly count: number;
}

/** `$dsg(...)` figures of a set (Kamailio ds_dsg_fetch). */
export interface SetSummary {
  readonly count: number;
  readonly active: number;
  readonly inactive: number;
  readonly trying: number;
  readonly disabled: number;
  readonly probing: number;
}

/**
 * The dispatcher's script API (what `init` returns; scripts get it as `modules.dispatcher`).
 * Functions return booleans as Kamailio's return codes (true = >0, false = <0) and never throw
 * on bad arguments: they log and return false.
 *
 * @example
 *   if (!ds.selectDst(req, 1, 4)) { req.reply(404, "No destination"); return; }
 *   req.onFailure("DS_FAIL"); req.relay();
 */
export interface DispatcherApi {
  /** ds_select_dst: choose a destination of `set` with `alg`, put it in $du. */
  selectDst(req: RequestContext, set: number, alg: number, limit?: number | SelectOptions): boolean;
  /** ds_select_domain: choose, rewrite the R-URI host:port. */
  selectDomain(req: RequestContext, set: number, alg: number, limit?: number | SelectOptions): boolean;
  /** ds_select: choose and fill the failover list only. */
  select(req: RequestContext, set: number, alg: number, limit?: number | SelectOptions): boolean;
  /** ds_select_routes("1=4;2=8", "d"|"r"|"x"): several sets into one failover list; the first choice goes to $du (d), R-URI (r) or nowhere (x). */
  selectRoutes(req: RequestContext, rules: string, mode: string, limit?: number): boolean;
  /** ds_next_dst: next entry of the failover list into $du (failure route). */
  nextDst(req: RequestContext): boolean;
  /** ds_next_domain: next entry into the R-URI host:port. */
  nextDomain(req: RequestContext): boolean;
  /** ds_set_dst: current entry into $du again. */
  setDst(req: RequestContext): boolean;
  /** ds_set_domain: current entry into the R-URI again. */
  setDomain(req: RequestContext): boolean;
  /** ds_mark_dst: mark the destination in use; state letters a/i/t/d/p, default "i" ("ip" with probing_mode 1). */
  markDst(req: RequestContext, state?: string): boolean;
  /** ds_mark_addr: mark any destination by set and URI. */
  markAddr(state: string, set: number, uri: string): boolean;
  /** ds_list_exists. */
  listExists(set: number): boolean;
  /** ds_is_from_list([set [, mode [, uri]]]); set -1 = every set. */
  isFromList(req: RequestContext, set?: number, mode?: number, uri?: string): boolean;
  /** ds_is_active(set [, uri]): any (or the given) destination selectable. */
  isActive(set: number, uri?: string): boolean;
  /** ds_load_update: BYE/CANCEL end an alg 10 call; a 2xx reply to the INVITE confirms it. */
  loadUpdate(ctx: { readonly msg: SipMessageView }): boolean;
  /** ds_load_unset: drop the alg 10 accounting of this call. */
  loadUnset(req: RequestContext): boolean;
  /** ds_oc_set_attrs: alg 64 overload control rate (0..100 % of selections skipped) for `validityMs`. */
  ocSetAttrs(set: number, uri: string, rate: number, validityMs: number, seq: number): boolean;
  /** ds_reload: reload from the current source; false when it failed (the old sets stay). */
  reload(): Promise<boolean>;
  /** The destination in use (the failover list entry), or null. */
  current(req: RequestContext): CurrentDst | null;
  /** ds_dsg_fetch: counts of a set by state, or null when the set does not exist. */
  setSummary(set: number): SetSummary | null;
}

function opts(limit: number | SelectOptions | undefined): { limit: number; hash?: string } {
  if (limit === undefined) return { limit: 0 };
  if (typeof limit === "number") return { limit: limit > 0 ? Math.trunc(limit) : 0 };
  const o: { limit: number; hash?: string } = { limit: limit.limit && limit.limit > 0 ? Math.trunc(limit.limit) : 0 };
  if (limit.hash !== undefined) o.hash = limit.hash;
  return o;
}

/** Builds the script API over an engine. `reload` is supplied by the module controller. */
export function createDispatcherApi(engine: DispatcherEngine, reload: () => Promise<boolean>): DispatcherApi {
  const failoverOn = (): boolean => (engine.params.flags & FLAG_FAILOVER) !== 0;

  function run(req: RequestContext, set: number, alg: number, limit: number | SelectOptions | undefined, mode: PushMode): boolean {
    if (!Number.isInteger(set) || !Number.isInteger(alg)) {
      req.log.warn("dispatcher: set and alg must be integers", { set, alg });
      return false;
    }
    const o = opts(limit);
    const st: SelectState = { setid: set, alg, limit: o.limit, mode, entries: [], pushed: false };
    if (o.hash !== undefined) st.hashValue = o.hash;
    const ok = manageRoutes(engine, req, st);
    return finish(req, st, ok);
  }

  function finish(req: RequestContext, st: SelectState, ok: boolean): boolean {
    if (!ok || st.entries.length === 0) {
      req.vars.delete(VAR_DST);
      req.vars.set(VAR_CNT, 0);
      engine.deps.stats.inc("no_destination");
      return false;
    }
    const list: DstList = { entries: st.entries, index: 0 };
    req.vars.set(VAR_DST, list);
    req.vars.set(VAR_CNT, st.entries.length);
    return true;
  }

  function next(req: RequestContext, mode: PushMode): boolean {
    if (!failoverOn()) return false;
    const list = getDstList(req);
    if (!list || list.index >= list.entries.length) return false;
    const cur = list.entries[list.index]!;
    cur.rt.failed++;
    engine.deps.stats.inc("failovers");
    list.index++;
    while (list.index < list.entries.length) {
      const e = list.entries[list.index]!;
      if (e.duid !== "" && engine.loads.has(req.msg.callId)) engine.loads.replace(req.msg.callId, e.duid);
      pushDst(req, e, mode, engine.params.defaultSocket);
      e.rt.selected++;
      return true;
    }
    return false;
  }

  function again(req: RequestContext, mode: PushMode): boolean {
    const list = getDstList(req);
    if (!list || list.index >= list.entries.length) return false;
    pushDst(req, list.entries[list.index]!, mode, engine.params.defaultSocket);
    return true;
  }

  function mark(entry: { setid: number; uri: string }, state: number, code: number): boolean {
    const loc = engine.live.find(entry.setid, entry.uri);
    if (!loc) return false;
    engine.updateState(loc, state, { reason: "script", code });
    return true;
  }

  return {
    selectDst: (req, set, alg, limit) => run(req, set, alg, limit, "dst"),
    selectDomain: (req, set, alg, limit) => run(req, set, alg, limit, "ruri"),
    select: (req, set, alg, limit) => run(req, set, alg, limit, "none"),

    selectRoutes(req, rules, mode, limit) {
      const m = mode.trim()[0];
      let push: PushMode;
      if (m === "0" || m === "d" || m === "D") push = "dst";
      else if (m === "1" || m === "r" || m === "R") push = "ruri";
      else if (m === "2" || m === "x" || m === "X") push = "none";
      else {
        req.log.warn("dispatcher: selectRoutes mode must be d, r or x", { mode });
        return false;
      }
      const pairs: Array<[number, number]> = [];
      for (const part of rules.split(";")) {
        if (part.trim() === "") continue;
        const mm = /^\s*(\d+)\s*=\s*(\d+)\s*$/.exec(part);
        if (!mm) {
          req.log.warn("dispatcher: selectRoutes rule must be set=alg", { rule: part });
          return false;
        }
        pairs.push([Number(mm[1]), Number(mm[2])]);
      }
      const st: SelectState = { setid: 0, alg: 0, limit: limit && limit > 0 ? Math.trunc(limit) : 0, mode: push, entries: [], pushed: false };
      let any = false;
      for (const [s, a] of pairs) {
        st.setid = s;
        st.alg = a;
        if (manageRoutes(engine, req, st)) any = true;
      }
      return finish(req, st, any);
    },

    nextDst: (req) => next(req, "dst"),
    nextDomain: (req) => next(req, "ruri"),
    setDst: (req) => again(req, "dst"),
    setDomain: (req) => again(req, "ruri"),

    markDst(req, state) {
      const list = getDstList(req);
      if (!list || list.index >= list.entries.length) return false;
      let st: number | null = engine.defaultMarkState();
      if (state !== undefined && state !== "") st = parseMarkState(state);
      if (st === null) {
        req.log.warn("dispatcher: markDst state must be letters a/i/t/d/p", { state });
        return false;
      }
      return mark(list.entries[list.index]!, st, 820);
    },

    markAddr(state, set, uri) {
      const st = parseMarkState(state);
      if (st === null || !Number.isInteger(set)) return false;
      return mark({ setid: set, uri }, st, 800);
    },

    listExists: (set) => engine.live.sets.has(set),

    isFromList: (req, set, mode, uri) => isFromListImpl(engine, req, set ?? -1, mode ?? 2, uri),

    isActive(set, uri) {
      const s = engine.set(set);
      if (!s) return false;
      if (uri === undefined || uri === "") return s.rt.some((r) => !isSkipped(r.flags));
      const loc = engine.live.find(set, uri);
      return loc !== undefined && !isSkipped(loc.rt.flags);
    },

    loadUpdate(ctx) {
      const msg = ctx.msg;
      if (msg.isRequest) {
        if (msg.method === "BYE" || msg.method === "CANCEL") engine.loads.remove(msg.callId);
        return true;
      }
      if (msg.cseq.method === "INVITE" && msg.status >= 200 && msg.status <= 299) engine.loads.confirm(msg.callId);
      return true;
    },

    loadUnset(req) {
      if (req.method === "INVITE") {
        const list = getDstList(req);
        if (!list || !list.entries.some((e: DstEntry) => e.duid !== "")) return true;
      }
      return engine.loads.remove(req.msg.callId);
    },

    ocSetAttrs(set, uri, rate, validityMs, seq) {
      const loc = engine.live.find(set, uri);
      if (!loc || !Number.isFinite(rate)) return false;
      const oc = loc.rt.oc;
      if (oc.seq >= seq) return false;
      const a = loc.dest.attrs;
      oc.rate = Math.min(a.ocmax, Math.max(a.ocmin, Math.trunc(rate)));
      oc.dist = buildOcDist(oc.rate, engine.random);
      oc.idx = 0;
      oc.until = engine.now() + (validityMs > 0 ? validityMs : 500);
      oc.seq = seq;
      return true;
    },

    reload,

    current(req) {
      const list = getDstList(req);
      if (!list || list.index >= list.entries.length) return null;
      const e = list.entries[list.index]!;
      return { set: e.setid, uri: e.uri, attrs: e.attrs, socket: e.socket, index: list.index, count: list.entries.length };
    },

    setSummary(set) {
      const s = engine.set(set);
      if (!s) return null;
      let active = 0;
      let inactive = 0;
      let trying = 0;
      let disabled = 0;
      let probing = 0;
      for (const r of s.rt) {
        if (r.flags & DS_INACTIVE) inactive++;
        else if (r.flags & DS_DISABLED) disabled++;
        else {
          active++;
          if (r.flags & DS_TRYING) trying++;
        }
        if (r.flags & DS_PROBING) probing++;
      }
      return { count: s.size, active, inactive, trying, disabled, probing };
    },
  };
}
