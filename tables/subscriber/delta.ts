/**
 * subscriber's incremental compile for a delta (TableSink.compileDelta on the data plane, and the
 * control plane's change-capture fast path): the new version keeps the live maps and puts the
 * changed subscribers into an overlay (`user\0domain` → subscriber or null, username → its first
 * subscriber in table order or null, and per changed username its row count), built in
 * O(changed rows) without touching the live structure. Rows are read with the full compile's own
 * `readSubscriber`; on a refusal (a bad column, a duplicate user@domain) the error the full compile
 * of the new set would throw is worked out from the changed rows and their positions (the first
 * bad row in table order; of a duplicate pair the later row), so the refused row, its key and
 * reason are exactly the full compile's. Only the error path and a username with rows in several
 * domains (use_domain=0 "first row wins") scan the whole set.
 *
 * Null (compile the whole set): an overlay past SUBSCRIBER_OVERLAY_MAX entries. The data-plane
 * auth module folds the overlay back into fresh maps in slices when deltas pause.
 *
 * @example
 *   const next = applySubscriberChanges(live, { removed: [oldRow], added: [newRow] }, newSet); // throws TableError
 */
import { TableError, type TableRow, type TableSet } from "../rows.js";
import { compileSubscriberRows, duplicateError, readSubscriber, subscriberKey, subscriberRowsOf, SubscriberTable, type Subscriber } from "./table.js";

/** More overlay entries than this: compile the whole set. */
export const SUBSCRIBER_OVERLAY_MAX = 50_000;

export interface SubscriberRowChanges {
  /** Base rows the delta drops (removed or replaced). */
  readonly removed: readonly TableRow[];
  /** Rows it puts in (new or replacing). */
  readonly added: readonly TableRow[];
}

interface UserEdit {
  count: number;
  readonly winner: Subscriber | null;
  winnerGone: boolean;
  readonly added: Subscriber[];
}

const hasId = (row: TableRow) => typeof row.id === "number" || (typeof row.id === "string" && row.id !== "");

/**
 * The compiled table of `prev` + `change`, or null when the overlay would grow past
 * SUBSCRIBER_OVERLAY_MAX. `set` is the whole new set. Throws TableError on a bad row, naming the
 * row the full compile of `set` names.
 */
export function applySubscriberChanges(prev: SubscriberTable, change: SubscriberRowChanges, set: TableSet): SubscriberTable | null {
  if (change.removed.length === 0 && change.added.length === 0) return prev;
  const po = prev.overlay;
  if ((po?.byUserDomain.size ?? 0) + (po?.byUser.size ?? 0) + 2 * (change.removed.length + change.added.length) > SUBSCRIBER_OVERLAY_MAX) return null;
  const rows = subscriberRowsOf(set);
  const ud = new Map<string, Subscriber | null>(po?.byUserDomain ?? []);
  const users = new Map<string, Subscriber | null>(po?.byUser ?? []);
  const counts = new Map<string, number>(po?.userRows ?? []);
  const at = (key: string): Subscriber | null => {
    const o = ud.get(key);
    return o !== undefined ? o : (prev.byUserDomain.get(key) ?? null);
  };
  const edits = new Map<string, UserEdit>();
  const touch = (u: string): UserEdit => {
    let e = edits.get(u);
    if (!e) edits.set(u, (e = { count: prev.userRows(u), winner: prev.find(u, null), winnerGone: false, added: [] }));
    return e;
  };
  let size = prev.size;
  let withoutPassword = prev.withoutPassword;

  for (const row of change.removed) {
    let s: Subscriber;
    try {
      s = readSubscriber(row, 0);
    } catch {
      return null; // a base row always read: this is not the base
    }
    const key = subscriberKey(s);
    const live = at(key);
    if (live === null) continue;
    const e = touch(s.username);
    ud.set(key, null);
    size--;
    if (live.password === null) withoutPassword--;
    e.count--;
    if (e.winner === live) e.winnerGone = true;
  }

  try {
    for (const row of change.added) {
      const s = readSubscriber(row, hasId(row) ? 0 : rows.indexOf(row));
      const key = subscriberKey(s);
      if (at(key) !== null) throw duplicateError("subscriber", s);
      ud.set(key, s);
      size++;
      if (s.password === null) withoutPassword++;
      const e = touch(s.username);
      e.count++;
      e.added.push(s);
    }
  } catch (err) {
    if (err instanceof TableError) throw firstError(prev, change, rows) ?? fullCompileError(rows) ?? err;
    throw err;
  }

  for (const [u, e] of edits) {
    counts.set(u, e.count);
    if (e.count === 0) users.set(u, null);
    else if (e.winner !== null && !e.winnerGone && e.added.length === 0) continue;
    else if (e.count === 1 && e.added.length === 1) users.set(u, e.added[0]!);
    else users.set(u, firstInTable(rows, u, at));
  }
  return new SubscriberTable({
    rows: null,
    byUserDomain: prev.byUserDomain,
    byUser: prev.byUser,
    dupUsers: prev.dupUsers,
    size,
    withoutPassword,
    overlay: { byUserDomain: ud, byUser: users, userRows: counts },
  });
}

/** The first subscriber in table order with this username (one pass; several domains only). */
function firstInTable(rows: readonly TableRow[], username: string, at: (key: string) => Subscriber | null): Subscriber | null {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const u = r.username;
    if (u !== username && !(typeof u !== "string" && u !== null && u !== undefined && String(u) === username)) continue;
    return at(subscriberKey(readSubscriber(r, i)));
  }
  return null;
}

/**
 * The error the full compile of `rows` throws, from the changed rows only: per-row errors of the
 * added rows and duplicates (an added row against a live one or another added one), the one at the
 * lowest position in table order (a duplicate pair errs at its later row). Null when none is found.
 */
function firstError(prev: SubscriberTable, change: SubscriberRowChanges, rows: readonly TableRow[]): TableError | null {
  const removed = new Set<string>();
  for (const r of change.removed) {
    try {
      removed.add(subscriberKey(readSubscriber(r, 0)));
    } catch {
      // not a base row; ignored as in the main pass
    }
  }
  let best: { at: number; err: TableError } | null = null;
  const consider = (at: number, err: TableError) => {
    if (at >= 0 && (best === null || at < best.at)) best = { at, err };
  };
  const seen = new Map<string, { at: number; s: Subscriber }>();
  for (const row of change.added) {
    const at = rows.indexOf(row);
    let s: Subscriber;
    try {
      s = readSubscriber(row, hasId(row) ? 0 : at);
    } catch (e) {
      if (e instanceof TableError) consider(at, e);
      continue;
    }
    const key = subscriberKey(s);
    const live = removed.has(key) ? null : prev.byKey(key);
    if (live !== null) {
      const other = rows.findIndex((r) => r.id === live.id && r !== row);
      consider(Math.max(at, other), other > at ? duplicateError("subscriber", live) : duplicateError("subscriber", s));
    }
    const twin = seen.get(key);
    if (twin) consider(Math.max(at, twin.at), at > twin.at ? duplicateError("subscriber", s) : duplicateError("subscriber", twin.s));
    else seen.set(key, { at, s });
  }
  return (best as { at: number; err: TableError } | null)?.err ?? null;
}

/** The full compile's error (a fallback when the changed rows do not explain the refusal). */
function fullCompileError(rows: readonly TableRow[]): TableError | null {
  try {
    compileSubscriberRows(rows);
  } catch (e) {
    if (e instanceof TableError) return e;
  }
  return null;
}
