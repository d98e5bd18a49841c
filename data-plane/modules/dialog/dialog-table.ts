import type { Dialog } from "./dialog.js";

/**
 * The dialogs in memory (Kamailio dlg_hash.c): found by (h_entry, h_id) — the rr param and
 * dlg.end_dlg — or by Call-ID (tag matching, dlg.dlg_list). h_entry is a hash of the Call-ID
 * over `size` entries, h_id a per-table counter that starts at a random value, so a `did` left
 * in a Route header from before a restart does not hit a new dialog (the Call-ID is compared
 * too).
 */
export class DialogTable {
  private readonly byId = new Map<number, Dialog>();
  private readonly byCallId = new Map<string, Dialog[]>();
  private nextId: number;

  /**
   * With workers (`workers` > 1) each worker hands out the h_ids `≡ index (mod workers)`, so any
   * worker tells the owner of a `did` from its h_id alone (`ownerOf`), without shared state.
   */
  constructor(
    readonly size: number,
    readonly index = 0,
    readonly workers = 1,
  ) {
    const r = 1 + Math.floor(Math.random() * 0x3fffffff);
    this.nextId = r - (r % workers) + index || workers;
  }

  /** The worker whose dialog this h_id is (0 with one worker). */
  ownerOf(hId: number): number {
    return hId % this.workers;
  }

  get count(): number {
    return this.byId.size;
  }

  /** h_entry of a Call-ID (FNV-1a over its bytes, masked to the table size). */
  entryOf(callId: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < callId.length; i++) {
      h ^= callId.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return (h >>> 0) & (this.size - 1);
  }

  /** A fresh h_id (32-bit, wraps; never 0; `ownerOf(id)` is this worker's index). */
  newId(): number {
    const id = this.nextId;
    const next = this.nextId + this.workers;
    this.nextId = next > 0xffffffff ? this.index || this.workers : next;
    return id;
  }

  add(d: Dialog): void {
    this.byId.set(key(d.hEntry, d.hId), d);
    const l = this.byCallId.get(d.callId);
    if (l) l.push(d);
    else this.byCallId.set(d.callId, [d]);
  }

  remove(d: Dialog): void {
    const k = key(d.hEntry, d.hId);
    if (this.byId.get(k) !== d) return;
    this.byId.delete(k);
    const l = this.byCallId.get(d.callId);
    if (!l) return;
    const i = l.indexOf(d);
    if (i >= 0) l.splice(i, 1);
    if (l.length === 0) this.byCallId.delete(d.callId);
  }

  lookup(hEntry: number, hId: number): Dialog | undefined {
    return this.byId.get(key(hEntry, hId));
  }

  byCall(callId: string): readonly Dialog[] {
    return this.byCallId.get(callId) ?? EMPTY;
  }

  /**
   * A dialog of this Call-ID whose tags match in either direction (RFC 3261 §12.2.2). An empty
   * callee tag (not answered yet) matches only the caller's tag with no To-tag.
   */
  matchTags(callId: string, fromTag: string, toTag: string): Dialog | undefined {
    const l = this.byCallId.get(callId);
    if (!l) return undefined;
    for (const d of l) {
      if (d.caller.tag === fromTag && d.callee.tag === toTag) return d;
      if (d.callee.tag !== "" && d.callee.tag === fromTag && d.caller.tag === toTag) return d;
    }
    return undefined;
  }

  /** Every dialog, in no particular order. */
  all(): IterableIterator<Dialog> {
    return this.byId.values();
  }
}

const EMPTY: readonly Dialog[] = Object.freeze([]);

function key(hEntry: number, hId: number): number {
  return hEntry * 0x100000000 + hId;
}
