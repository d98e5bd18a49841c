/**
 * Routing script for test/routing-prefix-mtree.test.ts (prefix_route): the longest prefix of the
 * dialled number names one of this script's routes (Kamailio prefix_route runs the cfg route of
 * that name). Each route sends the call to its destinations in order (setting `destinations`:
 * route name → URIs); the failure route takes the next one after a 5xx or a silent timeout.
 * No match: 404 "No route".
 */
import { defineScript, type FailureContext, type RequestContext } from "../../data-plane/core/api.js";
import type { PrefixRouteApi } from "../../data-plane/modules/prefix-route/index.js";
import { proxyBasics, relay, shouldFailOver } from "./routing-proxy.js";

const LEFT = "rt:destinations";

export default defineScript(({ modules, settings }) => {
  const pr = modules.prefix_route as PrefixRouteApi;
  const destinations = (settings.destinations ?? {}) as Record<string, string[]>;

  /** Sends the request to the first of `list` and keeps the rest for the failure route. */
  function toList(req: RequestContext, list: readonly string[]): void {
    if (list.length === 0) {
      req.reply(503, "No destination");
      return;
    }
    req.setDst(list[0]!);
    req.vars.set(LEFT, list.slice(1));
    req.onFailure("NEXT_DST");
    relay(req);
  }

  /** The named routes the prefix_route table points at. */
  const routes: Record<string, (req: RequestContext) => void> = {
    GERMANY: (req) => toList(req, destinations.GERMANY ?? []),
    BERLIN: (req) => toList(req, destinations.BERLIN ?? []),
    UK: (req) => toList(req, destinations.UK ?? []),
    FRANCE: (req) => toList(req, destinations.FRANCE ?? []),
  };

  return {
    request(req) {
      if (proxyBasics(req)) return;
      const name = pr.match(req);
      const route = name === null ? undefined : routes[name];
      if (route === undefined) {
        req.reply(404, "No route");
        return;
      }
      route(req);
    },
    failure: {
      NEXT_DST(f: FailureContext) {
        const left = (f.vars.get(LEFT) as string[] | undefined) ?? [];
        if (!shouldFailOver(f) || left.length === 0) return;
        f.setDst(left[0]!);
        f.vars.set(LEFT, left.slice(1));
        f.onFailure("NEXT_DST");
        f.relay();
      },
    },
  };
});
