import type { EventBus, StatGroup, Logger, NodeShared } from "../../core/api.js";
import { ContactFlag, ContactState, type Binding } from "./binding.js";
import { infoOfRow, rowOf } from "./location-row.js";
import { LocationTable, nowSeconds, type ChangeKind, type ChangeOrigin } from "./location-table.js";
import type { UsrlocChange } from "./api.js";
import type { UsrlocParams } from "./params.js";
import type { ChangeMessage, RedisLocationStore } from "./redis-store.js";
import { RuidGenerator } from "./ruid.js";
import { TABLE_NAME, type LocationStore } from "./store.js";

/** Origin of changes copied from storage or another node: no events, no writes. */
export const REPLICATED: ChangeOrigin = Object.freeze({ source: "store", replicated: true });

/** Event kinds published for binding changes. */
export const REGISTRATION_EVENTS: Readonly<Record<ChangeKind, string>> = Object.freeze({
  added: "registration.added",
  refreshed: "registration.refreshed",
  removed: "registration.removed",
  expired: "registration.expired",
});

/** What the location service needs: parameters, event bus, log, optional store and stats. */
export interface UsrlocDeps {
  readonly params: UsrlocParams;
  readonly events: EventBus;
  readonly log: Logger;
  readonly store: LocationStore | null;
  /** The `usrloc` stat group: `<table>-users`, `<table>-contacts`, `<table>-expires` per table. */
  readonly stats?: StatGroup;
  /** The node's workers: changes are broadcast to the others (in-memory and MySQL backends). */
  readonly node?: NodeShared;
}

/** A binding change broadcast between the workers of one node. */
interface WorkerChange {
  readonly msg: ChangeMessage;
  readonly row: Record<string, unknown> | null;
}

/**
 * The location service (Kamailio usrloc): named location tables in memory, wired to storage and
 * to the event stream. Every change made through a table — by the registrar, an RPC, the expiry
 * timer, a keep-alive — passes the table's listener here, which writes it to the store (unless
 * memory-only or replicated) and publishes `registration.added|refreshed|removed|expired`
 * with aor, contact, expires, received and source.
 */
export class Usrloc {
  private readonly map = new Map<string, LocationTable>();
  private readonly ruids = new RuidGenerator();
  private readonly loading = new Map<string, Promise<void>>();
  private closed = false;
  private readonly changeListeners = new Set<(c: UsrlocChange) => void>();

  constructor(private readonly deps: UsrlocDeps) {
    deps.stats?.gauge("registered_users", () => {
      let n = 0;
      for (const t of this.map.values()) n += t.users;
      return n;
    });
  }

  get params(): UsrlocParams {
    return this.deps.params;
  }

  get store(): LocationStore | null {
    return this.deps.store;
  }

  /** The table named `name`, created (and, with storage, loaded in the background) on first use. */
  table(name: string): LocationTable {
    let t = this.map.get(name);
    if (t) return t;
    if (!TABLE_NAME.test(name)) throw new Error(`usrloc: bad table name '${name}'`);
    t = new LocationTable(name, this.ruids);
    const table = t;
    t.listener = (kind, b, origin) => this.tableChanged(table, kind, b, origin);
    this.map.set(name, t);
    const st = this.deps.stats;
    if (st) {
      st.gauge(`${name}-users`, () => table.users);
      st.gauge(`${name}-contacts`, () => table.contactCount);
      st.gauge(`${name}-expires`, () => table.expiredCount, true);
    }
    if (this.deps.store && this.deps.params.db_load) {
      const p = this.load(t).catch((e: unknown) => this.deps.log.error("usrloc: loading table failed", { table: name, error: String(e) }));
      this.loading.set(name, p);
    }
    return t;
  }

  /** An existing table, or undefined (RPCs must not create tables by typo). */
  existing(name: string): LocationTable | undefined {
    return this.map.get(name);
  }

  tables(): LocationTable[] {
    return [...this.map.values()];
  }

  /** Resolves when every table created so far has been loaded from storage. */
  async ready(): Promise<void> {
    await Promise.all(this.loading.values());
  }

  /**
   * Normalises an AoR given to an RPC (Kamailio rpc_fix_aor): without use_domain the domain is
   * cut off; with it a domain is required (null otherwise). Lower-cased unless case_sensitive.
   */
  normalizeAor(aor: string): string | null {
    let a = aor.trim();
    if (a.startsWith("sip:") || a.startsWith("sips:")) a = a.slice(a.indexOf(":") + 1);
    const at = a.indexOf("@");
    if (this.params.use_domain) {
      if (at < 0) return null;
    } else if (at >= 0) a = a.slice(0, at);
    if (a === "") return null;
    return this.params.case_sensitive ? a : a.toLowerCase();
  }

  /** The branch-flag mask of NATed contacts (0 when nat_bflag is unset). */
  get natMask(): number {
    return this.params.nat_bflag >= 0 ? 1 << this.params.nat_bflag : 0;
  }

  private async load(t: LocationTable): Promise<void> {
    const rows = await this.deps.store!.load(t.name);
    const now = nowSeconds();
    let n = 0;
    for (const { aor, info } of rows) {
      if (info.expires !== 0 && info.expires <= now) continue;
      if (t.byRuid(aor, info.ruid!)) continue;
      const b = t.insert(aor, info, REPLICATED, now);
      b.state = ContactState.SYNC;
      n++;
    }
    this.deps.log.info("usrloc: table loaded", { table: t.name, bindings: n, store: this.deps.store!.kind });
  }

  /** Applies a change published on the Redis channel (every node, the writer included). */
  applyReplicated(msg: ChangeMessage, row: Record<string, unknown> | null, own: boolean): void {
    const t = this.table(msg.t);
    const cur = t.byRuid(msg.a, msg.r);
    if (msg.o === "d") {
      if (cur) t.remove(cur, REPLICATED);
      return;
    }
    const info = row ? infoOfRow(row) : null;
    if (!info) return;
    const now = nowSeconds();
    if (info.expires !== 0 && info.expires <= now) return;
    if (cur) {
      if (own && cur.lastModified === info.lastModified && cur.cseq === info.cseq && cur.expires === info.expires && cur.callid === info.callid && cur.contact === info.contact) {
        cur.state = ContactState.SYNC;
        return;
      }
      t.update(cur, info, REPLICATED, info.lastModified ?? now);
      cur.state = ContactState.SYNC;
    } else {
      const b = t.insert(msg.a, info, REPLICATED, now);
      b.state = ContactState.SYNC;
    }
  }

  private workerChange(t: LocationTable, kind: ChangeKind, b: Binding): WorkerChange {
    const del = kind === "removed" || kind === "expired";
    return { msg: { n: "", t: t.name, a: b.aor, o: del ? "d" : "u", r: b.ruid }, row: del ? null : { ...rowOf(b, this.params.use_domain) } };
  }

  /**
   * Joins the node's workers: applies the others' changes, and answers a (re)started worker's
   * request with every binding (so a restarted worker has the node's registrations).
   */
  joinWorkers(node: NodeShared): void {
    node.on("usrloc", (m) => {
      for (const c of m as WorkerChange[]) this.applyReplicated(c.msg, c.row, false);
    });
    node.on("usrloc-sync", () => {
      const all: WorkerChange[] = [];
      for (const t of this.map.values()) for (const b of t.bindings()) all.push(this.workerChange(t, "added", b));
      if (all.length > 0) node.broadcast("usrloc", all);
    });
    node.broadcast("usrloc-sync", null);
  }

  /** Registers a binding-change listener (UsrlocApi.onChange); returns its removal. */
  onChange(fn: (c: UsrlocChange) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  private tellListeners(t: LocationTable, kind: ChangeKind, b: Binding, origin: ChangeOrigin): void {
    const c: UsrlocChange = { table: t.name, kind, binding: b, source: origin.source, replicated: origin.replicated === true };
    for (const fn of this.changeListeners) {
      try {
        fn(c);
      } catch (e) {
        this.deps.log.warn("usrloc: change listener failed", { aor: b.aor, error: String(e) });
      }
    }
  }

  private tableChanged(t: LocationTable, kind: ChangeKind, b: Binding, origin: ChangeOrigin): void {
    if (this.closed) return;
    if (this.changeListeners.size > 0) this.tellListeners(t, kind, b, origin);
    if (origin.replicated) return;
    const store = this.deps.store;
    const node = this.deps.node;
    if (node !== undefined && node.count > 1 && store?.kind !== "redis") {
      // every worker expires its own copy at the same time: only worker 0 reports (and stores) it
      if (kind === "expired") {
        if (node.index !== 0) return;
      } else node.broadcast("usrloc", [this.workerChange(t, kind, b)]);
    }
    const persist = store !== null && !origin.memOnly && (b.flags & ContactFlag.MEM) === 0;
    if (kind === "expired" && persist && store.kind === "redis") {
      // in a fleet only the node that removes it from Redis reports the expiry
      void (store as RedisLocationStore).expire(t.name, b).then(
        (r) => {
          if (r === "deleted") this.publish(kind, t, b, origin);
          else if (r !== "gone") {
            const info = infoOfRow(r);
            if (info && !t.byRuid(b.aor, b.ruid)) t.insert(b.aor, info, REPLICATED).state = ContactState.SYNC;
          }
        },
        (e: unknown) => {
          this.deps.log.warn("usrloc: Redis expiry failed", { aor: b.aor, error: String(e) });
          this.publish(kind, t, b, origin);
        },
      );
      return;
    }
    if (persist) {
      store.changed(t.name, kind, b);
      if (kind === "added" || kind === "refreshed") b.state = store.kind === "redis" ? ContactState.SYNC : ContactState.DIRTY;
    }
    this.publish(kind, t, b, origin);
  }

  private publish(kind: ChangeKind, t: LocationTable, b: Binding, origin: ChangeOrigin): void {
    const now = nowSeconds();
    this.deps.events.publish(REGISTRATION_EVENTS[kind], {
      table: t.name,
      aor: b.aor,
      contact: b.contact,
      expires: kind === "added" || kind === "refreshed" ? b.remaining(now) : 0,
      received: b.received,
      source: origin.source,
      ruid: b.ruid,
      socket: b.socket,
      instance: b.instance,
      userAgent: b.userAgent,
    });
  }

  /** Writes pending changes (ul.flush). */
  async flush(): Promise<void> {
    await this.deps.store?.flush();
  }

  async close(): Promise<void> {
    for (const t of this.map.values()) t.stop();
    await Promise.allSettled(this.loading.values());
    this.closed = true;
    await this.deps.store?.close();
  }
}
