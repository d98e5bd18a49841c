import type { RequestState } from "../../core/api.js";
import { sameInstance } from "../usrloc/api.js";
import { appendTarget, LOOKUP_TARGETS_VAR, useAsRuri, type LookupTarget } from "./lookup.js";

/** req.vars key of the pending contact groups (tm's contacts_avp). */
export const CONTACTS_VAR = "tm:contacts";
/** req.vars key of the further flows of one +sip.instance (tm's contact_flows_avp). */
export const FLOWS_VAR = "tm:contact_flows";

/** One group of contacts tried together, plus the ordering mode it came from. */
interface ContactQueue {
  readonly mode: 0 | 1;
  readonly items: LookupTarget[];
}

/**
 * [t_load_contacts(mode)] takes the destination set lookup() produced (R-URI and branches) and
 * queues it by q for serial forking: mode 0 — higher q first, equal q together (parallel);
 * mode 1 — one contact at a time in a random order weighted by q (q <= 0 last, as backups).
 * With a single contact, or all contacts of equal q in mode 0, it leaves the set alone.
 * The appended branches are removed; the R-URI stays until nextContacts().
 *
 * Only a destination set built by lookup() can be read back (the routing API does not expose
 * appended branches); with other branches present it returns -1. Returns 1 otherwise.
 */
export function loadContacts(req: RequestState, mode: 0 | 1 = 0, rand: () => number = Math.random): number {
  const targets = req.vars.get(LOOKUP_TARGETS_VAR) as LookupTarget[] | undefined;
  if (!targets || targets.length === 0) return req.branchCount === 0 ? 1 : -1;
  if (targets.length !== req.branchCount + 1 || targets[0]!.uri !== req.ruri) return req.branchCount === 0 ? 1 : -1;
  if (targets.length === 1) return 1;
  let items: LookupTarget[];
  if (mode === 0) {
    const q0 = targets[0]!.q;
    if (targets.every((t) => t.q === q0)) return 1;
    // stable sort: equal q keep lookup's order (older binding first)
    items = targets.map((t, i) => ({ t, i })).sort((a, b) => b.t.q - a.t.q || a.i - b.i).map((x) => x.t);
  } else {
    items = weightedOrder(targets, rand);
  }
  req.clearBranches();
  req.vars.delete(LOOKUP_TARGETS_VAR);
  req.vars.set(CONTACTS_VAR, { mode, items } satisfies ContactQueue);
  req.vars.delete(FLOWS_VAR);
  return 1;
}

/** Mode 1: draw without replacement with probability proportional to q; q <= 0 go last. */
function weightedOrder(targets: readonly LookupTarget[], rand: () => number): LookupTarget[] {
  const pool = targets.filter((t) => t.q > 0);
  const rest = targets.filter((t) => t.q <= 0);
  const out: LookupTarget[] = [];
  while (pool.length) {
    const total = pool.reduce((s, t) => s + t.q, 0);
    let r = rand() * total;
    let i = 0;
    for (; i < pool.length - 1; i++) {
      r -= pool[i]!.q;
      if (r < 0) break;
    }
    out.push(pool.splice(i, 1)[0]!);
  }
  return out.concat(rest);
}

/**
 * [t_next_contacts()] sets the next group as the destination set: its first contact becomes the
 * R-URI, the others (same q in mode 0) branches — one contact per +sip.instance; further flows
 * of an instance wait for nextContactFlow(). Returns 1 when a group was set, -2 when nothing was
 * left.
 */
export function nextContacts(req: RequestState): number {
  const queue = req.vars.get(CONTACTS_VAR) as ContactQueue | undefined;
  if (!queue || queue.items.length === 0) {
    req.vars.delete(CONTACTS_VAR);
    return -2;
  }
  const first = queue.items[0]!;
  let n = 1;
  if (queue.mode === 0) while (n < queue.items.length && queue.items[n]!.q === first.q) n++;
  const group = queue.items.splice(0, n);
  if (queue.items.length === 0) req.vars.delete(CONTACTS_VAR);
  const chosen: LookupTarget[] = [];
  const flows: LookupTarget[] = [];
  for (const t of group) {
    if (t.instance && chosen.some((c) => c.instance && sameInstance(c.instance, t.instance!))) flows.push(t);
    else chosen.push(t);
  }
  req.clearBranches();
  useAsRuri(req, chosen[0]!);
  for (let i = 1; i < chosen.length; i++) appendTarget(req, chosen[i]!);
  if (flows.length) req.vars.set(FLOWS_VAR, flows);
  else req.vars.delete(FLOWS_VAR);
  return 1;
}

/**
 * [t_next_contact_flow()] the next flow of an instance whose first flow failed (RFC 5626).
 * Returns 1 when one was set, -1 when none is left.
 */
export function nextContactFlow(req: RequestState): number {
  const flows = req.vars.get(FLOWS_VAR) as LookupTarget[] | undefined;
  if (!flows || flows.length === 0) return -1;
  const t = flows.shift()!;
  if (flows.length === 0) req.vars.delete(FLOWS_VAR);
  req.clearBranches();
  useAsRuri(req, t);
  return 1;
}

/** Whether groups remain after the current one (set timers before relaying). */
export function hasMoreContacts(req: RequestState): boolean {
  const q = req.vars.get(CONTACTS_VAR) as ContactQueue | undefined;
  return !!q && q.items.length > 0;
}
