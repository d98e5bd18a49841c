import { defineModule } from "../../core/api.js";
import type { RequestState, TableSink } from "../../core/api.js";
import { SpeedDialTable, compileSpeedDialRows, indexSpeedDial } from "../../../tables/speed-dial/speed-dial-table.js";
import { splitUri } from "../../core/kit/index.js";

/** Module parameters (Kamailio speeddial names). */
export interface SpeedDialParams {
  /** 0 owner by user, 1 owner by user@domain, 2 also the code's domain. */
  readonly use_domain: 0 | 1 | 2;
  /** Prefix stripped from domains before matching. */
  readonly domain_prefix: string;
  /** Table names served (table kind "speed_dial"); default ["speed_dial"]. */
  readonly tables: readonly string[];
}

function parseParams(cfg: Readonly<Record<string, unknown>>): SpeedDialParams {
  const out = { use_domain: 0 as 0 | 1 | 2, domain_prefix: "", tables: ["speed_dial"] as string[] };
  for (const [k, v] of Object.entries(cfg)) {
    if (k === "use_domain") {
      if (v !== 0 && v !== 1 && v !== 2) throw new Error("speeddial: parameter use_domain must be 0, 1 or 2");
      out.use_domain = v;
    } else if (k === "domain_prefix") {
      if (typeof v !== "string") throw new Error("speeddial: parameter domain_prefix must be a string");
      out.domain_prefix = v.toLowerCase();
    } else if (k === "tables") {
      if (!Array.isArray(v) || v.length === 0 || v.some((t) => typeof t !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(t))) {
        throw new Error("speeddial: parameter tables must be a non-empty array of table names");
      }
      out.tables = v as string[];
    } else throw new Error(`speeddial: unknown parameter '${k}'`);
  }
  return out;
}

/**
 * The speed-dial script API.
 *
 * @example
 *   // LOCATION route of the default script: two-digit R-URI users are short codes
 *   if (/^[0-9]{2}$/.test(req.ruriUser ?? "")) speedDial.lookup(req, "speed_dial");
 */
export interface SpeedDialApi {
  readonly params: SpeedDialParams;
  /**
   * [sd_lookup(table[, owner])] replaces the R-URI with the owner's entry for the R-URI user
   * (the short code). The owner is the From URI unless given. Returns 1 replaced, -1 no entry.
   */
  lookup(req: RequestState, table?: string, owner?: string): number;
}

/**
 * speed_dial: per-user short codes from the `speed_dial` table (table kind "speed_dial"), as
 * Kamailio's speeddial module but compiled in memory.
 */
export default defineModule<SpeedDialApi>({
  name: "speed_dial",
  doc: "Per-user short dialling codes from the speed_dial table (Kamailio speeddial)",
  tables: ["speed_dial"],
  init(host) {
    const p = parseParams(host.config);
    let tables = new Map<string, SpeedDialTable>(p.tables.map((t) => [t, SpeedDialTable.empty(p.use_domain)]));
    const sink: TableSink<Map<string, SpeedDialTable>> = {
      kind: "speed_dial",
      tables: p.tables,
      compile: (set) => new Map(p.tables.map((t) => [t, indexSpeedDial(compileSpeedDialRows(set, t), p.use_domain)])),
      apply(c) {
        tables = c;
      },
    };
    host.tables.register(sink);
    const strip = (d: string) => (p.domain_prefix && d.startsWith(p.domain_prefix) && d.length > p.domain_prefix.length ? d.slice(p.domain_prefix.length) : d);
    return {
      params: p,
      lookup(req, table = "speed_dial", owner) {
        const t = tables.get(table);
        if (!t) {
          host.log.warn("speeddial: unknown table", { table });
          return -1;
        }
        const o = splitUri(owner ?? req.msg.from.uriText);
        const r = splitUri(req.ruri);
        if (!o || !o.user || !r || !r.user) return -1;
        const uri = t.find(o.user, strip(o.host), r.user, strip(r.host));
        if (!uri) return -1;
        req.setRuri(uri);
        return 1;
      },
    };
  },
});

export { SpeedDialTable, compileSpeedDial } from "../../../tables/speed-dial/speed-dial-table.js";
