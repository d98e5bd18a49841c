import { replicateState, type ModuleHost, type RequestContext } from "../../core/api.js";
import { createTableReloader } from "../../core/kit/reload-kind.js";
import { compileBySize, splitUriRaw } from "../../core/kit/index.js";
import { findGwByAddress, protoNumber } from "./from-gw.js";
import { loadGws, type LcrMtreeLookup, type LoadGwsResult, type MatchedGw } from "../../../tables/lcr/load-gws.js";
import { buildGwUris } from "./next-gw.js";
import { lcrRpcMethods } from "./rpc.js";
import { GwHealth, parseValidReplyCodes, type LcrPingConfig } from "./gw-health.js";
import { compileLcrSteps, compileLcrTables, type CompiledLcr, type LcrCompileOptions, type LcrGw } from "../../../tables/lcr/table.js";
import type { LcrWeighting } from "../../../tables/lcr/weights.js";
import { tableNamesOf } from "../../../tables/kinds.js";

/**
 * Keys under which the lcr functions keep per-call state in `req.vars` (Kamailio's AVPs:
 * gw_uri_avp, ruri_user_avp, tag_avp, flags_avp, rule_id_avp, lcr_id_avp, defunct_gw_avp).
 */
export const LCR_VARS = {
  /** Candidates still to try (MatchedGw[]), consumed by nextGw. */
  gws: "lcr:gws",
  ruriUser: "lcr:ruri_user",
  tag: "lcr:tag",
  flags: "lcr:flags",
  ruleId: "lcr:rule_id",
  lcrId: "lcr:lcr_id",
  /** Id of the gateway next_gw chose last (defunct_gw acts on it). */
  gwId: "lcr:gw_id",
} as const;

/**
 * The lcr script API (Kamailio lcr functions). Return values follow Kamailio: loadGws gives
 * 1 (found), 2 (none), -1 (error); booleans stand for 1 / -1; fromAnyGw/toAnyGw give the
 * lcr_id or -1.
 *
 * @example
 *   if (lcr.loadGws(req, 1) !== 1 || !lcr.nextGw(req)) return req.reply(503, "No gateways");
 *   req.onFailure("LCR_NEXT"); req.relay();
 */
export interface LcrApi {
  /** load_gws(lcr_id[, uri_user[, caller_uri]]): matches rules, stores the ordered gateways in req.vars. */
  loadGws(req: RequestContext, lcrId: number, uriUser?: string, callerUri?: string): 1 | 2 | -1;
  /** next_gw(): rewrites the R-URI (and $du) for the next gateway; false when none is left. */
  nextGw(req: RequestContext): boolean;
  /** defunct_gw(period): skips the gateway chosen by the last nextGw for `period` seconds. */
  defunctGw(req: RequestContext, period: number): boolean;
  /**
   * inactivate_gw(): counts a failure of the gateway chosen by the last nextGw; after
   * `ping_inactivate_threshold` of them it is skipped until an OPTIONS probe gets a valid reply.
   * False when `ping_interval` is 0 (Kamailio refuses it then) or no gateway was chosen.
   */
  inactivateGw(req: RequestContext): boolean;
  /** from_gw(lcr_id[, ip_addr, proto[, src_port]]): the request (or the address) is one of the instance's gateways. */
  fromGw(req: RequestContext, lcrId: number, ip?: string, proto?: number, srcPort?: number): boolean;
  /** from_any_gw([ip_addr, proto[, src_port]]): the lcr_id of the first instance the address belongs to, or -1. */
  fromAnyGw(req: RequestContext, ip?: string, proto?: number, srcPort?: number): number;
  /** to_gw(lcr_id[, ip_addr, proto]): the R-URI host (or the address) is one of the instance's gateways. */
  toGw(req: RequestContext, lcrId: number, ip?: string, proto?: number): boolean;
  /** to_any_gw([ip_addr, proto]): lcr_id or -1. */
  toAnyGw(req: RequestContext, ip?: string, proto?: number): number;
  /** The same match as loadGws without a request (route test, like the lcr.load_gws RPC). */
  lookup(lcrId: number, uriUser: string, callerUri?: string, requestUri?: string | null): LoadGwsResult;
}

export interface LcrConfig {
  readonly compile: LcrCompileOptions;
  readonly priorityOrdering: boolean;
  readonly weighting: LcrWeighting;
  /** Message flag that disables strip/prefix in next_gw (-1 = none). */
  readonly dontStripOrPrefixFlag: number;
  /** Tree used for mt_tvalue (Kamailio `mtree` param). */
  readonly mtreeName: string;
  /** Gateway probing (ping_interval & co.). */
  readonly ping: LcrPingConfig;
}

/** Reads the module config (Kamailio param names); throws naming the key. */
export function lcrConfigFromHost(config: Readonly<Record<string, unknown>>): LcrConfig {
  const int = (key: string, def: number, min: number, max: number): number => {
    const v = config[key];
    if (v === undefined) return def;
    const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) throw new Error(`lcr: ${key} must be an integer ${min}..${max}`);
    return n;
  };
  const weighting = config["weight_algorithm"] ?? "proportional";
  if (weighting !== "proportional" && weighting !== "kamailio") throw new Error("lcr: weight_algorithm must be 'proportional' or 'kamailio'");
  const mtreeName = config["mtree"] ?? "lcr";
  if (typeof mtreeName !== "string" || mtreeName === "") throw new Error("lcr: mtree must be a tree name");
  const lcrCount = config["lcr_count"] === undefined ? undefined : int("lcr_count", 1, 1, 65535);
  const str = (key: string, def: string): string => {
    const v = config[key] ?? def;
    if (typeof v !== "string") throw new Error(`lcr: ${key} must be a string`);
    return v;
  };
  const ping: LcrPingConfig = {
    interval: int("ping_interval", 0, 0, 86400),
    inactivateThreshold: int("ping_inactivate_threshold", 1, 1, 32),
    validReplyCodes: parseValidReplyCodes(str("ping_valid_reply_codes", "")),
    from: str("ping_from", "sip:pinger@localhost"),
    socket: str("ping_socket", ""),
    timeoutMs: int("ping_timeout", 0, 0, 600000),
  };
  if (ping.from !== "" && !/^sips?:/i.test(ping.from)) throw new Error("lcr: ping_from must be a sip: or sips: URI");
  return {
    compile: lcrCount === undefined ? {} : { lcrCount },
    priorityOrdering: int("priority_ordering", 0, 0, 1) === 1,
    weighting,
    dontStripOrPrefixFlag: int("dont_strip_or_prefix_flag", -1, -1, 31),
    mtreeName,
    ping,
  };
}

export interface LcrDeps {
  /** Unix time in seconds (defunct comparisons). */
  readonly now?: () => number;
  /** Uniform [0, 1) source for weights. */
  readonly random?: () => number;
}

export interface LcrModule {
  readonly api: LcrApi;
  current(): CompiledLcr;
  /** Gateway health (inactivate_gw states and the OPTIONS prober). */
  readonly health: GwHealth;
  /** Stops the prober. */
  destroy(): void;
}

/** Wires lcr into a host: table sink, RPCs, stats; returns the API. */
export function createLcr(host: ModuleHost, deps: LcrDeps = {}): LcrModule {
  const cfg = lcrConfigFromHost(host.config);
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  const random = deps.random ?? Math.random;
  let live: CompiledLcr = compileLcrTables({}, cfg.compile);
  // mt_tvalue: the mtree module's API when mtree is configured (ModuleDefinition.optional)
  const offered = (host.modules["mtree"] ?? null) as LcrMtreeLookup | null;
  const mtree: LcrMtreeLookup | null = offered !== null && typeof offered.matchAll === "function" ? offered : null;
  /** Runtime defunct marks by `${lcrId}:${gwId}`; they survive table reloads. */
  const defunctMarks = new Map<string, number>();
  const stats = host.stats.group("lcr", ["load_gws_found", "load_gws_none", "load_gws_error", "next_gw", "next_gw_none", "ping_sent", "ping_failed"]);
  stats.gauge("gateways", () => live.gwCount);
  stats.gauge("rules", () => live.ruleCount);
  const health = new GwHealth(cfg.ping, { uac: host.sip, events: host.events, stats, current: () => live, log: host.log });
  stats.gauge("gateways_inactive", () => health.size);
  // workers: gateway health and defunct marks are the node's; worker 0 alone probes
  const rep = replicateState<number | [number | null, string]>(host.node, "lcr", {
    snapshot: () => [
      ...[...defunctMarks].map(([k, until]): [string, number] => [`d:${k}`, until]),
      ...health.snapshot().map(([k, st, uri]): [string, [number, string]] => [`h:${k}`, [st, uri]]),
    ],
    apply: (k, v) => {
      if (typeof v === "number") {
        if (v > (defunctMarks.get(k.slice(2)) ?? 0)) defunctMarks.set(k.slice(2), v);
      } else health.applyRemote(k.slice(2), v[0], v[1]);
    },
  });

  host.tables.register({
    kind: "lcr",
    tables: tableNamesOf("lcr"),
    options: cfg.compile,
    // big tables (> 50k rows) compile in slices between SIP messages; small ones at once
    compile: (set) => compileBySize(set, () => compileLcrSteps(set, cfg.compile)),
    apply: (compiled) => {
      live = compiled as CompiledLcr;
      health.reconcile(live);
      rep.resync();
    },
  });

  const defunctUntil = (lcrId: number, gw: LcrGw): number => {
    if (defunctMarks.size === 0) return gw.defunctUntil;
    const mark = defunctMarks.get(`${lcrId}:${gw.gwId}`) ?? 0;
    return mark > gw.defunctUntil ? mark : gw.defunctUntil;
  };
  /** What load_gws compares with now: defunct time, or "for ever" while inactive (Kamailio GW_INACTIVE). */
  const skipUntil = (lcrId: number, gw: LcrGw): number => (health.isInactive(lcrId, gw.gwId) ? Number.POSITIVE_INFINITY : defunctUntil(lcrId, gw));

  const lookup = (lcrId: number, uriUser: string, callerUri = "", requestUri: string | null = null): LoadGwsResult => {
    const inst = lcrId >= 1 && lcrId <= live.lcrCount ? live.instances.get(lcrId) : undefined;
    if (inst === undefined) return { ok: false, error: `invalid lcr_id ${lcrId} (lcr_count ${live.lcrCount})` };
    const callerUser = callerUri === "" ? null : (splitUriRaw(callerUri)?.user ?? null);
    return loadGws(
      inst,
      { uriUser, callerUri, callerUser, requestUri },
      {
        now: now(),
        random,
        weighting: cfg.weighting,
        priorityOrdering: cfg.priorityOrdering,
        mtree: mtree === null ? null : { lookup: mtree, tree: cfg.mtreeName },
        defunctUntil: (gw) => skipUntil(lcrId, gw),
      },
    );
  };

  const markDefunct = (lcrId: number, gwId: number, period: number): boolean => {
    const inst = live.instances.get(lcrId);
    if (inst === undefined || !inst.gwIndexById.has(gwId)) return false;
    const until = now() + period;
    defunctMarks.set(`${lcrId}:${gwId}`, until);
    rep.publish(`d:${lcrId}:${gwId}`, until);
    host.events.publish("lcr.gw_defunct", { lcr_id: lcrId, gw_id: gwId, until });
    return true;
  };

  const setGwSide = (req: RequestContext, gw: LcrGw) => {
    req.vars.set(LCR_VARS.tag, gw.tag);
    req.vars.set(LCR_VARS.flags, gw.flags);
  };

  const fromGwIn = (req: RequestContext, lcrId: number, ip: string | undefined, proto: number | undefined, srcPort: number | undefined): boolean => {
    const inst = live.instances.get(lcrId);
    if (inst === undefined) return false;
    let addr: string;
    let p: number;
    let port: number;
    if (ip === undefined) {
      addr = req.source.address;
      p = protoNumber(req.source.proto);
      port = req.source.port;
    } else {
      addr = ip;
      p = proto ?? 0;
      port = srcPort ?? 0;
      if (p < 0 || p > 4 || port < 0 || port > 65535) return false;
    }
    const gw = findGwByAddress(inst, addr, p, port);
    if (gw === null) return false;
    setGwSide(req, gw);
    return true;
  };

  const toGwIn = (req: RequestContext, lcrId: number, ip: string | undefined, proto: number | undefined): boolean => {
    const inst = live.instances.get(lcrId);
    if (inst === undefined) return false;
    let addr: string;
    let p: number;
    if (ip === undefined) {
      const ru = splitUriRaw(req.ruri);
      if (ru === null) return false;
      addr = ru.host;
      const tp = /(?:^|;)transport=([^;]*)/i.exec(ru.params);
      p = protoNumber(tp ? tp[1] : null);
    } else {
      addr = ip;
      p = proto ?? 0;
      if (p < 0 || p > 4) return false;
    }
    return findGwByAddress(inst, addr, p, 0) !== null;
  };

  const api: LcrApi = {
    loadGws(req, lcrId, uriUser, callerUri) {
      const user = uriUser ?? req.ruriUser;
      if (user === null) {
        stats.inc("load_gws_error");
        return -1;
      }
      const res = lookup(lcrId, user, callerUri ?? "", req.ruri);
      req.vars.delete(LCR_VARS.ruriUser);
      if (!res.ok) {
        req.vars.delete(LCR_VARS.gws);
        host.log.debug("load_gws failed", { error: res.error });
        stats.inc("load_gws_error");
        return -1;
      }
      req.vars.set(LCR_VARS.gws, res.gws);
      req.vars.set(LCR_VARS.lcrId, lcrId);
      if (res.gws.length === 0) {
        stats.inc("load_gws_none");
        return 2;
      }
      stats.inc("load_gws_found");
      return 1;
    },

    nextGw(req) {
      const list = req.vars.get(LCR_VARS.gws) as MatchedGw[] | undefined;
      let user = req.vars.get(LCR_VARS.ruriUser) as string | undefined;
      if (user === undefined) {
        user = req.ruriUser ?? "";
        req.vars.set(LCR_VARS.ruriUser, user);
      }
      const noStrip = cfg.dontStripOrPrefixFlag >= 0 && (req.flags & (1 << cfg.dontStripOrPrefixFlag)) !== 0;
      while (list !== undefined && list.length > 0) {
        const m = list.shift()!;
        const uris = buildGwUris(m.gw, user, noStrip);
        if (uris === null) continue; // strip longer than the user: try the next one
        req.setRuri(uris.ruri);
        req.setDst(uris.dst);
        setGwSide(req, m.gw);
        req.vars.set(LCR_VARS.ruleId, m.ruleId);
        req.vars.set(LCR_VARS.gwId, m.gw.gwId);
        stats.inc("next_gw");
        return true;
      }
      stats.inc("next_gw_none");
      return false;
    },

    defunctGw(req, period) {
      if (!Number.isInteger(period) || period < 0) return false;
      const lcrId = req.vars.get(LCR_VARS.lcrId);
      const gwId = req.vars.get(LCR_VARS.gwId);
      if (typeof lcrId !== "number" || typeof gwId !== "number") return false;
      return markDefunct(lcrId, gwId, period);
    },

    inactivateGw(req) {
      if (!health.enabled) {
        host.log.debug("inactivate_gw needs ping_interval > 0");
        return false;
      }
      const lcrId = req.vars.get(LCR_VARS.lcrId);
      const gwId = req.vars.get(LCR_VARS.gwId);
      if (typeof lcrId !== "number" || typeof gwId !== "number") return false;
      const inst = live.instances.get(lcrId);
      const idx = inst?.gwIndexById.get(gwId);
      if (idx === undefined) return false;
      return health.inactivate(lcrId, inst!.gws[idx - 1]!) >= 0;
    },

    fromGw: (req, lcrId, ip, proto, srcPort) => fromGwIn(req, lcrId, ip, proto, srcPort),

    fromAnyGw(req, ip, proto, srcPort) {
      for (const id of live.instances.keys()) if (fromGwIn(req, id, ip, proto, srcPort)) return id;
      return -1;
    },

    toGw: (req, lcrId, ip, proto) => toGwIn(req, lcrId, ip, proto),

    toAnyGw(req, ip, proto) {
      for (const id of live.instances.keys()) if (toGwIn(req, id, ip, proto)) return id;
      return -1;
    },

    lookup,
  };

  host.rpc.registerAll(
    lcrRpcMethods({
      current: () => live,
      defunctUntil,
      stateOf: (lcrId, gw) => health.stateOf(lcrId, gw.gwId),
      lookup: (id, user, caller, ruri) => lookup(id, user, caller, ruri),
      defunct: markDefunct,
      reload: createTableReloader(host, "lcr"),
    }),
  );
  if (rep.shared) health.onChange = (k, st, uri) => rep.publish(`h:${k}`, [st, uri]);
  if (rep.prober) health.start();
  return {
    api,
    current: () => live,
    health,
    destroy: () => {
      health.stop();
      rep.close();
    },
  };
}
