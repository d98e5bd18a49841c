import { defineModule, defineRpc } from "../../core/api.js";
import type { RequestState } from "../../core/api.js";
import { createTableReloader, splitUri, runReload, registerLiveTable } from "../../core/kit/index.js";
import { compileDomain, DomainTable, type LocalDomain } from "../../../tables/domain/domain-table.js";

/** req.vars key lookup_domain sets: the domain's did (Kamailio's did AVP). */
export const DID_VAR = "$avp(did)";

/**
 * The domain script API (Kamailio domain: is_domain_local, is_from_local, is_uri_host_local,
 * lookup_domain).
 *
 * @example
 *   if (domain.isFromLocal(req) > 0) { ... authenticate the local caller ... }
 *   if (domain.lookupDomain(req, req.ruriHost, "rd_") > 0) req.vars.get("$avp(rd_tier)");
 */
export interface DomainApi {
  /** [is_domain_local(domain)] a host, or a URI whose host is checked: 1 local, -1 not. */
  isDomainLocal(hostOrUri: string): number;
  /** [is_from_local()] the From URI's host is local: 1, else -1. */
  isFromLocal(req: RequestState): number;
  /** [is_uri_host_local()] the R-URI's host is local: 1, else -1. */
  isUriHostLocal(req: RequestState): number;
  /**
   * [lookup_domain(domain[, prefix])] for a local domain (or URI) sets $avp(did) (req.vars
   * DID_VAR) and each attribute as `$avp(<prefix><name>)`. 1 found, -1 not local, -2 bad argument.
   */
  lookupDomain(req: RequestState, hostOrUri: string, prefix?: string): number;
  /** The local domain (did + attrs) for a host or URI, or null. */
  lookup(hostOrUri: string): LocalDomain | null;
}

/** The host of a URI ("sip:a@Example.com:5060" → "example.com"), or the argument itself when it is a host. */
export function hostOf(hostOrUri: string): string | null {
  const s = hostOrUri.trim();
  if (s === "") return null;
  if (/^(sips?|tel):/i.test(s) || s.includes("@")) {
    const u = splitUri(s.includes(":") && /^(sips?|tel):/i.test(s) ? s : `sip:${s}`);
    return u?.host ? u.host.toLowerCase() : null;
  }
  const m = /^(\[[^\]]+\]|[^:]+)(:\d+)?$/.exec(s);
  return m ? m[1]!.toLowerCase() : null;
}

/**
 * domain: the local domains of a multi-domain proxy from Kamailio's `domain` and `domain_attrs`
 * tables (table kind "domain"). See README.md in this folder.
 */
export default defineModule<DomainApi>({
  name: "domain",
  doc: "Local domains and their attributes from the domain / domain_attrs tables (Kamailio domain)",
  rpc: ["domain.dump", "domain.reload"],
  stats: { group: "domain", counters: ["domains"] },
  tables: ["domain"],
  init(host) {
    for (const k of Object.keys(host.config)) throw new Error(`domain: unknown parameter '${k}'`);
    const table = registerLiveTable(host.tables, "domain", DomainTable.empty(), compileDomain);
    const stats = host.stats.group("domain", []);
    stats.gauge("domains", () => table().list().length);
    const reload = createTableReloader(host, "domain");
    host.rpc.registerAll([
      defineRpc({
        name: "domain.reload",
        doc: "Reload the domain and domain_attrs tables from their source (validated before the swap)",
        params: [],
        returns: "null",
        handler: async () => {
          await runReload(reload, "Domain table reload failed: ");
          return null;
        },
      }),
      defineRpc({
        name: "domain.dump",
        doc: "Dump the local domains with their did and attributes",
        params: [],
        returns: '[{ domain: "example.com", did: "example.com", attrs: [{ name, type, value }] }]',
        handler: () => table().list().map((d) => ({ domain: d.domain, did: d.did, attrs: d.attrs.map((a) => ({ name: a.name, type: a.type, value: a.value })) })),
      }),
    ]);
    const lookup = (hostOrUri: string): LocalDomain | null => {
      const h = hostOf(hostOrUri);
      return h === null ? null : table().lookup(h);
    };
    return {
      lookup,
      isDomainLocal: (hostOrUri) => (lookup(hostOrUri) ? 1 : -1),
      isFromLocal(req) {
        const h = req.msg.from.uri?.host;
        return h && table().isLocal(h) ? 1 : -1;
      },
      isUriHostLocal: (req) => (req.ruriHost && table().isLocal(req.ruriHost) ? 1 : -1),
      lookupDomain(req, hostOrUri, prefix = "") {
        if (!/^[A-Za-z0-9_]{0,32}$/.test(prefix)) return -2;
        const d = lookup(hostOrUri);
        if (!d) return -1;
        req.vars.set(DID_VAR, d.did);
        for (const a of d.attrs) req.vars.set(`$avp(${prefix}${a.name})`, a.value);
        return 1;
      },
    };
  },
});

export { compileDomain, DomainTable, type DomainAttr, type LocalDomain } from "../../../tables/domain/domain-table.js";
