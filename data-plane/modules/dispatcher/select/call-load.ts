/**
 * Call accounting for alg 10 (Kamailio's internal call hash ds_ht): which destination (set +
 * duid) carries each Call-ID, and how many calls each destination carries. Loads are keyed by
 * `set|duid`, not by table position, so they survive reloads and table pushes untouched.
 *
 * With workers (`shareWith`), the counts are the node's: each worker adds its calls to its row of
 * a shared counter matrix (core/workers/key-counts.ts) and `load()` sums the rows; the Call-ID
 * entries stay with the worker that routed the INVITE, and a BYE another worker sees is handed
 * to it (`onMiss`, dispatcher.ts).
 */
import type { KeyCounts } from "../../../core/api.js";

export interface CallLoadEntry {
  readonly setid: number;
  duid: string;
  /** 0 = INVITE sent, 1 = confirmed by a 2xx. */
  state: 0 | 1;
  /** Epoch ms after which the entry is dropped (hash_expire). */
  expireAt: number;
  /** Epoch ms after which an unconfirmed entry is dropped (hash_initexpire). */
  initExpireAt: number;
}

export class CallLoadTable {
  private readonly calls = new Map<string, CallLoadEntry>();
  private readonly counts = new Map<string, number>();
  private shared: KeyCounts | null = null;
  /** With workers: a BYE/CANCEL/unset for a Call-ID this worker does not hold (another may). */
  onMiss: ((callId: string) => void) | null = null;

  constructor(
    private readonly expireMs: number,
    private readonly initExpireMs: number,
  ) {}

  /** Counts from now on go to this worker's row of the node's matrix (set once, before any call). */
  shareWith(counts: KeyCounts): void {
    this.shared = counts;
    counts.resetRow();
  }

  /** Active calls on a destination (the node's, with workers). */
  load(setid: number, duid: string): number {
    const k = loadKey(setid, duid);
    return this.shared !== null ? this.shared.sum(k) : (this.counts.get(k) ?? 0);
  }

  get size(): number {
    return this.calls.size;
  }

  has(callId: string): boolean {
    return this.calls.has(callId);
  }

  get(callId: string): CallLoadEntry | undefined {
    return this.calls.get(callId);
  }

  /** Records a call; a Call-ID already tracked is moved (never counted twice). */
  add(callId: string, setid: number, duid: string, now: number): void {
    this.drop(callId);
    this.calls.set(callId, { setid, duid, state: 0, expireAt: now + this.expireMs, initExpireAt: now + this.initExpireMs });
    this.bump(setid, duid, 1);
  }

  /** Moves a call to another destination of the same set (failover, ds_load_replace). */
  replace(callId: string, duid: string): boolean {
    const e = this.calls.get(callId);
    if (!e) return false;
    this.bump(e.setid, e.duid, -1);
    e.duid = duid;
    this.bump(e.setid, duid, 1);
    return true;
  }

  /** Ends a call (BYE, CANCEL, ds_load_unset); false when the Call-ID was not tracked here. */
  remove(callId: string): boolean {
    if (this.drop(callId)) return true;
    this.onMiss?.(callId);
    return false;
  }

  /** Ends a call tracked by this worker (also: one handed over by another worker). */
  drop(callId: string): boolean {
    const e = this.calls.get(callId);
    if (!e) return false;
    this.calls.delete(callId);
    this.bump(e.setid, e.duid, -1);
    return true;
  }

  /** Marks a call confirmed (2xx to the INVITE): only hash_expire applies from now on. */
  confirm(callId: string): boolean {
    const e = this.calls.get(callId);
    if (!e) return false;
    e.state = 1;
    return true;
  }

  /** Drops expired calls; returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const [cid, e] of this.calls) {
      if (e.expireAt < now || (e.state === 0 && e.initExpireAt < now)) {
        this.calls.delete(cid);
        this.bump(e.setid, e.duid, -1);
        n++;
      }
    }
    return n;
  }

  private bump(setid: number, duid: string, by: number): void {
    const k = loadKey(setid, duid);
    if (this.shared !== null) {
      this.shared.add(k, by);
      return;
    }
    const v = (this.counts.get(k) ?? 0) + by;
    if (v <= 0) this.counts.delete(k);
    else this.counts.set(k, v);
  }
}

function loadKey(setid: number, duid: string): string {
  return `${setid}|${duid.toLowerCase()}`;
}
