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
  const n = typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`htable '${table}': attribute ${attr} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return n;
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

const KNOWN = new Set(["htable", "db_url", "timer_interval", "db_expires"]);

/** Validates the module section; throws an Error naming the parameter. */
export function parseHtableParams(cfg: Readonly<Record<string, unknown>>): HtableParams {
  for (const k of Object.keys(cfg)) if (!KNOWN.has(k)) throw new Error(`htable: unknown parameter '${k}'`);
  const raw = cfg.htable === undefined ? [] : Array.isArray(cfg.htable) ? cfg.htable : [cfg.htable];
  const tables = raw.map(parseHtableDefinition);
  const seen = new Set<string>();
  for (const t of tables) {
    if (seen.has(t.name)) throw new Error(`htable '${t.name}' defined twice`);
    seen.add(t.name);
    if (t.dmqreplicate) throw new Error(`htable '${t.name}': dmqreplicate=1 is not supported (no DMQ in Olelo)`);
  }
  const dbUrl = cfg.db_url;
  if (dbUrl !== undefined && (typeof dbUrl !== "string" || dbUrl === "")) throw new Error(`htable: parameter 'db_url' must be a non-empty string`);
  const needsDb = tables.find((t) => t.dbmode === 1);
  if (needsDb && dbUrl === undefined) {
    throw new Error(`htable '${needsDb.name}': dbmode=1 needs the 'db_url' parameter`);
  }
  const ti = cfg.timer_interval ?? 20;
  if (typeof ti !== "number" || !Number.isInteger(ti) || ti < 1 || ti > 3600) {
    throw new Error(`htable: parameter 'timer_interval' must be an integer 1..3600 (seconds)`);
  }
  const dbe = cfg.db_expires ?? 0;
  if (dbe !== 0 && dbe !== 1 && dbe !== true && dbe !== false) throw new Error(`htable: parameter 'db_expires' must be 0 or 1`);
  return { tables, db_url: (dbUrl as string | undefined) ?? null, timer_interval: ti, db_expires: dbe === 1 || dbe === true };
}
