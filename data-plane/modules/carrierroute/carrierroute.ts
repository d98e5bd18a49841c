import type { ModuleHost, RequestContext } from "../../core/api.js";
import { createTableReloader } from "../../core/kit/reload-kind.js";
import { compileBySize } from "../../core/kit/index.js";
import { crc32 } from "./crc32.js";
import { crRpcMethods, ruleKey, type HostState } from "./rpc.js";
import { findNextDomain, findRouteFlags, matchKey, resolveCarrier, resolveDomain, rewriteUri, ruleByDice, ruleByIndex } from "../../../tables/carrierroute/select.js";
import { compileCarrierrouteSteps, compileCarrierrouteTables, type CarrierrouteCompileOptions, type CompiledCarrierroute, type CrRouteFlags, type CrRule } from "../../../tables/carrierroute/table.js";
import { tableNamesOf } from "../../../tables/kinds.js";

/** What the target hash is computed over (Kamailio hash_source). */
export type HashSource = "call_id" | "from_uri" | "from_user" | "to_uri" | "to_user" | "rand";

/** Keys of the per-call state in req.vars. */
export const CR_VARS = {
  /** Hosts already tried in this transaction (avoid_failed_destinations). */
  usedHosts: "carrierroute:used_hosts",
  /** description of the chosen target (Kamailio's descavp / dstvar). */
  description: "carrierroute:description",
  host: "carrierroute:host",
  nextDomain: "carrierroute:next_domain",
  userCarrier: "carrierroute:user_carrier",
} as const;

/** Looks up a subscriber's cr_preferred_carrier (Kamailio subscriber table); null/0 = none. */
export type UserCarrierLookup = (user: string, domain: string | null) => number | null | Promise<number | null>;

/**
 * The carrierroute script API. Booleans stand for Kamailio's 1 / -1.
 *
 * @example
 *   if (!cr.route(req, "default", "proxy", req.ruriUser ?? "", req.ruriUser ?? "", "call_id")) req.reply(503, "No route");
 *   // failure route: const d = cr.nextDomain(f, "default", "proxy", user, host, String(f.replyCode));
 */
export interface CarrierrouteApi {
  /**
   * cr_route(carrier, domain, prefix_matching, rewrite_user, hash_source[, descavp]): rewrites
   * the R-URI to a target of the longest matching prefix, chosen by prob with a CRC32 hash.
   * False for: unknown carrier/domain, no prefix or flag group, all prob 0, a blacklisted
   * (empty) rewrite_host, a deactivated target without backup, all targets already failed.
   */
  route(req: RequestContext, carrier: string | number, domain: string | number, prefixMatching: string, rewriteUser: string, hashSource: HashSource): boolean;
  /** cr_nofallback_route: like route but the hash picks a target by index, with no fall-back. */
  nofallbackRoute(req: RequestContext, carrier: string | number, domain: string | number, prefixMatching: string, rewriteUser: string, hashSource: HashSource): boolean;
  /**
   * cr_next_domain(carrier, domain, prefix_matching, host, reply_code): the routing domain id to
   * retry with after a failure, or null (Kamailio -1).
   */
  nextDomain(req: RequestContext, carrier: string | number, domain: string | number, prefixMatching: string, host: string, replyCode: string): number | null;
  /** cr_user_carrier(user, domain): the subscriber's preferred carrier id (0 = none), -1 on error. */
  userCarrier(req: RequestContext, user: string, domain: string): Promise<number>;
  /** Connects the subscriber lookup used by userCarrier. */
  setUserCarrierLookup(lookup: UserCarrierLookup | null): void;
}

export interface CarrierrouteConfig {
  readonly compile: CarrierrouteCompileOptions;
  readonly fallbackDefault: boolean;
  readonly useDomain: boolean;
  readonly avoidFailedDestinations: boolean;
}

/** Reads the module config (Kamailio param names); throws naming the key. */
export function carrierrouteConfigFromHost(config: Readonly<Record<string, unknown>>): CarrierrouteConfig {
  const flag = (key: string, def: boolean): boolean => {
    const v = config[key];
    if (v === undefined) return def;
    if (v === 1 || v === "1" || v === true) return true;
    if (v === 0 || v === "0" || v === false) return false;
    throw new Error(`carrierroute: ${key} must be 0 or 1`);
  };
  const mm = config["match_mode"] ?? 10;
  const matchMode = typeof mm === "string" ? Number(mm) : mm;
  if (matchMode !== 10 && matchMode !== 128) throw new Error("carrierroute: match_mode must be 10 or 128");
  const tree = config["default_tree"] ?? "default";
  if (typeof tree !== "string" || tree === "") throw new Error("carrierroute: default_tree must be a carrier name");
  return {
    compile: { matchMode, defaultTree: tree },
    fallbackDefault: flag("fallback_default", true),
    useDomain: flag("use_domain", false),
    avoidFailedDestinations: flag("avoid_failed_destinations", true),
  };
}

export interface CarrierrouteDeps {
  readonly random?: () => number;
}

export interface CarrierrouteModule {
  readonly api: CarrierrouteApi;
  current(): CompiledCarrierroute;
}

const SOURCES: ReadonlySet<string> = new Set(["call_id", "from_uri", "from_user", "to_uri", "to_user", "rand"]);

/** Wires carrierroute into a host: table sink, RPCs, stats; returns the API. */
export function createCarrierroute(host: ModuleHost, deps: CarrierrouteDeps = {}): CarrierrouteModule {
  const cfg = carrierrouteConfigFromHost(host.config);
  const random = deps.random ?? Math.random;
  let live: CompiledCarrierroute = compileCarrierrouteTables({}, cfg.compile);
  const states = new Map<string, HostState>();
  let userLookup: UserCarrierLookup | null = null;
  // cr_user_carrier: a configured module offering the subscriber's cr_preferred_carrier
  // (ModuleDefinition.optional: ["auth"]); until one does, the script connects a lookup
  for (const m of Object.values(host.modules)) {
    const sub = m as { preferredCarrier?: UserCarrierLookup } | null;
    if (sub && typeof sub.preferredCarrier === "function") userLookup = sub.preferredCarrier.bind(sub);
  }
  const stats = host.stats.group("carrierroute", ["routed", "route_failed", "next_domain", "next_domain_failed"]);
  stats.gauge("rules", () => live.ruleCount);

  host.tables.register({
    kind: "carrierroute",
    tables: tableNamesOf("carrierroute"),
    options: cfg.compile,
    // big tables (> 50k rows) compile in slices between SIP messages; small ones at once
    compile: (set) => compileBySize(set, () => compileCarrierrouteSteps(set, cfg.compile)),
    apply: (compiled) => {
      live = compiled as CompiledCarrierroute;
    },
  });

  const hashOf = (req: RequestContext, source: HashSource): number | null => {
    if (!SOURCES.has(source)) throw new Error(`carrierroute: unknown hash source '${String(source)}' (call_id, from_uri, from_user, to_uri, to_user, rand)`);
    let s: string | null;
    switch (source) {
      case "call_id":
        s = req.msg.callId.trim().split(/\s/)[0] ?? "";
        break;
      case "from_uri":
        s = req.msg.from.uriText;
        break;
      case "to_uri":
        s = req.msg.to.uriText;
        break;
      case "from_user":
        s = req.msg.from.uri?.user ?? null;
        break;
      case "to_user":
        s = req.msg.to.uri?.user ?? null;
        break;
      default:
        s = String(Math.floor(random() * 2147483647));
    }
    return s === null ? null : crc32(s);
  };

  const active = (r: CrRule) => states.get(ruleKey(r))?.active ?? true;
  const withBackup = (g: CrRouteFlags, r: CrRule): CrRule | null => {
    let cur: CrRule | undefined = r;
    for (let hops = 0; cur !== undefined && hops <= g.rules.length; hops++) {
      if (active(cur)) return cur;
      const b: string | null = states.get(ruleKey(cur))?.backup ?? null;
      cur = b === null ? undefined : g.rules.find((x) => ruleKey(x) === b);
    }
    return null;
  };

  const doRoute = (req: RequestContext, carrier: string | number, domain: string | number, prefixMatching: string, rewriteUser: string, source: HashSource, byIndex: boolean): boolean => {
    const fail = () => (stats.inc("route_failed"), false);
    const cid = resolveCarrier(live, carrier, cfg.fallbackDefault);
    if (cid === null) return fail();
    const d = resolveDomain(live, cid, domain);
    if (d === null) return fail();
    const g = findRouteFlags(d, matchKey(prefixMatching, live.matchMode), req.flags);
    if (g === null) return fail();
    const hash = hashOf(req, source);
    if (hash === null) return fail();
    let rule: CrRule | null;
    if (byIndex) {
      rule = ruleByIndex(g, hash);
    } else {
      rule = ruleByDice(g, hash);
      if (rule !== null && cfg.avoidFailedDestinations && req.route === "failure") {
        const used = (req.vars.get(CR_VARS.usedHosts) as string[] | undefined) ?? [];
        if (used.includes(rule.host)) {
          const fresh = g.rules.filter((r) => r.prob > 0 && !used.includes(r.host) && active(r));
          rule = fresh.length === 0 ? null : fresh[Math.floor(random() * fresh.length)]!;
        }
      }
    }
    if (rule === null) return fail();
    rule = withBackup(g, rule);
    if (rule === null) return fail();
    const uri = rewriteUri(rule, rewriteUser, /^sips:/i.test(req.ruri));
    if (uri === null) return fail();
    if (cfg.avoidFailedDestinations && !byIndex) {
      const used = (req.vars.get(CR_VARS.usedHosts) as string[] | undefined) ?? [];
      req.vars.set(CR_VARS.usedHosts, [...used, rule.host]);
    }
    req.setRuri(uri);
    req.vars.set(CR_VARS.description, rule.description);
    req.vars.set(CR_VARS.host, rule.host);
    stats.inc("routed");
    return true;
  };

  const api: CarrierrouteApi = {
    route: (req, carrier, domain, pm, ru, src) => doRoute(req, carrier, domain, pm, ru, src, false),
    nofallbackRoute: (req, carrier, domain, pm, ru, src) => doRoute(req, carrier, domain, pm, ru, src, true),
    nextDomain(req, carrier, domain, prefixMatching, hostName, replyCode) {
      const cid = resolveCarrier(live, carrier, cfg.fallbackDefault);
      const d = cid === null ? null : resolveDomain(live, cid, domain);
      const r = d === null ? null : findNextDomain(d, matchKey(prefixMatching, live.matchMode), hostName, replyCode, req.flags);
      if (r === null) {
        stats.inc("next_domain_failed");
        return null;
      }
      req.vars.set(CR_VARS.nextDomain, r.nextDomain);
      stats.inc("next_domain");
      return r.nextDomain;
    },
    async userCarrier(req, user, domain) {
      if (userLookup === null) {
        host.log.warn("cr_user_carrier without a subscriber lookup");
        return -1;
      }
      try {
        const id = (await userLookup(user, cfg.useDomain ? domain : null)) ?? 0;
        req.vars.set(CR_VARS.userCarrier, id);
        return id;
      } catch (e) {
        host.log.warn("subscriber lookup failed", { error: e instanceof Error ? e.message : String(e) });
        return -1;
      }
    },
    setUserCarrierLookup(lookup) {
      userLookup = lookup;
    },
  };

  host.rpc.registerAll(crRpcMethods({ current: () => live, states, reload: createTableReloader(host, "carrierroute") }));
  return { api, current: () => live };
}
