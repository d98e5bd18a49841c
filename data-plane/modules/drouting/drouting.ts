import { replicateState, type ModuleHost, type RpcMethod, type RequestContext } from "../../core/api.js";
import { createTableReloader } from "../../core/kit/reload-kind.js";
import { createCalendar, type Calendar } from "../../../tables/drouting/calendar.js";
import { OverlayCompactor, compileBySize, expandIp, splitUriRaw, runReload } from "../../core/kit/index.js";
import { DrKeepalive, type DrGatewayState, type DrKeepaliveConfig } from "./keepalive.js";
import { buildDrUri, findRule, orderGateways, type SortOrder } from "../../../tables/drouting/route.js";
import { compileDroutingSteps, compileDroutingTables, type CompiledDrouting, type DrGateway, type DrRule } from "../../../tables/drouting/table.js";
import { tableNamesOf } from "../../../tables/kinds.js";
import { applyDroutingChanges } from "../../../tables/drouting/delta.js";

/** Keys of the per-call state in req.vars (Kamailio's ruri_avp / attrs_avp). */
export const DR_VARS = {
  /** Alternatives still to try: Array<{ ruri, attrs, gwid }>. */
  ruris: "drouting:ruris",
  /** attrs of the gateway now in the R-URI. */
  attrs: "drouting:attrs",
  gwid: "drouting:gw_id",
  ruleId: "drouting:rule_id",
  /** routeid of the matched rule (when the script did not run it through runRoute). */
  routeId: "drouting:routeid",
} as const;

export interface DoRoutingOptions {
  /**
   * Runs the rule's routeid (Kamailio runs that cfg route before using the gwlist); returning
   * false drops the routing (do_routing then fails). Without it the route name is only left in
   * req.vars (DR_VARS.routeId).
   */
  runRoute?(name: string, req: RequestContext): boolean;
}

/**
 * The drouting script API. Booleans stand for Kamailio's 1 / -1.
 *
 * @example
 *   if (!drouting.doRouting(req)) return req.reply(404, "No route");
 *   req.onFailure("DR_NEXT"); req.relay();
 *   // failure route: if (drouting.nextRouting(f)) f.relay();
 */
export interface DroutingApi {
  /**
   * do_routing([group]): picks the rule for the R-URI user in the group (the caller's group from
   * dr_groups when omitted), rewrites the R-URI for its first gateway and keeps the others.
   */
  doRouting(req: RequestContext, group?: number, opts?: DoRoutingOptions): boolean;
  /** next_routing(): the next alternative into the R-URI; false when none is left. */
  nextRouting(req: RequestContext): boolean;
  /** use_next_gw(): the same as nextRouting. */
  useNextGw(req: RequestContext): boolean;
  /** goes_to_gw([type]): the next hop ($du, else R-URI) is a gateway's IP address (no DNS). */
  goesToGw(req: RequestContext, type?: number): boolean;
  /** is_from_gw([type[, flags]]): the source address (and port) is a gateway; flags ≠ 0 applies its strip to the R-URI user. */
  isFromGw(req: RequestContext, type?: number, flags?: number): boolean;
  /** The routing group of a caller (dr_groups), or null. */
  groupOf(user: string, domain: string): number | null;
  /** Route test without a request: the rule and the gateway order for a number. */
  lookup(group: number, number: string, nowSec?: number): { rule: DrRule; gateways: DrGateway[] } | null;
}

export interface DroutingConfig {
  readonly useDomain: boolean;
  readonly sortOrder: SortOrder;
  readonly calendar: Calendar;
  /** enable_keepalive and the probe settings. */
  readonly keepalive: DrKeepaliveConfig;
}

/** Reads the module config (Kamailio param names plus `timezone`); throws naming the key. */
export function droutingConfigFromHost(config: Readonly<Record<string, unknown>>): DroutingConfig {
  const num = (key: string, def: number, allowed: number[]): number => {
    const v = config[key];
    if (v === undefined) return def;
    const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !allowed.includes(n)) throw new Error(`drouting: ${key} must be one of ${allowed.join(", ")}`);
    return n;
  };
  const tz = config["timezone"] ?? "local";
  if (typeof tz !== "string") throw new Error("drouting: timezone must be 'local', 'UTC' or an IANA zone name");
  let calendar: Calendar;
  try {
    calendar = createCalendar(tz);
  } catch (e) {
    throw new Error(`drouting: timezone: ${(e as Error).message}`);
  }
  const int = (key: string, def: number, min: number, max: number): number => {
    const v = config[key];
    if (v === undefined) return def;
    const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) throw new Error(`drouting: ${key} must be an integer ${min}..${max}`);
    return n;
  };
  const from = config["keepalive_from"] ?? "sip:keepalive@kamailio.org";
  if (typeof from !== "string" || !/^sips?:/i.test(from)) throw new Error("drouting: keepalive_from must be a sip: or sips: URI");
  const keepalive: DrKeepaliveConfig = {
    enabled: num("enable_keepalive", 0, [0, 1]) === 1,
    intervalS: int("keepalive_interval", 30, 1, 86400),
    from,
    timeoutMs: int("keepalive_timeout", 0, 0, 600000),
  };
  return { useDomain: num("use_domain", 1, [0, 1]) === 1, sortOrder: num("sort_order", 0, [0, 1, 2]) as SortOrder, calendar, keepalive };
}

export interface DroutingDeps {
  /** Unix time in seconds. */
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface DroutingModule {
  readonly api: DroutingApi;
  current(): CompiledDrouting;
  /** Gateway keepalives (enable_keepalive). */
  readonly keepalive: DrKeepalive;
  /** Stops the keepalive timer. */
  destroy(): void;
}

interface Alternative {
  readonly ruri: string;
  readonly attrs: string;
  readonly gwid: number;
}

/** Wires drouting into a host: table sink, RPC, stats; returns the API. */
export function createDrouting(host: ModuleHost, deps: DroutingDeps = {}): DroutingModule {
  const cfg = droutingConfigFromHost(host.config);
  const now = deps.now ?? (() => Date.now() / 1000);
  const random = deps.random ?? Math.random;
  let live: CompiledDrouting = compileDroutingTables({});
  const stats = host.stats.group("drouting", ["routed", "not_routed", "next_routing", "keepalive_sent"]);
  stats.gauge("rules", () => live.ruleCount);
  stats.gauge("gateways", () => live.gateways.size);
  const keepalive = new DrKeepalive(cfg.keepalive, { uac: host.sip, events: host.events, stats, current: () => live, log: host.log });
  stats.gauge("gateways_down", () => keepalive.down);
  const usable = (gw: DrGateway) => keepalive.usable(gw);
  // workers: keepalive states are the node's; worker 0 alone probes
  const rep = replicateState<[DrGatewayState, string]>(host.node, "drouting", {
    snapshot: () => keepalive.snapshot().map(([gwid, st, address]): [string, [DrGatewayState, string]] => [String(gwid), [st, address]]),
    apply: (k, [st, address]) => keepalive.applyRemote(Number(k), st, address),
  });

  // A dr_rules-only delta goes into a per-group overlay at once; when deltas pause the whole set
  // is compiled again in slices and swapped in if nothing changed meanwhile (OverlayCompactor).
  const compactor = new OverlayCompactor<CompiledDrouting>({
    hasOverlay: (c) => !!c.overlaySize,
    current: () => live,
    compile: (set) => compileBySize(set, () => compileDroutingSteps(set)),
    replace: (fresh) => {
      live = fresh;
    },
    onError: (e) => host.log.error("drouting: folding the delta overlay into new trees failed; the overlay stays", { error: e.message }),
  });

  host.tables.register({
    kind: "drouting",
    tables: tableNamesOf("drouting"),
    // big tables (> 50k rows) compile in slices between SIP messages; small ones at once
    compile: (set) => compileBySize(set, () => compileDroutingSteps(set)),
    // a dr_rules-only delta goes into a per-group overlay at once (tables/drouting/delta.ts)
    compileDelta: (change) => {
      const next = applyDroutingChanges(live, change.tables, change.set);
      if (next) compactor.deltaCompiled(change.set);
      return next;
    },
    apply: (compiled) => {
      live = compiled as CompiledDrouting;
      keepalive.reconcile(live);
      rep.resync();
      compactor.applied(live);
    },
  });

  const groupOf = (user: string, domain: string): number | null =>
    (cfg.useDomain ? live.userDomainGroups.get(`${user}@${domain.toLowerCase()}`) : live.userGroups.get(user)) ?? null;

  const fail = (): boolean => {
    stats.inc("not_routed");
    return false;
  };

  const api: DroutingApi = {
    doRouting(req, group, opts) {
      let g = group;
      if (g === undefined) {
        const from = req.msg.from.uri;
        if (from === null || from.user === null) return fail();
        const found = groupOf(from.user, from.host);
        if (found === null) {
          host.log.debug("no group for caller", { user: from.user, domain: from.host });
          return fail();
        }
        g = found;
      }
      const parts = splitUriRaw(req.ruri);
      if (parts === null || parts.user === null) return fail();
      const rule = findRule(live, g, parts.user, now(), cfg.calendar);
      if (rule === null) return fail();
      req.vars.set(DR_VARS.ruleId, rule.ruleId);
      if (rule.routeId !== null) {
        req.vars.set(DR_VARS.routeId, rule.routeId);
        if (opts?.runRoute && !opts.runRoute(rule.routeId, req)) return fail();
      } else {
        req.vars.delete(DR_VARS.routeId);
      }
      const gws = orderGateways(rule, cfg.sortOrder, random, keepalive.down > 0 ? usable : undefined);
      if (gws.length === 0) return fail();
      const alts: Alternative[] = [];
      for (const gw of gws) {
        const ruri = buildDrUri({ user: parts.user, password: parts.password, params: parts.params, headers: parts.headers }, gw);
        if (ruri === null) {
          host.log.warn("strip would leave no user", { gwid: gw.gwid, strip: gw.strip });
          return fail();
        }
        alts.push({ ruri, attrs: gw.attrs, gwid: gw.gwid });
      }
      const first = alts.shift()!;
      req.setRuri(first.ruri);
      req.vars.set(DR_VARS.attrs, first.attrs);
      req.vars.set(DR_VARS.gwid, first.gwid);
      req.vars.set(DR_VARS.ruris, alts);
      stats.inc("routed");
      return true;
    },

    nextRouting(req) {
      const alts = req.vars.get(DR_VARS.ruris) as Alternative[] | undefined;
      if (alts === undefined || alts.length === 0) return false;
      const next = alts.shift()!;
      req.setRuri(next.ruri);
      req.vars.set(DR_VARS.attrs, next.attrs);
      req.vars.set(DR_VARS.gwid, next.gwid);
      stats.inc("next_routing");
      return true;
    },

    useNextGw(req) {
      return api.nextRouting(req);
    },

    goesToGw(req, type) {
      const hop = splitUriRaw(req.dst ?? req.ruri);
      const ip = hop === null ? null : expandIp(hop.host);
      if (ip === null) return false;
      const gws = live.byIp.get(ip);
      return gws !== undefined && gws.some((gw) => type === undefined || type < 0 || gw.type === type);
    },

    isFromGw(req, type, flags) {
      const ip = expandIp(req.source.address);
      if (ip === null) return false;
      const gw = live.byIp.get(ip)?.find((x) => (x.port === 0 || x.port === req.source.port) && (type === undefined || x.type === type));
      if (gw === undefined) return false;
      if (flags !== undefined && flags !== 0 && gw.strip > 0) {
        const p = splitUriRaw(req.ruri);
        if (p !== null && p.user !== null) {
          const user = p.user.slice(gw.strip);
          const hostport = p.port !== null ? `${p.host}:${p.port}` : p.host;
          const userinfo = user === "" ? "" : `${user}${p.password !== null ? `:${p.password}` : ""}@`;
          req.setRuri(`${p.scheme}:${userinfo}${hostport}${p.params ? ";" + p.params : ""}${p.headers ? "?" + p.headers : ""}`);
        }
      }
      return true;
    },

    groupOf,

    lookup(group, number, nowSec) {
      const rule = findRule(live, group, number, nowSec ?? now(), cfg.calendar);
      return rule === null ? null : { rule, gateways: orderGateways(rule, cfg.sortOrder, random, keepalive.down > 0 ? usable : undefined) };
    },
  };

  host.rpc.registerAll(droutingRpcMethods(createTableReloader(host, "drouting")));
  if (rep.shared) keepalive.onChange = (gwid, st, address) => rep.publish(String(gwid), [st, address]);
  if (rep.prober) keepalive.start();
  return {
    api,
    current: () => live,
    keepalive,
    destroy: () => {
      keepalive.stop();
      rep.close();
    },
  };
}

/** drouting.reload (the only RPC Kamailio's drouting has). */
export function droutingRpcMethods(reload: () => Promise<unknown>): RpcMethod[] {
  return [
    {
      name: "drouting.reload",
      doc: "Reload the drouting tables from their source",
      params: [],
      returns: "\"reload ok\"",
      handler: async () => {
        await runReload(reload, "failed to load routing data: ");
        return "reload ok";
      },
    },
  ];
}
