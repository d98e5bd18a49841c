/**
 * drouting's incremental compile for a delta that changes dr_rules only (TableSink.compileDelta
 * and the control plane's change-capture fast path): the new version keeps the live gateways,
 * lists, caller groups and per-group prefix trees, and puts the rule lists of the prefixes the
 * delta touches into a per-group overlay (prefix → its rules in order, empty where none are
 * left), built in O(changed rows) without touching the live structure. Rows are checked with the
 * very code of the full compile (table.ts `readDrRule`), so a bad row is refused with the same
 * table, key and reason; with more than one added row the full compile is run on the error path
 * to name the first bad row in table order, as it would.
 *
 * Null (compile the whole set): a change to dr_gateways, dr_gw_lists or dr_groups (rules hold
 * resolved gateways, and the caller-group maps are not worth an overlay), a base from before this
 * field existed, or an overlay past DR_OVERLAY_MAX entries. The module folds the overlay back into
 * fresh trees in the background when changes pause (data-plane/modules/drouting/drouting.ts).
 */
import { TableError, type TableRow, type TableSet } from "../rows.js";
import { rowIdOf, tableArray } from "../kit/row-values.js";
import { emptyPrefixTree } from "../../lib/prefix-tree/build-prefix-tree.js";
import type { PrefixTree } from "../../lib/prefix-tree/prefix-tree.js";
import { compileDroutingTables, readDrRule, type CompiledDrouting, type DrGateway, type DrGroupRules, type DrRule } from "./table.js";
import type { TimeRec } from "./timerec.js";

/** More overlay entries (changed prefixes plus changed ruleids) than this: compile the whole set. */
export const DR_OVERLAY_MAX = 50_000;

export type DrRowChanges = ReadonlyMap<string, { readonly removed: readonly TableRow[]; readonly added: readonly TableRow[] }>;

const RULES = "dr_rules";

interface GroupEdit {
  /** prefix → its new rule list (copied from the current one on first touch). */
  readonly prefixes: Map<string, DrRule[]>;
  noPrefix: DrRule[] | null;
  /** Lists that got a rule (need ordering). */
  readonly grown: Set<DrRule[]>;
}

let emptyTree: PrefixTree<DrRule[]> | null = null;

/** The rules of `prefix` in a group as of the compiled version (overlay first, then the tree). */
export function drRulesAt(g: DrGroupRules | undefined, prefix: string): readonly DrRule[] {
  if (g === undefined) return [];
  if (prefix === "") return g.noPrefix;
  const o = g.overlay?.get(prefix);
  return o !== undefined ? o : (g.tree.get(prefix) ?? []);
}

/**
 * The compiled structure of `prev` + `changes`, or null when a delta cannot be applied (see the
 * file comment). `set` is the whole new set. Throws TableError on a bad row, like the full compile.
 */
export function applyDroutingChanges(prev: CompiledDrouting, changes: DrRowChanges, set: TableSet): CompiledDrouting | null {
  for (const [t, ch] of changes) if (t !== RULES && (ch.removed.length > 0 || ch.added.length > 0)) return null;
  const ch = changes.get(RULES);
  if (!ch || (ch.removed.length === 0 && ch.added.length === 0)) return prev;
  const baseIds = prev.ruleIds;
  const lists = prev.lists;
  if (!baseIds || !lists) return null;
  const ids = new Map(prev.ruleIdOverlay ?? []);
  if ((prev.overlaySize ?? 0) + ids.size + 2 * (ch.removed.length + ch.added.length) > DR_OVERLAY_MAX) return null;
  const taken = (r: number) => ids.get(r) ?? baseIds.has(r);
  const recs = new Map<string, TimeRec | null>();
  const resolved = new Map<string, DrGateway[][]>();
  const edits = new Map<number, GroupEdit>();
  const listOf = (g: number, prefix: string): DrRule[] => {
    let e = edits.get(g);
    if (!e) edits.set(g, (e = { prefixes: new Map(), noPrefix: null, grown: new Set() }));
    if (prefix === "") return (e.noPrefix ??= [...drRulesAt(prev.groups.get(g), "")]);
    let l = e.prefixes.get(prefix);
    if (!l) e.prefixes.set(prefix, (l = [...drRulesAt(prev.groups.get(g), prefix)]));
    return l;
  };
  let count = prev.ruleCount;

  // removed (or replaced) base rows: they compiled, so they read again without error
  for (const row of ch.removed) {
    let rule: DrRule;
    try {
      rule = readDrRule(row, rowIdOf(row, "ruleid", 0), prev.gateways, lists, recs, resolved, () => false);
    } catch {
      return null;
    }
    if (!taken(rule.ruleId)) continue;
    ids.set(rule.ruleId, false);
    count--;
    for (const g of rule.groups) {
      const l = listOf(g, rule.prefix);
      const at = l.findIndex((r) => r.ruleId === rule.ruleId);
      if (at >= 0) l.splice(at, 1);
    }
  }

  const rows = tableArray(set, RULES) as readonly TableRow[];
  const added: DrRule[] = [];
  try {
    for (const row of ch.added) {
      const v = row.ruleid;
      // the id a message names: the ruleid, or the row's position when it has none (error path)
      const id = typeof v === "number" || typeof v === "string" || typeof v === "bigint" ? rowIdOf(row, "ruleid", 0) : rowIdOf(row, "ruleid", rows.indexOf(row));
      const rule = readDrRule(row, id, prev.gateways, lists, recs, resolved, taken);
      ids.set(rule.ruleId, true);
      count++;
      added.push(rule);
      for (const g of rule.groups) {
        const l = listOf(g, rule.prefix);
        l.push(rule);
        edits.get(g)!.grown.add(l);
      }
    }
  } catch (e) {
    // several new rows: the full compile names the first bad one in table order
    if (e instanceof TableError && ch.added.length > 1) compileDroutingTables(set);
    throw e;
  }

  orderGrownLists(edits, added, rows);

  const groups = new Map(prev.groups);
  let overlaySize = prev.overlaySize ?? 0;
  for (const [g, e] of edits) {
    const old = prev.groups.get(g);
    const overlay = new Map(old?.overlay ?? []);
    overlaySize -= overlay.size;
    for (const [p, l] of e.prefixes) overlay.set(p, l);
    overlaySize += overlay.size;
    const lengths = [...new Set([...overlay.keys()].map((k) => k.length))].sort((a, b) => b - a);
    const tree = old?.tree ?? (emptyTree ??= emptyPrefixTree<DrRule[]>());
    groups.set(g, { tree, noPrefix: e.noPrefix ?? old?.noPrefix ?? [], ...(overlay.size > 0 ? { overlay, overlayLengths: lengths } : {}) });
  }
  return { ...prev, groups, ruleCount: count, ruleIdOverlay: ids, overlaySize };
}

/**
 * Puts the lists that got rules in the full compile's order: priority, highest first, table order
 * among equals. Positions in the new set are looked up (one pass over dr_rules) only for rules
 * that tie on priority with a new rule in the same list.
 */
function orderGrownLists(edits: ReadonlyMap<number, GroupEdit>, added: readonly DrRule[], rows: readonly TableRow[]): void {
  const isNew = new Set(added);
  const grown: Array<[DrRule[], Set<number>]> = [];
  const need = new Set<number>();
  for (const e of edits.values()) {
    for (const l of e.grown) {
      const newPrio = new Set(l.filter((r) => isNew.has(r)).map((r) => r.priority));
      grown.push([l, newPrio]);
      const tied = l.filter((r) => newPrio.has(r.priority));
      if (tied.length > 1) for (const r of tied) need.add(r.ruleId);
    }
  }
  const pos = new Map<number, number>();
  if (need.size > 0) {
    for (let i = 0; i < rows.length && pos.size < need.size; i++) {
      const v = rows[i]!.ruleid;
      const r = typeof v === "number" ? v : Number(v);
      if (need.has(r)) pos.set(r, i);
    }
  }
  // positions only within this list's tiers of a new rule's priority: a rule of another tier may
  // have one too (a tie in another group's list) and must keep its order, not move behind the rest
  for (const [l, prios] of grown) l.sort((a, b) => b.priority - a.priority || (prios.has(a.priority) ? pos.get(a.ruleId)! - pos.get(b.ruleId)! : 0));
}
