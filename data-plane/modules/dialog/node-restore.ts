/**
 * db_mode 1 with workers (README "With workers"): the node's stored dialogs are restored once,
 * each by the worker that owns its h_id (`h_id mod count`, DialogTable.ownerOf), the same worker
 * any other worker hands that dialog's in-dialog requests to.
 *
 * Each worker keeps its own journal (`<dataDir>/dialog/dialogs.jsonl` for worker 0,
 * `<dataDir>/worker-<i>/dialog/dialogs.jsonl` for worker i: workers/primary.ts gives worker i the
 * data dir `<dataDir>/worker-<i>`). At node start worker 0 — which starts before the others —
 * gathers the dialogs of every journal of the node (also of workers no longer configured), or the
 * database's when there is no journal at all (a node on a new disk), and writes each worker's
 * share into that worker's journal; every worker then restores its own journal as one process
 * does. A restarted worker (the node running on) restores only its own journal.
 * Crash safety: the whole set is first written to `dialogs.split.jsonl` (read back at the next
 * start when it is still there), then the journals, then the split file is removed.
 */
import { existsSync, mkdirSync, readdirSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { rewriteJsonLines } from "../../../lib/fs/json-lines.js";
import type { StoredDialog } from "./db-store.js";
import { journalLine, readJournal } from "./journal.js";

export const JOURNAL_FILE = "dialogs.jsonl";

/** Worker i's journal, from worker 0's module data dir (`<dataDir>/dialog`). */
export function journalPathOf(dir0: string, i: number): string {
  return i === 0 ? join(dir0, JOURNAL_FILE) : join(dirname(dir0), `worker-${i}`, basename(dir0), JOURNAL_FILE);
}

/** Indexes of the worker-<i> folders (i > 0) that hold a journal. */
export function workerJournals(dir0: string): number[] {
  const base = dirname(dir0);
  if (!existsSync(base)) return [];
  const out: number[] = [];
  for (const e of readdirSync(base)) {
    const m = /^worker-(\d+)$/.exec(e);
    if (m && Number(m[1]) > 0 && existsSync(journalPathOf(dir0, Number(m[1])))) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/**
 * Worker 0 at node start: writes each of `count` workers' share of the node's stored dialogs into
 * its journal. `loadDb` is asked only when no journal exists. Returns how many dialogs the node has.
 */
export async function splitJournals(dir0: string, count: number, loadDb: () => Promise<StoredDialog[]>): Promise<{ dialogs: number; fromDb: boolean }> {
  mkdirSync(dir0, { recursive: true });
  const split = join(dir0, "dialogs.split.jsonl");
  const others = workerJournals(dir0);
  const all = new Map<string, StoredDialog>();
  let any = false;
  for (const p of [split, journalPathOf(dir0, 0), ...others.map((i) => journalPathOf(dir0, i))]) {
    const live = readJournal(p);
    if (live === null) continue;
    any = true;
    for (const s of live) if (!all.has(`${s.hEntry}.${s.hId}`)) all.set(`${s.hEntry}.${s.hId}`, s);
  }
  if (!any) for (const s of await loadDb()) all.set(`${s.hEntry}.${s.hId}`, s);
  const dialogs = [...all.values()];
  rewriteJsonLines(split, dialogs.map(journalLine));
  for (let i = 0; i < count; i++) {
    const p = journalPathOf(dir0, i);
    mkdirSync(dirname(p), { recursive: true });
    rewriteJsonLines(p, dialogs.filter((s) => s.hId % count === i).map(journalLine));
  }
  for (const i of others) if (i >= count) unlinkSync(journalPathOf(dir0, i));
  unlinkSync(split);
  return { dialogs: dialogs.length, fromDb: !any };
}
