import { Binding, type BindingInfo } from "./binding.js";
import { ExpiryHeap } from "./expiry-heap.js";
import { RuidGenerator } from "./ruid.js";
import { detach, detachOrNull } from "./detach-string.js";
import { KeyTable } from "../../../lib/runtime/key-table.js";

/** What happened to a binding (the suffix of the `registration.*` events). */
export type ChangeKind = "added" | "refreshed" | "removed" | "expired";

/** Who caused a change. */
export interface ChangeOrigin {
  /** `proto:ip:port` of the REGISTER, "rpc", "timer", "keepalive", "script" or "store". */
  readonly source: string;
  /**
   * Set when the change is a copy of what another node (or the shared store) already did:
   * listeners must neither write it back to storage nor publish events for it.
   */
  readonly replicated?: boolean;
  /** Keep the change in memory only (save flag 0x01 / FL_MEM): no storage write. */
  readonly memOnly?: boolean;
}

/** Receives every change of a table (the module wires storage and events here). */
export type TableListener = (kind: ChangeKind, b: Binding, origin: ChangeOrigin) => void;

const TIMER_ORIGIN: ChangeOrigin = Object.freeze({ source: "timer" });
const MAX_INTERNED = 4096;

/** Unix time in whole seconds (Kamailio act_time). */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * One location table (Kamailio `udomain`, e.g. "location"): address of record → contacts.
 *
 * An AoR with one contact (the common case) maps straight to its Binding; only AoRs with several
 * contacts get an array, kept in Kamailio's order: q descending, and among equal q the older
 * binding first (usrloc with desc_time_order=0). Expiry runs off an ExpiryHeap with a single
 * timer armed for the next expiry, so bindings leave on time.
 */
export class LocationTable {
  private readonly records = new KeyTable<Binding | Binding[]>();
  private readonly heap = new ExpiryHeap();
  private readonly interned = new KeyTable<string>();
  private contacts = 0;
  /** Bindings removed because they expired (stat `<table>-expires`). */
  expiredCount = 0;
  /** Called for every change (storage, events, stats are wired here by the module). */
  listener: TableListener | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly ruids: RuidGenerator,
    /** Whether expiry runs on a timer (tests of the pure logic turn it off). */
    private readonly autoExpire = true,
  ) {}

  /** Number of AoRs (Kamailio `<table>-users`). */
  get users(): number {
    return this.records.size;
  }

  /** Number of bindings (Kamailio `<table>-contacts`). */
  get contactCount(): number {
    return this.contacts;
  }

  /** Every binding of an AoR, including expired ones the timer has not removed yet. */
  get(aor: string): readonly Binding[] {
    const r = this.records.get(aor);
    if (r === undefined) return EMPTY;
    return r instanceof Binding ? [r] : r;
  }

  has(aor: string): boolean {
    return this.records.has(aor);
  }

  /** Valid (not expired) bindings of an AoR in lookup order: q descending, older first. */
  valid(aor: string, now = nowSeconds()): Binding[] {
    const r = this.records.get(aor);
    if (r === undefined) return [];
    if (r instanceof Binding) return r.isValid(now) ? [r] : [];
    const out: Binding[] = [];
    for (const b of r) if (b.isValid(now)) out.push(b);
    return out;
  }

  /** Finds a binding of an AoR by ruid. */
  byRuid(aor: string, ruid: string): Binding | undefined {
    for (const b of this.get(aor)) if (b.ruid === ruid) return b;
    return undefined;
  }

  /** Finds a binding anywhere in the table by ruid (a scan: RPC and unregister-by-ruid only). */
  findRuid(ruid: string): Binding | undefined {
    for (const r of this.records.values()) {
      if (r instanceof Binding) {
        if (r.ruid === ruid) return r;
      } else {
        for (const b of r) if (b.ruid === ruid) return b;
      }
    }
    return undefined;
  }

  /** Iterates AoRs and their bindings (ul.dump, keep-alives, write-back flush). */
  *entries(): IterableIterator<[string, readonly Binding[]]> {
    for (const [aor, r] of this.records) yield [aor, r instanceof Binding ? [r] : r];
  }

  /** Iterates every binding. */
  *bindings(): IterableIterator<Binding> {
    for (const r of this.records.values()) {
      if (r instanceof Binding) yield r;
      else yield* r;
    }
  }

  /** Adds a binding (Kamailio insert_ucontact). */
  insert(aor: string, info: BindingInfo, origin: ChangeOrigin, now = nowSeconds()): Binding {
    const existing = this.records.get(aor);
    // share the key string of an existing AoR, else keep a private copy of it
    const key = existing === undefined ? detach(aor) : existing instanceof Binding ? existing.aor : existing[0]!.aor;
    const b = new Binding(key, info.ruid !== undefined ? detach(info.ruid) : this.ruids.next(), this.internInfo(info), now);
    this.place(key, b);
    this.contacts++;
    this.heap.upsert(b);
    this.armTimer();
    this.listener?.("added", b, origin);
    return b;
  }

  /** Refreshes a binding (Kamailio update_ucontact); its position follows a changed q. */
  update(b: Binding, info: BindingInfo, origin: ChangeOrigin, now = nowSeconds()): void {
    const qChanged = b.q !== info.q;
    b.update(this.internInfo(info, b), now);
    if (qChanged) {
      this.unplace(b);
      this.place(b.aor, b);
    }
    this.heap.upsert(b);
    this.armTimer();
    this.listener?.("refreshed", b, origin);
  }

  /** Removes one binding; `kind` says why (Kamailio delete_ucontact / timer expiry). */
  remove(b: Binding, origin: ChangeOrigin, kind: "removed" | "expired" = "removed"): boolean {
    if (!this.unplace(b)) return false;
    this.contacts--;
    this.heap.remove(b);
    if (kind === "expired") this.expiredCount++;
    this.listener?.(kind, b, origin);
    return true;
  }

  /** Removes every binding of an AoR (Kamailio delete_urecord); returns how many. */
  removeAor(aor: string, origin: ChangeOrigin): number {
    const list = [...this.get(aor)];
    for (const b of list) this.remove(b, origin);
    return list.length;
  }

  /** Removes every binding whose time has come; returns how many (also called by the timer). */
  expire(now = nowSeconds()): number {
    let n = 0;
    for (let b = this.heap.popExpired(now); b; b = this.heap.popExpired(now)) {
      if (this.unplace(b)) {
        this.contacts--;
        this.expiredCount++;
        n++;
        this.listener?.("expired", b, TIMER_ORIGIN);
      }
    }
    return n;
  }

  /** Drops everything without events (shutdown, tests). */
  clear(): void {
    this.records.clear();
    this.heap.clear();
    this.contacts = 0;
  }

  /** Stops the expiry timer (module destroy). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  // ------------------------------------------------------------------ internals

  /** Inserts into the AoR's list after every binding with q >= b.q (older first among equals). */
  private place(aor: string, b: Binding): void {
    const r = this.records.get(aor);
    if (r === undefined) {
      this.records.set(aor, b);
      return;
    }
    if (r instanceof Binding) {
      this.records.set(aor, r.q >= b.q ? [r, b] : [b, r]);
      return;
    }
    let i = 0;
    while (i < r.length && r[i]!.q >= b.q) i++;
    r.splice(i, 0, b);
  }

  private unplace(b: Binding): boolean {
    const r = this.records.get(b.aor);
    if (r === undefined) return false;
    if (r instanceof Binding) {
      if (r !== b) return false;
      this.records.delete(b.aor);
      return true;
    }
    const i = r.indexOf(b);
    if (i < 0) return false;
    r.splice(i, 1);
    if (r.length === 1) this.records.set(b.aor, r[0]!);
    return true;
  }

  /** Detaches the strings a binding keeps from the message they were cut from; interns the repetitive ones. */
  private internInfo(info: BindingInfo, prev?: Binding): BindingInfo {
    // a refresh usually repeats the stored values: keep those instead of copying again
    info.contact = prev && prev.contact === info.contact ? prev.contact : detach(info.contact);
    info.callid = prev && prev.callid === info.callid ? prev.callid : detach(info.callid);
    info.received = prev && prev.received === (info.received ?? null) ? prev.received : detachOrNull(info.received);
    info.path = prev && prev.path === (info.path ?? null) ? prev.path : detachOrNull(info.path);
    info.instance = prev && prev.instance === (info.instance ?? null) ? prev.instance : detachOrNull(info.instance);
    if (info.userAgent) info.userAgent = this.intern(info.userAgent);
    if (info.socket) info.socket = this.intern(info.socket);
    return info;
  }

  private intern(s: string): string {
    const have = this.interned.get(s);
    if (have !== undefined) return have;
    const copy = detach(s);
    if (this.interned.size < MAX_INTERNED) this.interned.set(copy, copy);
    return copy;
  }

  private armTimer(): void {
    if (!this.autoExpire || this.stopped) return;
    const top = this.heap.peek();
    if (!top) return;
    const at = top.expires * 1000;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - Date.now()));
    this.timer.unref?.();
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = 0;
    try {
      this.expire();
    } finally {
      this.armTimer();
    }
  }
}

const EMPTY: readonly Binding[] = Object.freeze([]) as readonly Binding[];
