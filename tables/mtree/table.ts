import { TableError, type TableSet } from "../rows.js";
import { DuplicatePrefixError, PrefixKeyError, PrefixTreeBuilder } from "../../lib/prefix-tree/build-prefix-tree.js";
import type { PrefixTree } from "../../lib/prefix-tree/prefix-tree.js";
import { readStr, rowIdOf, rowAt, tableArray } from "../kit/row-values.js";
import { ROW_SLICE_MASK, runToEnd, type Sliced } from "../kit/sliced.js";

/**
 * Compiling Kamailio's mtree tables (`mtree`: one tree; `mtrees`: many trees keyed by `tname`)
 * into one prefix tree per tree name. Pure: the control plane runs the same function to validate
 * rows before pushing them.
 *
 * Tree types (Kamailio mtree `type`): 0 = string values, 1 = `dstid:weight` pairs, 2 = integers.
 */

/** 0 string, 1 dstid:weight list, 2 integer. */
export type MtreeType = 0 | 1 | 2;

export interface MtreeCompileOptions {
  /** Name given to the tree loaded from the `mtree` table (Kamailio's `mtree` param name). Default "mtree". */
  readonly singleTreeName?: string;
  /** Type per tree name; trees not listed get `defaultType`. */
  readonly treeTypes?: Readonly<Record<string, MtreeType>>;
  /** Kamailio `mt_tree_type` (default 0). */
  readonly defaultType?: MtreeType;
  /** Kamailio `char_list`: characters allowed in prefixes (default "0123456789"). */
  readonly charList?: string;
  /** Kamailio `mt_allow_duplicates`: keep several values per prefix (default false). */
  readonly allowDuplicates?: boolean;
  /** Kamailio `mt_ignore_duplicates`: silently keep the first value of a repeated prefix (default false). */
  readonly ignoreDuplicates?: boolean;
}

/** One destination/weight pair of a type-1 value. */
export interface DstWeight {
  readonly dstid: number;
  readonly weight: number;
}

/** What one prefix holds: its raw values in row order, and the parsed form by type. */
export interface MtreeItem {
  readonly prefix: string;
  /** Values as configured (several only with allowDuplicates), in row order. */
  readonly values: readonly string[];
  /** Type 2: parsed integers, same order. */
  readonly ints: readonly number[];
  /** Type 1: every pair of every value, in order. */
  readonly pairs: readonly DstWeight[];
}

export interface CompiledTree {
  readonly name: string;
  readonly type: MtreeType;
  readonly tree: PrefixTree<MtreeItem>;
  /** Number of (prefix, value) items. */
  readonly items: number;
  /** Approximate bytes held (node array plus values). */
  readonly memsize: number;
}

export interface CompiledMtrees {
  /** Trees by name, names in ascending order (Kamailio keeps its tree list sorted). */
  readonly trees: ReadonlyMap<string, CompiledTree>;
  readonly charList: string;
  readonly rows: number;
}

/** Kamailio MT_MAX_DEPTH is 64: prefixes up to 63 characters. */
export const MTREE_MAX_PREFIX = 63;
/** Kamailio MT_MAX_DST_LIST: at most 64 dstid/weight pairs are collected per match. */
export const MTREE_MAX_DST_LIST = 64;

/**
 * Validates and compiles the `mtree` and `mtrees` tables. Throws TableError naming the table
 * and row id on: missing tname/tprefix, a prefix character outside `char_list`, a prefix longer
 * than 63, a non-integer value in a type-2 tree, a malformed pair list in a type-1 tree, or a
 * repeated prefix (unless allowDuplicates/ignoreDuplicates).
 *
 * @example
 *   const c = compileMtreeTables({ mtrees: [{ id: 1, tname: "gw", tprefix: "49", tvalue: "1" }] });
 */
export function compileMtreeTables(set: TableSet, opts: MtreeCompileOptions = {}): CompiledMtrees {
  return runToEnd(compileMtreeSteps(set, opts));
}

/** compileMtreeTables as resumable steps (tables/kit/sliced.ts): yields every 1,024 rows and between tree-build slices. */
export function* compileMtreeSteps(set: TableSet, opts: MtreeCompileOptions = {}): Sliced<CompiledMtrees> {
  const charList = opts.charList ?? "0123456789";
  if (charList.length === 0) throw new TableError("mtree", null, "char_list is empty");
  const singleName = opts.singleTreeName ?? "mtree";
  const groups = new Map<string, Entry[]>();
  let rows = 0;
  const add = (table: string, tname: string, id: string | number, prefix: string, value: string) => {
    let g = groups.get(tname);
    if (!g) groups.set(tname, (g = []));
    g.push({ table, id, prefix, value });
    rows++;
  };
  const single = tableArray(set, "mtree");
  for (let i = 0; i < single.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(single, i, "mtree");
    const id = rowIdOf(row, "id", i);
    const prefix = readStr(row, "mtree", id, "tprefix", { required: true });
    const value = readStr(row, "mtree", id, "tvalue", { required: true });
    add("mtree", singleName, id, prefix, value);
  }
  const multi = tableArray(set, "mtrees");
  for (let i = 0; i < multi.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const row = rowAt(multi, i, "mtrees");
    const id = rowIdOf(row, "id", i);
    const tname = readStr(row, "mtrees", id, "tname", { nonEmpty: true, maxLength: 128 });
    const prefix = readStr(row, "mtrees", id, "tprefix", { required: true });
    const value = readStr(row, "mtrees", id, "tvalue", { required: true });
    add("mtrees", tname, id, prefix, value);
  }

  const trees = new Map<string, CompiledTree>();
  for (const name of [...groups.keys()].sort()) {
    const type = opts.treeTypes?.[name] ?? opts.defaultType ?? 0;
    trees.set(name, yield* compileTree(name, type, groups.get(name)!, charList, opts));
  }
  return { trees, charList, rows };
}

interface Entry {
  readonly table: string;
  readonly id: string | number;
  readonly prefix: string;
  readonly value: string;
}

function* compileTree(name: string, type: MtreeType, entries: readonly Entry[], charList: string, opts: MtreeCompileOptions): Sliced<CompiledTree> {
  const b = new PrefixTreeBuilder<MtreeItem>({
    alphabet: charList,
    maxKeyLength: MTREE_MAX_PREFIX,
    expectedSize: entries.length,
    merge: opts.allowDuplicates
      ? (a, x) => ({ prefix: a.prefix, values: [...a.values, ...x.values], ints: [...a.ints, ...x.ints], pairs: [...a.pairs, ...x.pairs] })
      : opts.ignoreDuplicates
        ? (a) => a
        : undefined,
  });
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
    const e = entries[i]!;
    let ints: number[] = NO_INTS;
    let pairs: DstWeight[] = NO_PAIRS;
    if (type === 2) ints = [parseIntValue(e)];
    else if (type === 1) pairs = parsePairs(e);
    if (e.prefix.length === 0) throw new TableError(e.table, e.id, "tprefix is empty");
    try {
      b.add(e.prefix, { prefix: e.prefix, values: [e.value], ints, pairs });
    } catch (err) {
      if (err instanceof PrefixKeyError) throw new TableError(e.table, e.id, `tprefix '${e.prefix}': ${err.message} (char_list '${charList}')`);
      throw err;
    }
    bytes += e.value.length + 1;
  }
  let tree: PrefixTree<MtreeItem>;
  try {
    tree = yield* b.buildSteps();
  } catch (err) {
    if (err instanceof DuplicatePrefixError) {
      const dup = entries[err.index]!;
      const first = entries[err.firstIndex]!;
      throw new TableError(dup.table, dup.id, `tprefix '${dup.prefix}' of tree '${name}' already set by row ${first.id}`);
    }
    throw err;
  }
  return { name, type, tree, items: entries.length, memsize: tree.memoryBytes + bytes };
}

/** Shared empty lists for the columns a tree type does not use (one allocation less per row). */
const NO_INTS: number[] = [];
const NO_PAIRS: DstWeight[] = [];

function parseIntValue(e: { table: string; id: string | number; value: string }): number {
  if (!/^\s*[-+]?\d+\s*$/.test(e.value)) throw new TableError(e.table, e.id, `tvalue '${e.value}' is not an integer (type 2 tree)`);
  const n = Number(e.value.trim());
  if (n < -2147483648 || n > 2147483647) throw new TableError(e.table, e.id, `tvalue '${e.value}' is out of the 32-bit range`);
  return n;
}

/**
 * Type-1 values: `dstid:weight` pairs (Kamailio's docs) or `dstid=weight` (what its parser
 * accepts), separated by `;` or `,`. dstid > 0, weight ≥ 0.
 */
export function parsePairs(e: { table: string; id: string | number; value: string }): DstWeight[] {
  const out: DstWeight[] = [];
  const text = e.value.trim().replace(/[;,]\s*$/, "");
  if (text === "") throw new TableError(e.table, e.id, "tvalue is empty (type 1 tree needs dstid:weight pairs)");
  for (const part of text.split(/[;,]/)) {
    const m = /^\s*(\d+)\s*[:=]\s*(\d+)\s*$/.exec(part);
    if (!m) throw new TableError(e.table, e.id, `tvalue part '${part}' is not dstid:weight`);
    const dstid = Number(m[1]);
    const weight = Number(m[2]);
    if (dstid === 0 || dstid > 4294967295) throw new TableError(e.table, e.id, `dstid ${m[1]} must be 1..4294967295`);
    if (weight > 4294967295) throw new TableError(e.table, e.id, `weight ${m[2]} is too large`);
    out.push({ dstid, weight });
  }
  return out;
}
