/**
 * Stored state of topos (Kamailio's topos_d and topos_t rows): what was stripped from the
 * messages, so it can be put back. Dialog records are shared by the fleet (Redis or MySQL) so an
 * in-dialog request may reach any node; branch records serve replies, which come back to the
 * node whose Via they carry, and are also written to the store.
 */

/** One dialog (topos_d): `a` is the caller side (sent the initial request), `b` the callee side. */
export interface DialogRecord {
  uuid: string;
  aCallId: string;
  aTag: string;
  bTag: string;
  /** Contact URIs of each side (the real ones, restored as R-URI). */
  aContact: string;
  bContact: string;
  /** Record-Route values of the initial request as routed (caller side and ours), top first. */
  aRr: string[];
  /** Record-Route values of the callee side (from its reply), top first. */
  bRr: string[];
  aUri: string;
  bUri: string;
  rUri: string;
  aSrc: string;
  bSrc: string;
  /** Epoch ms of the last change (rectime). */
  rectime: number;
}

/** One branch (topos_t): the Vias stripped from a request copy, under its Via branch. */
export interface BranchRecord {
  /** Via branch of the copy Olelo sent (x_vbranch). */
  branch: string;
  uuid: string;
  aCallId: string;
  /** 0 = downstream (from the caller side), 1 = upstream (from the callee side). */
  direction: 0 | 1;
  /** The Via values below Olelo's, as they were (x_via). */
  vias: string[];
  method: string;
  cseq: string;
  rectime: number;
}

/** Shared storage behind the in-memory cache. Writes are queued in order; reads are bounded by the caller. */
export interface ToposStore {
  /** Queues the write; the promise settles when it is done (never rejects: failures are counted). */
  saveDialog(d: DialogRecord, ttlSec: number): Promise<void>;
  loadDialog(uuid: string): Promise<DialogRecord | null>;
  /** The dialog ended: keep it for a few seconds (retransmissions), then drop it. */
  endDialog(uuid: string, graceSec: number): void;
  saveBranch(b: BranchRecord, ttlSec: number): void;
  loadBranch(branch: string): Promise<BranchRecord | null>;
  /** Removes expired rows (MySQL; Redis expires keys itself). */
  clean(dialogExpireSec: number, branchExpireSec: number): Promise<number>;
  /** Waits for queued writes. */
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly errors: number;
}

/** Bounded in-memory map with expiry, the per-node cache and the only store of `storage: memory`. */
export class ExpiringMap<V> {
  private readonly m = new Map<string, { v: V; until: number }>();
  get(k: string, now = Date.now()): V | undefined {
    const e = this.m.get(k);
    if (!e) return undefined;
    if (e.until < now) {
      this.m.delete(k);
      return undefined;
    }
    return e.v;
  }
  set(k: string, v: V, ttlMs: number): void {
    this.m.set(k, { v, until: Date.now() + ttlMs });
  }
  delete(k: string): void {
    this.m.delete(k);
  }
  get size(): number {
    return this.m.size;
  }
  sweep(now = Date.now()): number {
    let n = 0;
    for (const [k, e] of this.m) {
      if (e.until < now) {
        this.m.delete(k);
        n++;
      }
    }
    return n;
  }
  clear(): void {
    this.m.clear();
  }
}
