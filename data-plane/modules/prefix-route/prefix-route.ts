import { RpcCode, type ModuleHost, type RpcMethod, type RequestContext } from "../../core/api.js";
import { createTableReloader } from "../../core/kit/reload-kind.js";
import { compilePrefixRouteSteps, compilePrefixRouteTables, dumpPrefixRouteLines, lookupPrefixRouteName, type CompiledPrefixRoutes, type PrefixRouteCompileOptions } from "../../../tables/prefix-route/table.js";
import { tableNamesOf } from "../../../tables/kinds.js";
import { applyPrefixRouteChanges } from "../../../tables/prefix-route/delta.js";
import { OverlayCompactor, compileBySize, runReload } from "../../core/kit/index.js";

/**
 * The prefix_route script API. Kamailio's prefix_route([user]) runs the matched route itself;
 * an Olelo script is TypeScript, so `match` returns the route name and the script calls its
 * route (and stops afterwards when `exit` is set, Kamailio's default).
 *
 * @example
 *   const name = prefixRoute.match(req);
 *   if (name !== null) { routes[name]!(req); if (prefixRoute.exit) return; }
 */
export interface PrefixRouteApi {
  /**
   * Longest-prefix match of the R-URI user (or `user`): the route name, or null (Kamailio -1)
   * when nothing matches or there is no user. Non-digits in the number are skipped.
   */
  match(req: RequestContext, user?: string): string | null;
  /** Same lookup without a request. */
  lookup(user: string): string | null;
  /** Kamailio's `exit` param (default true): stop the script after running the matched route. */
  readonly exit: boolean;
}

/** Reads the module config (`exit`, `routes`) into options; throws naming the key. */
export function prefixRouteOptionsFromConfig(config: Readonly<Record<string, unknown>>): { exit: boolean; compile: PrefixRouteCompileOptions } {
  const exit = config["exit"];
  if (exit !== undefined && exit !== 0 && exit !== 1 && exit !== true && exit !== false) throw new Error("prefix_route: exit must be 0 or 1");
  const routes = config["routes"];
  if (routes !== undefined && (!Array.isArray(routes) || routes.some((r) => typeof r !== "string"))) {
    throw new Error("prefix_route: routes must be a list of route names");
  }
  return {
    exit: exit === undefined ? true : exit === 1 || exit === true,
    compile: routes ? { knownRoutes: routes as string[] } : {},
  };
}

export interface PrefixRouteModule {
  readonly api: PrefixRouteApi;
  current(): CompiledPrefixRoutes;
}

/** Wires prefix_route into a host: table sink, RPCs, stats; returns the API. */
export function createPrefixRoute(host: ModuleHost): PrefixRouteModule {
  const opts = prefixRouteOptionsFromConfig(host.config);
  let live: CompiledPrefixRoutes = compilePrefixRouteTables({}, opts.compile);
  const stats = host.stats.group("prefix_route", ["matched", "not_matched"]);
  stats.gauge("prefixes", () => live.count);
  stats.gauge("overlay_prefixes", () => live.overlay?.size ?? 0);

  // A delta's rows go into an overlay at once (applyPrefixRouteChanges); when deltas pause the
  // whole set is compiled again in slices and swapped in (OverlayCompactor).
  const compactor = new OverlayCompactor<CompiledPrefixRoutes>({
    hasOverlay: (c) => !!c.overlay,
    current: () => live,
    compile: (set) => compileBySize(set, () => compilePrefixRouteSteps(set, opts.compile)),
    replace: (fresh) => {
      live = fresh;
    },
    onError: (e) => host.log.error("prefix_route: folding the delta overlay into a new tree failed; the overlay stays", { error: e.message }),
  });

  host.tables.register({
    kind: "prefix_route",
    tables: tableNamesOf("prefix_route"),
    // big tables (> 50k rows) compile in slices between SIP messages; small ones at once
    compile: (set) => compileBySize(set, () => compilePrefixRouteSteps(set, opts.compile)),
    compileDelta: (change) => {
      const rows = change.tables.get("prefix_route");
      if (!rows) return null;
      const next = applyPrefixRouteChanges(live, rows, change.set, opts.compile);
      if (next) compactor.deltaCompiled(change.set);
      return next;
    },
    apply: (compiled) => {
      live = compiled as CompiledPrefixRoutes;
      compactor.applied(live);
    },
  });

  const lookup = (user: string): string | null => {
    const route = lookupPrefixRouteName(live, user);
    stats.inc(route === null ? "not_matched" : "matched");
    return route;
  };
  const api: PrefixRouteApi = {
    match(req, user) {
      const u = user ?? req.ruriUser;
      if (u === null || u === "") {
        stats.inc("not_matched");
        return null;
      }
      return lookup(u);
    },
    lookup,
    exit: opts.exit,
  };
  host.rpc.registerAll(prefixRouteRpcMethods({ current: () => live, reload: createTableReloader(host, "prefix_route") }));
  return { api, current: () => live };
}

/** prefix_route.reload and prefix_route.dump with Kamailio's outputs. */
export function prefixRouteRpcMethods(deps: { current(): CompiledPrefixRoutes; reload(): Promise<unknown> }): RpcMethod[] {
  return [
    {
      name: "prefix_route.reload",
      doc: "Reload prefix routes from their source (validated before the swap)",
      params: [],
      returns: "\"Prefix routes reloaded successfully\"",
      handler: async () => {
        await runReload(() => deps.reload(), "failed to reload prefix routes: ", RpcCode.BadRequest);
        return "Prefix routes reloaded successfully";
      },
    },
    {
      name: "prefix_route.dump",
      doc: "Dump the prefix route tree",
      params: [],
      returns: "[\"Prefix route tree:\", ...lines]",
      handler: () => dumpPrefixRouteLines(deps.current()),
    },
  ];
}
