import { RpcCode, RpcError, defineRpc } from "../../core/api.js";
import type { RpcMethod } from "../../core/api.js";
import type { FloodGuard } from "./flood-guard.js";
import type { PikeDetector } from "./pike-detector.js";

/**
 * pike.top [ALL|HOT|WARM] (alias pike.list) with Kamailio's shape:
 * `{max_hits, list: [{ip_addr, leaf_hits_prev, leaf_hits_curr, expires, status}], number_of_rows}`.
 * Kamailio's WARM filter returns nothing (a bug in its option handling); Olelo returns WARM sources.
 * pike.bans / pike.unban expose the default FloodGuard.
 */
export function pikeRpcMethods(detector: PikeDetector, guard: FloodGuard): RpcMethod[] {
  const top = ({ mode }: Record<string, unknown>) => {
    const m = String(mode ?? "HOT").toUpperCase();
    const sel = m.includes("ALL") ? "ALL" : m.includes("HOT") ? "HOT" : m.includes("WARM") ? "WARM" : null;
    if (sel === null) throw new RpcError(RpcCode.ServerError, "Bad argument. Select: ALL, HOT or WARM");
    const list = detector.top(sel);
    return { max_hits: detector.opts.reqsDensityPerUnit, list, number_of_rows: list.length };
  };
  const params = [{ name: "mode", type: "string" as const, optional: true, doc: "ALL, HOT (default) or WARM" }];
  return [
    { name: "pike.top", doc: "Tracked source addresses with their hit counts", params, returns: "{max_hits, list, number_of_rows}", handler: top },
    { name: "pike.list", doc: "Alias of pike.top", params, returns: "{max_hits, list, number_of_rows}", handler: top },
    defineRpc({
      name: "pike.bans",
      doc: "Sources currently banned by the flood guard",
      params: [],
      returns: "[{ip, until}]",
      handler: () => guard.bans().map((b) => ({ ip: b.key, until: new Date(b.until).toISOString() })),
    }),
    defineRpc({
      name: "pike.unban",
      doc: "Lifts the flood-guard ban of one address",
      params: [{ name: "ip", type: "string" }],
      returns: '"Ok"',
      handler: ({ ip }) => {
        if (!guard.unban(String(ip))) throw new RpcError(RpcCode.NotFound, `no ban for ${String(ip)}`);
        return "Ok";
      },
    }),
  ];
}
