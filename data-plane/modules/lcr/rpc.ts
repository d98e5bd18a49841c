import { RpcCode, RpcError, type RpcMethod, defineRpc } from "../../core/api.js";
import { runReload } from "../../core/kit/index.js";
import type { LoadGwsResult } from "../../../tables/lcr/load-gws.js";
import type { CompiledLcr, LcrGw, LcrRule } from "../../../tables/lcr/table.js";

/**
 * The lcr RPCs with Kamailio's names and output shapes (lcr_rpc.c). Like Kamailio's jsonrpcs, a
 * reply made of one struct is that struct; several (one per lcr instance) become an array.
 */
export interface LcrRpcDeps {
  current(): CompiledLcr;
  /** Effective defunct-until (table value or runtime override). */
  defunctUntil(lcrId: number, gw: LcrGw): number;
  /** Kamailio gw state: 0 active, 1+ failing and probed, 2 inactive (see gw-health.ts). */
  stateOf(lcrId: number, gw: LcrGw): number;
  /** lcr.load_gws: the route test. */
  lookup(lcrId: number, uriUser: string, callerUri: string, requestUri: string | null): LoadGwsResult;
  /** Marks a gateway defunct for `period` seconds; false when the instance or gateway is unknown. */
  defunct(lcrId: number, gwId: number, period: number): boolean;
  reload(): Promise<unknown>;
}

/** Kamailio prints IPv6 gateway addresses as eight %x groups (no zero compression). */
function printIp(gw: LcrGw): string {
  if (gw.ipCanon === null) return "0.0.0.0";
  if (!gw.ipv6) return gw.ipCanon;
  return gw.ipCanon
    .split(":")
    .map((g) => parseInt(g, 16).toString(16))
    .join(":");
}

/** One gateway as lcr.dump_gws / lcr.load_gws print it. */
export function dumpGw(gw: LcrGw, gwIndex: number, lcrId: number, defunctUntil: number, state = 0): Record<string, unknown> {
  return {
    lcr_id: lcrId,
    gw_index: gwIndex,
    gw_id: gw.gwId,
    gw_name: gw.gwName,
    scheme: gw.scheme,
    ip_addr: printIp(gw),
    hostname: gw.hostname ?? "",
    port: gw.port,
    params: gw.params,
    transport: gw.transport,
    strip: gw.strip,
    prefix: gw.prefix,
    tag: gw.tag,
    flags: gw.flags,
    state,
    defunct_until: String(defunctUntil),
  };
}

function dumpRule(r: LcrRule): Record<string, unknown> {
  const out: Record<string, unknown> = {
    lcr_id: r.lcrId,
    rule_id: r.ruleId,
    prefix: r.prefix,
    from_uri: r.fromUri,
    request_uri: r.requestUri,
    stopper: r.stopper ? 1 : 0,
  };
  if (r.targets.length > 0) out["gw"] = r.targets.map((t) => ({ gw_index: t.gwIndex, priority: t.priority, weight: t.weight }));
  return out;
}

export function lcrRpcMethods(deps: LcrRpcDeps): RpcMethod[] {
  return [
    defineRpc({
      name: "lcr.reload",
      doc: "Reload lcr tables from their source",
      params: [],
      returns: "null",
      handler: async () => {
        await runReload(() => deps.reload(), "LCR Module Reload Failed: ");
        return null;
      },
    }),
    defineRpc({
      name: "lcr.dump_gws",
      doc: "Dump the contents of lcr_gws table.",
      params: [],
      returns: "{ gw: [{ lcr_id, gw_index, gw_id, gw_name, scheme, ip_addr, hostname, port, params, transport, strip, prefix, tag, flags, state, defunct_until }] }",
      handler: () => {
        const c = deps.current();
        const gw: Array<Record<string, unknown>> = [];
        for (const inst of c.instances.values()) {
          inst.gws.forEach((g, i) => gw.push(dumpGw(g, i + 1, inst.lcrId, deps.defunctUntil(inst.lcrId, g), deps.stateOf(inst.lcrId, g))));
        }
        return gw.length === 0 ? null : { gw };
      },
    }),
    defineRpc({
      name: "lcr.dump_rules",
      doc: "Dump the contents of the lcr_rules table.",
      params: [
        { name: "lcr_id", type: "int", optional: true, doc: "only this instance" },
        { name: "prefix", type: "string", optional: true, doc: "only rules whose prefix starts this number" },
      ],
      returns: "{ rule: [{ lcr_id, rule_id, prefix, from_uri, request_uri, stopper, gw: [{ gw_index, priority, weight }] }], prefix_len: [..] } (an array of these with several instances)",
      handler: ({ lcr_id, prefix }) => {
        const c = deps.current();
        const filter = typeof prefix === "string" && prefix !== "" ? prefix : null;
        const out: Array<Record<string, unknown>> = [];
        for (const inst of c.instances.values()) {
          if (lcr_id !== undefined && lcr_id !== 0 && lcr_id !== inst.lcrId) continue;
          const rules = inst.ruleList.filter((r) => filter === null || filter.startsWith(r.prefix));
          if (rules.length === 0) continue;
          const rec: Record<string, unknown> = { rule: rules.map(dumpRule) };
          if (prefix === undefined && inst.prefixLens.length > 0) rec["prefix_len"] = [...inst.prefixLens];
          out.push(rec);
        }
        if (out.length === 0) throw new RpcError(RpcCode.NotFound, "Empty reply");
        return out.length === 1 ? out[0] : out;
      },
    }),
    defineRpc({
      name: "lcr.load_gws",
      doc:
        "Load matching gateways and prints their info in priority order. Mandatory parameters are lcr_id and uri_user " +
        "followed by optional parameters caller_uri and request_uri. Error is reported if an lcr_rule with matching " +
        "prefix and from_uri has non-null request_uri and request_uri parameter has not been given.",
      params: [
        { name: "lcr_id", type: "int" },
        { name: "uri_user", type: "string" },
        { name: "caller_uri", type: "string", optional: true },
        { name: "request_uri", type: "string", optional: true },
      ],
      returns: "[{ lcr_id, gw_index, gw_id, gw_name, ... }] in try order",
      handler: ({ lcr_id, uri_user, caller_uri, request_uri }) => {
        const c = deps.current();
        const id = lcr_id;
        if (id < 1 || id > c.lcrCount || !c.instances.has(id)) throw RpcError.invalidParam("lcr_id", `no lcr instance ${id} (lcr_count ${c.lcrCount})`);
        const res = deps.lookup(id, uri_user, caller_uri ?? "", request_uri ?? null);
        if (!res.ok) throw new RpcError(RpcCode.BadRequest, `load_gws execution error: ${res.error}`);
        return res.gws.map((m) => dumpGw(m.gw, m.gwIndex, id, deps.defunctUntil(id, m.gw), deps.stateOf(id, m.gw)));
      },
    }),
    defineRpc({
      name: "lcr.defunct_gw",
      doc: "Defunct gateway for the given number of seconds.",
      params: [
        { name: "lcr_id", type: "int" },
        { name: "gw_id", type: "int" },
        { name: "period", type: "int", doc: "seconds" },
      ],
      returns: "null",
      handler: ({ lcr_id, gw_id, period }) => {
        if (period < 0) throw RpcError.invalidParam("period", "must not be negative");
        if (!deps.defunct(lcr_id, gw_id, period)) {
          throw new RpcError(RpcCode.BadRequest, `parameter value error: no gateway ${gw_id} in lcr instance ${lcr_id}`);
        }
        return null;
      },
    }),
  ];
}
