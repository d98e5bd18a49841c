import { defineModule } from "../../core/api.js";
import type { RequestState, TableSink } from "../../core/api.js";
import { AliasTable, compileAliasTable, type AliasTarget } from "../../../tables/alias-db/alias-table.js";
import { formatUri, splitUri } from "../../core/kit/index.js";

/** Module parameters (Kamailio alias_db names). */
export interface AliasDbParams {
  /** Match on the domain too by default (flags "u"/"d" override per call). */
  readonly use_domain: boolean;
  /** Prefix stripped from the domain before matching (e.g. "sip."). */
  readonly domain_prefix: string;
  /** An alias with several targets: first → R-URI, the others → branches. */
  readonly append_branches: boolean;
  /** Table names served (all of table kind "alias_db"); default ["dbaliases"]. */
  readonly tables: readonly string[];
}

function parseParams(cfg: Readonly<Record<string, unknown>>): AliasDbParams {
  const out = { use_domain: false, domain_prefix: "", append_branches: false, tables: ["dbaliases"] as string[] };
  for (const [k, v] of Object.entries(cfg)) {
    if (k === "use_domain" || k === "append_branches") {
      if (v !== 0 && v !== 1 && v !== true && v !== false) throw new Error(`alias_db: parameter ${k} must be 0 or 1`);
      out[k] = v === 1 || v === true;
    } else if (k === "domain_prefix") {
      if (typeof v !== "string") throw new Error("alias_db: parameter domain_prefix must be a string");
      out.domain_prefix = v.toLowerCase();
    } else if (k === "tables") {
      if (!Array.isArray(v) || v.length === 0 || v.some((t) => typeof t !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(t))) {
        throw new Error("alias_db: parameter tables must be a non-empty array of table names");
      }
      out.tables = v as string[];
    } else throw new Error(`alias_db: unknown parameter '${k}'`);
  }
  return out;
}

/**
 * The alias_db script API.
 *
 * @example
 *   // LOCATION route: an alias R-URI becomes the canonical user before lookup
 *   aliasDb.lookup(req, "dbaliases");
 */
export interface AliasDbApi {
  readonly params: AliasDbParams;
  /**
   * [alias_db_lookup(table, flags)] replaces the R-URI when it is an alias: "d" ignore the
   * domain, "u" use it, "r" reverse (user → alias). Returns 1 replaced, -1 not an alias.
   */
  lookup(req: RequestState, table?: string, flags?: string): number;
  /** [alias_db_find(table, in, out, flags)] the mapped URI (first target), or null. */
  find(uri: string, table?: string, flags?: string): string | null;
  /** Every mapped URI (for scripts that fork to all targets themselves). */
  findAll(uri: string, table?: string, flags?: string): string[];
}

interface Mode {
  readonly useDomain: boolean;
  readonly reverse: boolean;
}

function modeOf(p: AliasDbParams, flags: string): Mode {
  let useDomain = p.use_domain;
  let reverse = false;
  for (const f of flags) {
    if (f === "d") useDomain = false;
    else if (f === "u") useDomain = true;
    else if (f === "r") reverse = true;
    else throw new Error(`alias_db: unknown flag '${f}'`);
  }
  return { useDomain, reverse };
}

const toUri = (t: AliasTarget, fallbackHost: string) => `sip:${t.username}@${t.domain || fallbackHost}`;

/**
 * alias_db: user aliases from the `dbaliases` table (table kind "alias_db"), as Kamailio's
 * alias_db but compiled in memory — the table is pushed like every routing table.
 */
export default defineModule<AliasDbApi>({
  name: "alias_db",
  doc: "User aliases from the dbaliases table (Kamailio alias_db)",
  tables: ["alias_db"],
  init(host) {
    const p = parseParams(host.config);
    let tables = new Map<string, AliasTable>(p.tables.map((t) => [t, AliasTable.empty()]));
    const sink: TableSink<Map<string, AliasTable>> = {
      kind: "alias_db",
      tables: p.tables,
      compile: (set) => new Map(p.tables.map((t) => [t, compileAliasTable(set, t)])),
      apply(c) {
        tables = c;
      },
    };
    host.tables.register(sink);
    const resolve = (uri: string, table: string, flags: string): { targets: readonly AliasTarget[]; host: string; parts: ReturnType<typeof splitUri> } | null => {
      const t = tables.get(table);
      if (!t) {
        host.log.warn("alias_db: unknown table", { table });
        return null;
      }
      const u = splitUri(uri);
      if (!u || !u.user) return null;
      const m = modeOf(p, flags);
      let domain = u.host;
      if (p.domain_prefix && domain.startsWith(p.domain_prefix) && domain.length > p.domain_prefix.length) domain = domain.slice(p.domain_prefix.length);
      let user = u.user;
      try {
        user = decodeURIComponent(u.user);
      } catch {
        /* keep as written */
      }
      const targets = t.find(user, m.useDomain ? domain : null, m.reverse);
      return targets.length ? { targets, host: u.host, parts: u } : null;
    };
    return {
      params: p,
      lookup(req, table = "dbaliases", flags = "") {
        const r = resolve(req.ruri, table, flags);
        if (!r) return -1;
        const first = r.targets[0]!;
        // keep the R-URI's parameters, change user and host
        req.setRuri(formatUri({ ...r.parts!, user: first.username, host: first.domain || r.host, port: first.domain ? null : r.parts!.port }));
        if (p.append_branches) for (const t of r.targets.slice(1)) req.appendBranch(toUri(t, r.host));
        return 1;
      },
      find: (uri, table = "dbaliases", flags = "") => {
        const r = resolve(uri, table, flags);
        return r ? toUri(r.targets[0]!, r.host) : null;
      },
      findAll: (uri, table = "dbaliases", flags = "") => {
        const r = resolve(uri, table, flags);
        return r ? r.targets.map((t) => toUri(t, r.host)) : [];
      },
    };
  },
});

export { AliasTable, compileAliasTable, type AliasTarget } from "../../../tables/alias-db/alias-table.js";
