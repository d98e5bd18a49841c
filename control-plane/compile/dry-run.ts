/**
 * Dry run of routing lookups on a compiled table set: where a number / R-URI would go by lcr,
 * drouting, carrierroute, prefix_route, mtree and a dispatcher set, using the lookup functions the
 * data plane's modules call (tables/<kind>/), with deterministic choices (no random order, first
 * dice range) so "now" and "after" compare. The management method `route.dryRun` runs it on the
 * fleet's version and on the candidate compiled from the database.
 *
 * @example
 *   dryRunLookup("prefix_route", compilePrefixRouteTables(set), { uri: "sip:+4930123@x" }, {}); // "route 'de'"
 */
import { createCalendar } from "../../tables/drouting/calendar.js";
import { findRule, orderGateways } from "../../tables/drouting/route.js";
import type { CompiledDrouting } from "../../tables/drouting/table.js";
import { findRouteFlags, matchKey, resolveCarrier, resolveDomain, ruleByDice } from "../../tables/carrierroute/select.js";
import type { CompiledCarrierroute } from "../../tables/carrierroute/table.js";
import type { CompiledDispatcher } from "../../tables/dispatcher/table.js";
import { loadGws } from "../../tables/lcr/load-gws.js";
import type { CompiledLcr } from "../../tables/lcr/table.js";
import { matchTree } from "../../tables/mtree/match.js";
import type { CompiledMtrees } from "../../tables/mtree/table.js";
import { lookupPrefixRouteName, type CompiledPrefixRoutes } from "../../tables/prefix-route/table.js";

/** The kinds a dry run answers for. */
export const DRY_RUN_KINDS = ["lcr", "drouting", "carrierroute", "prefix_route", "mtree", "dispatcher"] as const;
export type DryRunKind = (typeof DRY_RUN_KINDS)[number];

export interface DryRunQuery {
  /** R-URI or bare number. */
  uri: string;
  /** Source address or caller URI (lcr from_uri). */
  from?: string;
  /** ISO time (drouting time recurrences); default now. */
  time?: string;
}

export interface DryRunParams {
  lcrId?: number;
  drGroup?: number;
  carrier?: string;
  domain?: string;
  mtree?: string;
  dispatcherSet?: number;
}

/** The user part of a SIP URI, or the string itself when it is no URI. */
export function uriUser(uri: string): string {
  const m = /^sips?:([^@;?]+)@/i.exec(uri.trim());
  return m ? decodeURIComponent(m[1]!) : uri.trim();
}

/** One line: where the query goes by this kind (or why nowhere). */
export function dryRunLookup(kind: DryRunKind, compiled: unknown, q: DryRunQuery, p: DryRunParams): string {
  const user = uriUser(q.uri);
  const at = q.time ? Date.parse(q.time) : Date.now();
  if (Number.isNaN(at)) return `bad time '${q.time}'`;
  switch (kind) {
    case "prefix_route": {
      const name = lookupPrefixRouteName(compiled as CompiledPrefixRoutes, user);
      return name === null ? "no prefix matches" : `route '${name}'`;
    }
    case "lcr": {
      const c = compiled as CompiledLcr;
      const id = p.lcrId ?? 1;
      const inst = c.instances.get(id);
      if (!inst) return `no lcr instance ${id}`;
      const caller = q.from ? (/^sips?:/i.test(q.from) ? q.from : `sip:${q.from}`) : "";
      const r = loadGws(
        inst,
        { uriUser: user, callerUri: caller, callerUser: caller ? uriUser(caller) : null, requestUri: /^sips?:/i.test(q.uri) ? q.uri : null },
        { now: Math.floor(at / 1000), random: () => 0, weighting: "kamailio", priorityOrdering: false, mtree: null, defunctUntil: (gw) => gw.defunctUntil },
      );
      if (!r.ok) return r.error;
      if (r.gws.length === 0) return "no gateway (load_gws 2)";
      return r.gws.map((g) => `${g.gw.gwName || `gw${g.gw.gwId}`}(${g.gw.uri})`).join(", ");
    }
    case "drouting": {
      const c = compiled as CompiledDrouting;
      const rule = findRule(c, p.drGroup ?? 0, user, Math.floor(at / 1000), createCalendar("UTC"));
      if (!rule) return `no rule in group ${p.drGroup ?? 0}`;
      return `rule ${rule.ruleId}: ${orderGateways(rule, 0, () => 0).map((g) => g.address).join(", ") || "(no gateways)"}`;
    }
    case "carrierroute": {
      const c = compiled as CompiledCarrierroute;
      const carrier = resolveCarrier(c, p.carrier ?? 0, true);
      if (carrier === null) return `no carrier '${p.carrier ?? "default"}'`;
      const dom = p.domain !== undefined ? resolveDomain(c, carrier, p.domain) : [...(c.carriers.get(carrier)?.domains.values() ?? [])][0] ?? null;
      if (!dom) return `no domain '${p.domain ?? "(first)"}'`;
      const g = findRouteFlags(dom, matchKey(user, c.matchMode), 0);
      if (!g) return "no route";
      const rule = ruleByDice(g, 0) ?? g.rules[0];
      return rule ? (rule.host ? `${rule.host} (${g.rules.length} target(s) under prefix '${rule.prefix}')` : "blacklisted (empty host)") : "no route";
    }
    case "mtree": {
      const c = compiled as CompiledMtrees;
      const trees = p.mtree !== undefined ? [c.trees.get(p.mtree)].filter((t) => t !== undefined) : [...c.trees.values()];
      if (trees.length === 0) return p.mtree !== undefined ? `no tree '${p.mtree}'` : "no trees";
      return trees
        .map((t) => {
          const m = matchTree(t, user, 0);
          const v = m === null ? "-" : m.kind === "value" ? String(m.value) : m.kind === "dw" ? m.dstid.join(",") : m.items.map((i) => i.value).join(",");
          return `${t.name}: ${v}`;
        })
        .join("; ");
    }
    case "dispatcher": {
      const c = compiled as CompiledDispatcher;
      const ids = p.dispatcherSet !== undefined ? [p.dispatcherSet] : c.setIds;
      return (
        ids
          .map((id) => {
            const s = c.sets.get(id);
            return `set ${id}: ${s ? s.dests.map((d) => d.uri).join(", ") : "(none)"}`;
          })
          .join("; ") || "no sets"
      );
    }
  }
}
