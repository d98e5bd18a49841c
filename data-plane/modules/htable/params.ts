import { z } from "zod";
import { custom, defineParams, int, issue, type ParamsOf } from "../../core/kit/params.js";
import type { HtableDefinition } from "./hash-table.js";

/**
 * The htable module's configuration section. Tables are given as Kamailio definition strings
 * (`"ipban=>size=8;autoexpire=300"`) or as objects with the same attribute names.
 *
 * @example
 *   htable: { htable: ["ipban=>size=8;autoexpire=300", { name: "a", size: 8, dbtable: "htable", dbmode: 1 }],
 *             db_url: "mysql://kamailio:pw@127.0.0.1/kamailio", timer_interval: 20 }
 */
export interface HtableParams {
  readonly tables: readonly HtableDefinition[];
  readonly db_url: string | null;
  /** Seconds between expiry sweeps (Kamailio timer_interval, default 20). */
  readonly timer_interval: number;
  /** Load/store the per-item `expires` column (Kamailio db_expires, default 0). */
  readonly db_expires: boolean;
}

const TABLE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const ATTRS = new Set(["name", "size", "autoexpire", "updateexpire", "initval", "dbtable", "dbmode", "dmqreplicate"]);
const UNSUPPORTED = new Set(["cols", "coldelim", "colnull", "reloadat"]);

function intAttr(table: string, attr: string, v: unknown, min: number, max: number): number {
  const r = int({ min, max, doc: attr }).schema.safeParse(v);
  if (!r.success) throw new Error(`htable '${table}': attribute ${attr} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return r.data;
}

/**
 * Parses one table definition (string or object) into a validated definition.
 * Throws an Error naming the table and the attribute.
 */
export function parseHtableDefinition(spec: unknown): HtableDefinition {
  let attrs: Record<string, unknown>;
  let name: string;
  if (typeof spec === "string") {
    const sep = spec.indexOf("=>");
    if (sep <= 0) throw new Error(`htable definition '${spec}': expected 'name=>attr=value;...'`);
    name = spec.slice(0, sep).trim();
    attrs = {};
    for (const part of spec.slice(sep + 2).split(";")) {
      const p = part.trim();
      if (p === "") continue;
      const eq = p.indexOf("=");
      if (eq <= 0) throw new Error(`htable '${name}': bad attribute '${p}' (expected attr=value)`);
      const k = p.slice(0, eq).trim();
      if (k in attrs) throw new Error(`htable '${name}': attribute ${k} given twice`);
      attrs[k] = p.slice(eq + 1).trim();
    }
  } else if (typeof spec === "object" && spec !== null && !Array.isArray(spec)) {
    attrs = { ...(spec as Record<string, unknown>) };
    name = typeof attrs.name === "string" ? attrs.name : "";
  } else {
    throw new Error(`htable definition must be a string or an object, got ${JSON.stringify(spec)}`);
  }
  if (!TABLE_NAME.test(name)) throw new Error(`htable name '${name}' is not valid (letters, digits, _ . -)`);
  for (const k of Object.keys(attrs)) {
    if (UNSUPPORTED.has(k)) throw new Error(`htable '${name}': attribute ${k} is not supported by Olelo`);
    if (!ATTRS.has(k)) throw new Error(`htable '${name}': unknown attribute ${k}`);
  }
  let dbtable: string | null = null;
  if (attrs.dbtable !== undefined && attrs.dbtable !== "") {
    if (typeof attrs.dbtable !== "string" || !SQL_NAME.test(attrs.dbtable)) {
      throw new Error(`htable '${name}': dbtable must be a plain SQL table name, got ${JSON.stringify(attrs.dbtable)}`);
    }
    dbtable = attrs.dbtable;
  }
  const initval = attrs.initval === undefined || attrs.initval === "" ? null : intAttr(name, "initval", attrs.initval, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const dbmode = attrs.dbmode === undefined ? 0 : intAttr(name, "dbmode", attrs.dbmode, 0, 1);
  if (dbmode === 1 && dbtable === null) throw new Error(`htable '${name}': dbmode=1 needs a dbtable`);
  return {
    name,
    size: attrs.size === undefined ? 4 : intAttr(name, "size", attrs.size, 1, 31),
    autoexpire: attrs.autoexpire === undefined ? 0 : intAttr(name, "autoexpire", attrs.autoexpire, 0, 0x7fffffff),
    updateexpire: attrs.updateexpire === undefined ? true : intAttr(name, "updateexpire", attrs.updateexpire, 0, 1) === 1,
    initval,
    dbtable,
    dbmode,
    dmqreplicate: attrs.dmqreplicate === undefined ? 0 : intAttr(name, "dmqreplicate", attrs.dmqreplicate, 0, 1),
  };
}

const shape = {
  htable: custom<readonly HtableDefinition[]>({
    type: "table definitions",
    default: [],
    doc: 'Tables, as Kamailio definition strings ("ipban=>size=8;autoexpire=300") or objects with the same attribute names',
    schema: z.unknown().transform((v, ctx) => {
      const raw = v === undefined ? [] : Array.isArray(v) ? v : [v];
      try {
        return raw.map(parseHtableDefinition);
      } catch (e) {
        return issue(ctx, { full: (e as Error).message });
      }
    }),
    fail: () => "must be a list of table definitions",
  }),
  db_url: custom<string | null>({
    type: "string",
    doc: "MySQL URL of the tables with dbmode=1",
    schema: z.unknown().transform((v) => v ?? null).pipe(z.string().min(1).nullable()),
    fail: () => "must be a non-empty string",
  }),
  timer_interval: int({ min: 1, max: 3600, default: 20, coerce: "none", doc: "Seconds between expiry sweeps (Kamailio timer_interval)", fail: () => "must be an integer 1..3600 (seconds)" }),
  db_expires: custom<boolean>({
    type: "0/1",
    default: 0,
    doc: "Load/store the per-item `expires` column (Kamailio db_expires)",
    schema: z.unknown().transform((v) => v ?? 0).pipe(z.union([z.literal(0), z.literal(1), z.boolean()])).transform((v) => v === 1 || v === true),
    fail: () => "must be 0 or 1",
  }),
};

function finish(p: ParamsOf<typeof shape>, cfg: Readonly<Record<string, unknown>>): HtableParams {
  const seen = new Set<string>();
  for (const t of p.htable) {
    if (seen.has(t.name)) throw new Error(`htable '${t.name}' defined twice`);
    seen.add(t.name);
    if (t.dmqreplicate) throw new Error(`htable '${t.name}': dmqreplicate=1 is not supported (no DMQ in Olelo)`);
  }
  const needsDb = p.htable.find((t) => t.dbmode === 1);
  if (needsDb && cfg.db_url === undefined) throw new Error(`htable '${needsDb.name}': dbmode=1 needs the 'db_url' parameter`);
  return { tables: p.htable, db_url: p.db_url, timer_interval: p.timer_interval, db_expires: p.db_expires };
}

/** The htable module's parameters (see HtableParams). */
export const htableParams = defineParams("htable", shape, { finish });

/** Validates the module section; throws an Error naming the parameter. */
export const parseHtableParams = (cfg: Readonly<Record<string, unknown>>): HtableParams => htableParams.parse(cfg);
