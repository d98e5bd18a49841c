/**
 * The compile options of the four kinds whose valid rows depend on data-plane module params
 * (lcr `lcr_count`, carrierroute `match_mode`/`default_tree`, mtree tree types / `char_list` /
 * duplicates, htable `dbtable` names), in their JSON form: what a data plane's sink applies and
 * reports in its Hello (`compile_options`), and what the control plane reads back to validate a
 * version with that very option set (tables/README.md, "Params"). Each reader throws a one-line
 * Error naming the option when the JSON does not describe valid options.
 *
 * @example
 *   readKindOptions("lcr", '{"lcrCount":1}') // { lcrCount: 1 }
 */
import type { CarrierrouteCompileOptions } from "./carrierroute/table.js";
import type { LcrCompileOptions } from "./lcr/table.js";
import type { MtreeCompileOptions, MtreeType } from "./mtree/table.js";

/** htable: the `dbtable` names of the node's configured htables (a pushed table must be one of them). */
export interface HtableCompileOptions {
  readonly dbtables: readonly string[];
}

type Obj = Readonly<Record<string, unknown>>;

function object(kind: string, v: unknown): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`${kind} compile options must be a JSON object`);
  return v as Obj;
}

function only(kind: string, o: Obj, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new Error(`${kind} compile options: unknown option ${k}`);
}

const isType = (v: unknown): v is MtreeType => v === 0 || v === 1 || v === 2;

function lcr(o: Obj): LcrCompileOptions {
  only("lcr", o, ["lcrCount"]);
  const n = o.lcrCount;
  if (n === undefined) return {};
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`lcr compile options: lcrCount must be an integer 1..65535, got ${JSON.stringify(n)}`);
  return { lcrCount: n };
}

function carrierroute(o: Obj): CarrierrouteCompileOptions {
  only("carrierroute", o, ["matchMode", "defaultTree"]);
  if (o.matchMode !== undefined && o.matchMode !== 10 && o.matchMode !== 128) throw new Error(`carrierroute compile options: matchMode must be 10 or 128, got ${JSON.stringify(o.matchMode)}`);
  if (o.defaultTree !== undefined && (typeof o.defaultTree !== "string" || o.defaultTree === "")) throw new Error("carrierroute compile options: defaultTree must be a carrier name");
  return { ...(o.matchMode !== undefined ? { matchMode: o.matchMode } : {}), ...(o.defaultTree !== undefined ? { defaultTree: o.defaultTree as string } : {}) };
}

function mtree(o: Obj): MtreeCompileOptions {
  only("mtree", o, ["singleTreeName", "treeTypes", "defaultType", "charList", "allowDuplicates", "ignoreDuplicates"]);
  const str = (k: string) => {
    if (o[k] !== undefined && (typeof o[k] !== "string" || o[k] === "")) throw new Error(`mtree compile options: ${k} must be a non-empty string`);
  };
  const bool = (k: string) => {
    if (o[k] !== undefined && typeof o[k] !== "boolean") throw new Error(`mtree compile options: ${k} must be true or false`);
  };
  str("singleTreeName");
  str("charList");
  bool("allowDuplicates");
  bool("ignoreDuplicates");
  if (o.defaultType !== undefined && !isType(o.defaultType)) throw new Error("mtree compile options: defaultType must be 0, 1 or 2");
  if (o.treeTypes !== undefined) {
    for (const [name, t] of Object.entries(object("mtree treeTypes", o.treeTypes))) if (!isType(t)) throw new Error(`mtree compile options: treeTypes.${name} must be 0, 1 or 2`);
  }
  return o as MtreeCompileOptions;
}

function htable(o: Obj): HtableCompileOptions {
  only("htable", o, ["dbtables"]);
  const d = o.dbtables;
  if (!Array.isArray(d) || d.some((t) => typeof t !== "string" || t === "")) throw new Error("htable compile options: dbtables must be a list of table names");
  return { dbtables: d as string[] };
}

const READERS: Readonly<Record<string, (o: Obj) => unknown>> = { lcr, carrierroute, mtree, htable };

/** The kinds whose compile takes options (the others compile without). */
export const KINDS_WITH_OPTIONS: readonly string[] = Object.keys(READERS);

/** Reads the JSON text of `kind`'s compile options; throws a one-line Error when it is not valid. */
export function readKindOptions(kind: string, json: string): unknown {
  const read = READERS[kind];
  if (!read) throw new Error(`table kind '${kind}' takes no compile options`);
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new Error(`${kind} compile options are not JSON: ${json.slice(0, 80)}`);
  }
  return read(object(kind, v));
}

/**
 * The canonical JSON of a kind's compile options (keys sorted at every level), so equal option
 * sets compare equal as text: what a sink reports in Hello and what the control plane groups by.
 */
export function kindOptionsKey(options: unknown): string {
  const sort = (v: unknown): unknown =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Obj).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sort(x)]))
      : v;
  return JSON.stringify(sort(options));
}
