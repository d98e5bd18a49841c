import { TableError, type TableSet } from "../rows.js";
import { parseAttrs, type DestAttrs } from "./attrs.js";
import { DS_FLAGS_KNOWN } from "./flags.js";
import { seededRandom, shuffleInPlace } from "./hash.js";
import { checkSipUri, type DestUri } from "../../lib/sip/uri-split.js";

/**
 * Compiling the `dispatcher` table (Kamailio columns id, setid, destination, flags, priority,
 * attrs, description) into the lookup structure the selection code uses. Pure: no clock, no
 * random source, no I/O — the control plane imports the same function to validate rows before it
 * pushes them, and gets the same answer the proxy will.
 */

/** One row after type coercion (CSV gives strings, MySQL numbers). */
export interface DispatcherRow {
  readonly id: number | string;
  readonly setid: number;
  readonly destination: string;
  readonly flags: number;
  readonly priority: number;
  readonly attrs: string;
  readonly description: string;
}

/** One destination, immutable; runtime state lives beside it (state.ts). */
export interface CompiledDest {
  /** Row id (DB id or list-file line number) — shown as IUID. */
  readonly id: number | string;
  readonly setid: number;
  /** The destination URI exactly as configured. */
  readonly uri: string;
  /** `setid|uri-lower-cased`: identity across reloads (Kamailio matches URIs case-insensitively). */
  readonly key: string;
  /** Flags column as configured (state + configuration bits). */
  readonly flags: number;
  readonly priority: number;
  readonly attrs: DestAttrs;
  readonly target: DestUri;
  /** Position in the set after sorting. */
  readonly index: number;
}

/** A priority group of alg 15 (lowest priority value first), with member indices in set order. */
export interface SrvGroup {
  readonly priority: number;
  readonly members: readonly number[];
}

export interface CompiledSet {
  readonly id: number;
  /** Destinations, higher priority first (Kamailio order; equal priorities: later row first). */
  readonly dests: readonly CompiledDest[];
  /** Alg 9: 100 slots of destination indices, shuffled; null when the first destination has no weight. */
  readonly wlist: Uint16Array | null;
  /** Alg 15 groups, ascending priority. */
  readonly srvGroups: readonly SrvGroup[];
  /** Alg 14: every destination has the same priority and it is > 0 → round robin. */
  readonly samePriority: boolean;
}

export interface CompiledDispatcher {
  readonly sets: ReadonlyMap<number, CompiledSet>;
  /** Set ids ascending. */
  readonly setIds: readonly number[];
  /** The normalised rows, in input order (dispatcher.add/remove rebuild from them). */
  readonly rows: readonly DispatcherRow[];
  readonly destCount: number;
}

function toInt(v: unknown, column: string, id: number | string | null, opts: { min?: number; def?: number } = {}): number {
  if (v === undefined || v === null || v === "") {
    if (opts.def !== undefined) return opts.def;
    throw new TableError("dispatcher", id, `${column} is missing`);
  }
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "bigint") n = Number(v);
  else if (typeof v === "string" && /^\s*[-+]?\d+\s*$/.test(v)) n = Number(v.trim());
  else if (typeof v === "string" && /^\s*0x[0-9a-f]+\s*$/i.test(v)) n = Number.parseInt(v.trim().slice(2), 16);
  else throw new TableError("dispatcher", id, `${column} '${String(v)}' is not an integer`);
  if (!Number.isSafeInteger(n)) throw new TableError("dispatcher", id, `${column} '${String(v)}' is not an integer`);
  if (opts.min !== undefined && n < opts.min) throw new TableError("dispatcher", id, `${column} ${n} is below ${opts.min}`);
  return n;
}

function toStr(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Buffer.isBuffer(v)) return v.toString("latin1");
  return String(v);
}

/**
 * Coerces one raw row (strings or numbers) into a DispatcherRow; throws TableError naming the
 * row. `fallbackId` names rows that have no id column (1-based position).
 */
export function normalizeRow(raw: Record<string, unknown>, fallbackId: number): DispatcherRow {
  const rawId = raw.id;
  const id: number | string =
    rawId === undefined || rawId === null || rawId === ""
      ? fallbackId
      : typeof rawId === "number"
        ? rawId
        : /^\d+$/.test(String(rawId))
          ? Number(rawId)
          : String(rawId);
  const setid = toInt(raw.setid, "setid", id, { min: 0 });
  const destination = toStr(raw.destination).trim();
  if (destination === "") throw new TableError("dispatcher", id, "destination is empty");
  const flags = toInt(raw.flags, "flags", id, { min: 0, def: 0 });
  if ((flags & ~DS_FLAGS_KNOWN) !== 0) {
    throw new TableError("dispatcher", id, `flags ${flags} has unknown bits (known: 1 I, 2 T, 4 D, 8 P, 16 no-DNS, 32 no-ping)`);
  }
  const priority = toInt(raw.priority, "priority", id, { def: 0 });
  return { id, setid, destination, flags, priority, attrs: toStr(raw.attrs).trim(), description: toStr(raw.description) };
}

/**
 * Validates and compiles the `dispatcher` rows of a TableSet. Throws `TableError("dispatcher",
 * id, reason)` on the first bad row: bad URI, bad attrs, unknown flag bits, duplicate
 * destination in a set, duplicate duid in a set.
 *
 * @example
 *   const c = compileDispatcherTables({ dispatcher: [{ id: 1, setid: 1, destination: "sip:10.0.0.1" }] });
 *   c.sets.get(1)!.dests[0].target.host === "10.0.0.1"
 */
export function compileDispatcherTables(set: TableSet): CompiledDispatcher {
  const raw = set.dispatcher;
  if (raw === undefined) throw new TableError("dispatcher", null, "table set has no 'dispatcher' rows");
  if (!Array.isArray(raw)) throw new TableError("dispatcher", null, "'dispatcher' must be an array of rows");
  const rows: DispatcherRow[] = [];
  const bySet = new Map<number, Array<{ row: DispatcherRow; order: number; target: DestUri; attrs: DestAttrs }>>();
  const seenIds = new Set<string>();
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (typeof r !== "object" || r === null) throw new TableError("dispatcher", i + 1, "row is not an object");
    let row = normalizeRow(r, i + 1);
    const idKey = String(row.id);
    if (seenIds.has(idKey)) throw new TableError("dispatcher", row.id, `id ${idKey} used twice`);
    seenIds.add(idKey);
    let target = checkSipUri(row.destination);
    if (typeof target === "string" && !/^sips?:/i.test(row.destination)) {
      // Kamailio accepts a destination without scheme and prefixes "sip:" (pack_dest).
      const fixed = checkSipUri("sip:" + row.destination);
      if (typeof fixed !== "string") {
        target = fixed;
        row = { ...row, destination: "sip:" + row.destination };
      }
    }
    if (typeof target === "string") throw new TableError("dispatcher", row.id, `destination '${row.destination}': ${target}`);
    let attrs: DestAttrs;
    try {
      attrs = parseAttrs(row.attrs);
    } catch (e) {
      throw new TableError("dispatcher", row.id, (e as Error).message);
    }
    let list = bySet.get(row.setid);
    if (!list) {
      list = [];
      bySet.set(row.setid, list);
    }
    const lower = row.destination.toLowerCase();
    const dup = list.find((d) => d.row.destination.toLowerCase() === lower);
    if (dup) {
      throw new TableError("dispatcher", row.id, `destination '${row.destination}' already in set ${row.setid} (row ${dup.row.id})`);
    }
    if (attrs.duid !== "") {
      const dd = list.find((d) => d.attrs.duid.toLowerCase() === attrs.duid.toLowerCase());
      if (dd) throw new TableError("dispatcher", row.id, `duid '${attrs.duid}' already used in set ${row.setid} (row ${dd.row.id})`);
    }
    list.push({ row, order: i, target, attrs });
    rows.push(row);
  }

  const sets = new Map<number, CompiledSet>();
  const setIds = [...bySet.keys()].sort((a, b) => a - b);
  for (const sid of setIds) {
    const list = bySet.get(sid)!;
    // Kamailio order: higher priority first; for equal priority the later row comes first
    // (add_dest2list inserts ascending, reindex_dests copies backwards).
    list.sort((a, b) => b.row.priority - a.row.priority || b.order - a.order);
    const dests: CompiledDest[] = list.map((d, index) =>
      Object.freeze({
        id: d.row.id,
        setid: sid,
        uri: d.row.destination,
        key: destKey(sid, d.row.destination),
        flags: d.row.flags,
        priority: d.row.priority,
        attrs: d.attrs,
        target: d.target,
        index,
      }),
    );
    sets.set(
      sid,
      Object.freeze({
        id: sid,
        dests: Object.freeze(dests),
        wlist: buildWeightTable(sid, dests),
        srvGroups: buildSrvGroups(dests),
        samePriority: dests.length > 0 && dests[0]!.priority > 0 && dests.every((d) => d.priority === dests[0]!.priority),
      }),
    );
  }
  return Object.freeze({ sets, setIds: Object.freeze(setIds), rows: Object.freeze(rows), destCount: rows.length });
}

/** Identity of a destination across reloads: set id plus the URI, case-insensitive. */
export function destKey(setid: number, uri: string): string {
  return `${setid}|${uri.trim().toLowerCase()}`;
}

/**
 * Alg 9 (Kamailio dp_init_weights): each destination gets `weight` of the 100 slots in list
 * order; slots past 100 are dropped, a shortfall goes to the last destination; then the slots
 * are shuffled so a weight of 20 does not mean 20 calls in a row. Null (always index 0) when the
 * first destination has no weight, as in Kamailio.
 */
export function buildWeightTable(setid: number, dests: readonly CompiledDest[]): Uint16Array | null {
  if (dests.length === 0 || dests[0]!.attrs.weight === 0) return null;
  const w = new Uint16Array(100);
  let t = 0;
  outer: for (let j = 0; j < dests.length; j++) {
    for (let k = 0; k < dests[j]!.attrs.weight; k++) {
      if (t >= 100) break outer;
      w[t++] = j;
    }
  }
  for (; t < 100; t++) w[t] = dests.length - 1;
  shuffleInPlace(w, seededRandom(0x9e3779b9 ^ setid));
  return w;
}

function buildSrvGroups(dests: readonly CompiledDest[]): SrvGroup[] {
  const byPrio = new Map<number, number[]>();
  for (const d of dests) {
    let m = byPrio.get(d.priority);
    if (!m) {
      m = [];
      byPrio.set(d.priority, m);
    }
    m.push(d.index);
  }
  return [...byPrio.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([priority, members]) => Object.freeze({ priority, members: Object.freeze(members) }));
}
