/**
 * Dialog persistence for db_mode 1 (README "Persistence"): the local journal (synchronous,
 * fdatasync'd: the restart's source of truth) and the database rows (asynchronous: Kamailio's
 * tables, visible to tools and other nodes). The journal is written when a dialog is confirmed
 * and when what a restart needs changes (CSeqs, contacts, variables, timeout, flags), not for
 * the ACK or a timer restart alone; the database row is rewritten on every change.
 */
import type { Logger } from "../../core/api.js";
import type { Dialog } from "./dialog.js";
import { DialogDbStore, storedOf, type DialogRowStore, type StoredDialog } from "./db-store.js";
import { DialogRedisStore } from "./redis-store.js";
import { DialogJournal } from "./journal.js";

function fingerprint(s: StoredDialog): string {
  return `${s.callerCseq}|${s.calleeCseq}|${s.callerContact}|${s.calleeContact}|${s.iflags}|${s.sflags}|${s.x.lt}|${[...s.vars].join(";")}|${JSON.stringify(s.x.p ?? [])}`;
}

export class DialogPersistence {
  private readonly journaled = new WeakMap<Dialog, string>();

  constructor(
    private readonly node: string,
    private readonly db: DialogRowStore,
    private readonly journal: DialogJournal,
  ) {}

  /** `dbUrl` mysql:// (Kamailio's dialog tables) or redis:// (one hash per node under `redisPrefix`). */
  static open(dbUrl: string, journalPath: string, node: string, log: Logger, redisPrefix = "olelo:dialog:"): DialogPersistence {
    return new DialogPersistence(node, openRowStore(dbUrl, node, log, redisPrefix), DialogJournal.open(journalPath));
  }

  /**
   * The dialogs this node had up: the journal's when the journal file exists (even with none up:
   * calls that ended just before a crash may still have database rows whose delete was queued),
   * else (a node without its old disk) the database's.
   */
  async load(): Promise<StoredDialog[]> {
    if (this.journal.existed) return this.journal.live();
    return this.db.load();
  }

  /**
   * After a restart: makes this node's database rows match the dialogs taken over. Rows of this
   * node for dialogs no longer up (their delete was lost with the crash) are deleted; the
   * restored dialogs are rewritten (a row whose insert was lost comes back). With workers only
   * the rows this worker `owned` are looked at (each worker prunes its own share).
   */
  resync(restored: readonly Dialog[], owned?: (hId: number) => boolean): void {
    this.db.pruneOthers(restored, owned);
    for (const d of restored) this.db.save(d);
  }

  save(d: Dialog): void {
    const s = storedOf(d, this.node);
    const f = fingerprint(s);
    if (this.journaled.get(d) !== f) {
      this.journal.save(s);
      this.journaled.set(d, f);
    }
    this.db.save(d);
  }

  remove(d: Dialog): void {
    this.journal.remove(d.hEntry, d.hId);
    this.db.remove(d);
  }

  async close(): Promise<void> {
    await this.db.close();
    this.journal.close();
  }
}

/** The database side alone: `mysql://…` (Kamailio's tables) or `redis://…` (one hash per node). */
export function openRowStore(dbUrl: string, node: string, log: Logger, redisPrefix = "olelo:dialog:"): DialogRowStore {
  return /^rediss?:\/\//.test(dbUrl) ? new DialogRedisStore(dbUrl, redisPrefix, node, log) : new DialogDbStore(dbUrl, node, log);
}
