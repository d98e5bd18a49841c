import type { LcrGw, LcrInstance, LcrRule } from "./table.js";
import { weightKey, type LcrWeighting } from "./weights.js";

/**
 * load_gws: which gateways of one lcr instance may take a call, in the order next_gw tries them
 * (Kamailio lcr_mod.c ki_load_gws_furi / load_gws_dummy).
 *
 * A rule matches when the number (R-URI user or the uri_user argument) starts with its prefix,
 * its from_uri pattern matches the caller URI, its request_uri pattern matches the Request-URI,
 * and — when it has an mt_tvalue and a caller URI is given — the caller's user part has that
 * value among its matches in the mtree. Rules are visited longest prefix first; once a matching
 * stopper rule has been seen at some prefix length, shorter prefixes are not considered.
 *
 * Order: longest prefix, then target priority (0 first), then randomised weight; with
 * priority_ordering the prefix length is ignored. A gateway reachable through several rules is
 * kept at its best position only. Defunct gateways (defunct until a time in the future) are
 * skipped, and so are gateways whose strip count exceeds the number's length.
 */

/** One entry of the candidate list next_gw consumes. */
export interface MatchedGw {
  readonly gw: LcrGw;
  readonly gwIndex: number;
  readonly ruleId: number;
  readonly prefixLength: number;
  readonly priority: number;
  readonly weight: number;
}

/** The mtree lookup lcr needs (Kamailio mtree API mt_match mode 2). */
export interface LcrMtreeLookup {
  /** Values of every prefix of `value` in `tree`, or null when none matches. */
  matchAll(tree: string, value: string): readonly string[] | null;
}

export interface LoadGwsInput {
  /** The number matched against rule prefixes. */
  readonly uriUser: string;
  /** Caller URI for from_uri and mt_tvalue ("" when not given). */
  readonly callerUri: string;
  /** Caller URI user part (for the mtree); null when unknown. */
  readonly callerUser: string | null;
  /** Request-URI for request_uri patterns; null means not available (the RPC without it). */
  readonly requestUri: string | null;
}

export interface LoadGwsOptions {
  /** Unix time (seconds) compared with defunct_until. */
  readonly now: number;
  readonly random: () => number;
  readonly weighting: LcrWeighting;
  /** Kamailio priority_ordering=1: ignore the prefix length when ordering. */
  readonly priorityOrdering: boolean;
  /** mt_tvalue support: the mtree and the tree name (Kamailio `mtree` param, default "lcr"). */
  readonly mtree: { readonly lookup: LcrMtreeLookup; readonly tree: string } | null;
  /** Effective defunct-until of a gateway in this instance (table value or runtime override). */
  defunctUntil(gw: LcrGw): number;
}

export type LoadGwsResult = { readonly ok: true; readonly gws: MatchedGw[] } | { readonly ok: false; readonly error: string };

interface Candidate extends MatchedGw {
  readonly key: number;
}

/**
 * Runs the rule match and returns the ordered, de-duplicated candidate list (empty = Kamailio
 * return code 2), or an error (a rule needs the Request-URI and none was given: code -1).
 */
export function loadGws(inst: LcrInstance, input: LoadGwsInput, opts: LoadGwsOptions): LoadGwsResult {
  const levels = inst.rules.collect(input.uriUser);
  const found: Candidate[] = [];
  let mtValues: readonly string[] | null | undefined;
  for (const rules of levels) {
    let stop = false;
    for (const rule of rules) {
      if (rule.fromRe !== null && !rule.fromRe.test(input.callerUri)) continue;
      if (rule.mtTvalue !== "" && input.callerUri !== "" && opts.mtree !== null) {
        if (mtValues === undefined) {
          mtValues = input.callerUser === null ? null : opts.mtree.lookup.matchAll(opts.mtree.tree, input.callerUser);
        }
        if (mtValues === null || !mtValues.includes(rule.mtTvalue)) continue;
      }
      if (rule.requestRe !== null) {
        if (input.requestUri === null) {
          return { ok: false, error: `lcr_rule ${rule.ruleId} has a request_uri pattern and no request_uri was given` };
        }
        if (!rule.requestRe.test(input.requestUri)) continue;
      }
      addTargets(rule, input.uriUser.length, found, opts);
      if (rule.stopper) stop = true;
    }
    if (stop) break;
  }
  found.sort(opts.priorityOrdering ? byPriority : byPrefixThenPriority);
  const seen = new Set<number>();
  const gws: MatchedGw[] = [];
  for (const c of found) {
    if (seen.has(c.gw.gwId)) continue;
    seen.add(c.gw.gwId);
    gws.push({ gw: c.gw, gwIndex: c.gwIndex, ruleId: c.ruleId, prefixLength: c.prefixLength, priority: c.priority, weight: c.weight });
  }
  return { ok: true, gws };
}

function addTargets(rule: LcrRule, userLength: number, out: Candidate[], opts: LoadGwsOptions): void {
  for (const t of rule.targets) {
    if (opts.defunctUntil(t.gw) > opts.now) continue;
    if (t.gw.strip > userLength) continue;
    out.push({
      gw: t.gw,
      gwIndex: t.gwIndex,
      ruleId: rule.ruleId,
      prefixLength: rule.prefix.length,
      priority: t.priority,
      weight: t.weight,
      key: weightKey(t.weight, opts.random(), opts.weighting),
    });
  }
}

function byPrefixThenPriority(a: Candidate, b: Candidate): number {
  return b.prefixLength - a.prefixLength || a.priority - b.priority || b.key - a.key;
}

function byPriority(a: Candidate, b: Candidate): number {
  return a.priority - b.priority || b.key - a.key;
}
