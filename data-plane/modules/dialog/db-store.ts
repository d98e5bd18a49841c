/**
 * Dialog persistence in MySQL/MariaDB (Kamailio dialog `db_mode` 1, "realtime"): a dialog is
 * written to Kamailio's `dialog` / `dialog_vars` tables (v7 / v1, created by the control plane's
 * migrations) when it is confirmed (2xx), updated when its state, CSeqs, contacts or variables
 * change, and deleted when it ends. A restarted data plane loads its own rows (xdata `n` = node)
 * and carries on with those calls: in-dialog requests match them by the rr param, the timeout
 * runs from the stored expiry, and their end produces call.ended (and so the CDR) as usual.
 *
 * Writes are asynchronous and applied in order through one queue; nothing on the SIP path waits.
 * Olelo's extra state (node, INVITE/answer ms, source, gateway, final code) is JSON in `xdata`.
 *
 * @example
 *   const store = new DialogDbStore("mysql://root@127.0.0.1/olelo", "node-a", log);
 *   const rows = await store.load();      // the dialogs this node had up
 */
import mysql from "mysql2/promise";
import type { Logger } from "../../core/api.js";
import type { Dialog } from "./dialog.js";

/** What `xdata` holds (short keys: the column is 512 characters). */
export interface DialogXdata {
  n: string;
  i: number;
  s: number;
  a: number;
  lt: number;
  src: string;
  gw: string | null;
  gd: string | null;
  ga: string | null;
  c: number;
  r: string;
  /** Profile memberships [profile, value] (restored so call limits still count these calls). */
  p?: Array<[string, string]>;
}

/** A stored dialog as load() returns it. */
export interface StoredDialog {
  hEntry: number;
  hId: number;
  callId: string;
  fromUri: string;
  fromTag: string;
  toUri: string;
  toTag: string;
  callerCseq: number;
  calleeCseq: number;
  callerRouteSet: string[];
  calleeRouteSet: string[];
  callerContact: string;
  calleeContact: string;
  callerSock: string;
  calleeSock: string;
  state: number;
  /** Expiry in ms (from the `timeout` column, seconds). */
  timeoutAt: number;
  sflags: number;
  iflags: number;
  reqUri: string;
  x: DialogXdata;
  vars: Map<string, string>;
}

const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);

export function xdataOf(d: Dialog, node: string): DialogXdata {
  const b = d.gateway;
  return {
    n: node,
    i: d.initTs,
    s: d.startTs,
    a: d.ackTs,
    lt: d.lifetime,
    src: `${d.source.proto}:${d.source.address}:${d.source.port}`,
    gw: b ? b.uri : null,
    gd: b ? b.dstUri : null,
    ga: b ? `${b.dst.proto}:${b.dst.address}:${b.dst.port}` : null,
    c: d.code,
    r: d.reason,
    ...(d.profiles.length ? { p: d.profiles.map((l): [string, string] => [l.profile, l.value]) } : {}),
  };
}

/** The stored form of a live dialog (what the database row and the journal line hold). */
export function storedOf(d: Dialog, node: string): StoredDialog {
  return {
    hEntry: d.hEntry,
    hId: d.hId,
    callId: d.callId,
    fromUri: d.fromUri,
    fromTag: d.caller.tag,
    toUri: d.toUri,
    toTag: d.callee.tag,
    callerCseq: d.caller.cseq,
    calleeCseq: d.callee.cseq,
    callerRouteSet: d.caller.routeSet,
    calleeRouteSet: d.callee.routeSet,
    callerContact: d.caller.contact,
    calleeContact: d.callee.contact,
    callerSock: d.caller.socket,
    calleeSock: d.callee.socket,
    state: d.state,
    timeoutAt: d.timeoutAt,
    sflags: d.sflags,
    iflags: d.iflags,
    reqUri: d.reqUri,
    x: xdataOf(d, node),
    vars: new Map(d.vars ?? []),
  };
}

/** A stored dialog as JSON (the journal line's `s`, the Redis field's value): variables as an object. */
export type StoredDialogJson = Omit<StoredDialog, "vars"> & { vars: Record<string, string> };

export function storedToJson(s: StoredDialog): StoredDialogJson {
  return { ...s, vars: Object.fromEntries(s.vars) };
}

export function storedFromJson(j: StoredDialogJson): StoredDialog {
  return { ...j, vars: new Map(Object.entries(j.vars ?? {})) };
}

/** Where db_mode 1 writes the dialogs: MySQL (this file) or Redis (redis-store.ts). */
export interface DialogRowStore {
  /** Writes that failed. */
  readonly errors: number;
  /** Stale rows of this node deleted at start. */
  readonly pruned: number;
  /** This node's stored dialogs (an unreachable store gives [] and a warning). */
  load(): Promise<StoredDialog[]>;
  /** Writes (replaces) the dialog. */
  save(d: Dialog): void;
  /** Deletes the dialog. */
  remove(d: Dialog): void;
  /** Deletes this node's dialogs except those of `keep` (only those whose h_id is `owned`, when given). */
  pruneOthers(keep: readonly Dialog[], owned?: (hId: number) => boolean): void;
  /** Waits for queued writes. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export class DialogDbStore implements DialogRowStore {
  private readonly pool: mysql.Pool;
  private chain: Promise<void> = Promise.resolve();
  private lastErrorLog = 0;
  private closed = false;
  /** Writes that failed (database down or refused). */
  errors = 0;
  /** Stale rows of this node deleted at start (pruneOthers). */
  pruned = 0;

  constructor(
    url: string,
    private readonly node: string,
    private readonly log: Logger,
  ) {
    this.pool = mysql.createPool({ uri: url, connectionLimit: 2, connectTimeout: 5000, enableKeepAlive: true });
    this.pool.on("connection", (c) => c.on("error", () => undefined));
  }

  /** This node's stored dialogs (an unreachable database gives [] and a warning). */
  async load(): Promise<StoredDialog[]> {
    let rows: mysql.RowDataPacket[];
    let vars: mysql.RowDataPacket[];
    try {
      [rows] = await this.pool.query<mysql.RowDataPacket[]>("SELECT * FROM `dialog`");
      [vars] = await this.pool.query<mysql.RowDataPacket[]>("SELECT hash_entry, hash_id, dialog_key, dialog_value FROM `dialog_vars`");
    } catch (e) {
      this.log.warn("dialog: could not load dialogs from the database", { error: (e as Error).message });
      return [];
    }
    const out: StoredDialog[] = [];
    for (const r of rows) {
      let x: DialogXdata;
      try {
        x = JSON.parse(String(r.xdata ?? "")) as DialogXdata;
      } catch {
        continue; // not written by Olelo
      }
      if (x.n !== this.node) continue;
      const he = Number(r.hash_entry);
      const hi = Number(r.hash_id);
      const v = new Map<string, string>();
      for (const w of vars) if (Number(w.hash_entry) === he && Number(w.hash_id) === hi) v.set(String(w.dialog_key), String(w.dialog_value));
      const rs = (s: unknown) => (s ? String(s).split(",").filter((p) => p !== "") : []);
      out.push({
        hEntry: he,
        hId: hi,
        callId: String(r.callid),
        fromUri: String(r.from_uri),
        fromTag: String(r.from_tag),
        toUri: String(r.to_uri),
        toTag: String(r.to_tag),
        callerCseq: Number(r.caller_cseq),
        calleeCseq: Number(r.callee_cseq),
        callerRouteSet: rs(r.caller_route_set),
        calleeRouteSet: rs(r.callee_route_set),
        callerContact: String(r.caller_contact),
        calleeContact: String(r.callee_contact),
        callerSock: String(r.caller_sock),
        calleeSock: String(r.callee_sock),
        state: Number(r.state),
        timeoutAt: Number(r.timeout) * 1000,
        sflags: Number(r.sflags),
        iflags: Number(r.iflags),
        reqUri: String(r.req_uri),
        x,
        vars: v,
      });
    }
    return out;
  }

  /** Writes (replaces) the dialog's rows. */
  save(d: Dialog): void {
    const x = xdataOf(d, this.node);
    const row = [
      d.hEntry,
      d.hId,
      cut(d.callId, 255),
      cut(d.fromUri, 255),
      cut(d.caller.tag, 128),
      cut(d.toUri, 255),
      cut(d.callee.tag, 128),
      String(d.caller.cseq),
      String(d.callee.cseq),
      cut(d.caller.routeSet.join(","), 512),
      cut(d.callee.routeSet.join(","), 512),
      cut(d.caller.contact, 255),
      cut(d.callee.contact, 255),
      cut(d.caller.socket, 64),
      cut(d.callee.socket, 64),
      d.state,
      Math.floor(d.startTs / 1000),
      Math.ceil(d.timeoutAt / 1000),
      d.sflags,
      d.iflags,
      cut(d.reqUri, 255),
      cut(JSON.stringify(x), 512),
    ];
    const vars = d.vars ? [...d.vars].map(([k, v]) => [d.hEntry, d.hId, cut(k, 128), cut(v, 512)]) : [];
    this.enqueue(async (c) => {
      await c.query("DELETE FROM `dialog` WHERE hash_entry = ? AND hash_id = ?", [d.hEntry, d.hId]);
      await c.query("DELETE FROM `dialog_vars` WHERE hash_entry = ? AND hash_id = ?", [d.hEntry, d.hId]);
      await c.query(
        "INSERT INTO `dialog` (hash_entry, hash_id, callid, from_uri, from_tag, to_uri, to_tag, caller_cseq, callee_cseq, caller_route_set, callee_route_set, " +
          "caller_contact, callee_contact, caller_sock, callee_sock, state, start_time, timeout, sflags, iflags, req_uri, xdata) VALUES (?)",
        [row],
      );
      if (vars.length) await c.query("INSERT INTO `dialog_vars` (hash_entry, hash_id, dialog_key, dialog_value) VALUES ?", [vars]);
    });
  }

  /** Deletes this node's rows (and their variables) except those of `keep`. */
  pruneOthers(keep: readonly Dialog[], owned: (hId: number) => boolean = () => true): void {
    const kept = new Set(keep.map((d) => `${d.hEntry}.${d.hId}`));
    this.enqueue(async (c) => {
      const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT hash_entry, hash_id, xdata FROM `dialog`");
      for (const r of rows) {
        let n: unknown;
        try {
          n = (JSON.parse(String(r.xdata ?? "")) as Partial<DialogXdata>).n;
        } catch {
          continue; // not written by Olelo
        }
        if (n !== this.node || kept.has(`${r.hash_entry}.${r.hash_id}`) || !owned(Number(r.hash_id))) continue;
        await c.query("DELETE FROM `dialog` WHERE hash_entry = ? AND hash_id = ?", [r.hash_entry, r.hash_id]);
        await c.query("DELETE FROM `dialog_vars` WHERE hash_entry = ? AND hash_id = ?", [r.hash_entry, r.hash_id]);
        this.pruned++;
      }
    });
  }

  /** Deletes the dialog's rows. */
  remove(d: Dialog): void {
    this.enqueue(async (c) => {
      await c.query("DELETE FROM `dialog` WHERE hash_entry = ? AND hash_id = ?", [d.hEntry, d.hId]);
      await c.query("DELETE FROM `dialog_vars` WHERE hash_entry = ? AND hash_id = ?", [d.hEntry, d.hId]);
    });
  }

  private enqueue(op: (c: mysql.Pool) => Promise<void>): void {
    if (this.closed) return;
    this.chain = this.chain.then(
      () => op(this.pool),
    ).catch((e: unknown) => {
      this.errors++;
      const now = Date.now();
      if (now - this.lastErrorLog > 10_000) {
        this.lastErrorLog = now;
        this.log.error("dialog: database write failed", { error: (e as Error).message });
      }
    });
  }

  /** Waits for queued writes (tests, shutdown). */
  async flush(): Promise<void> {
    await this.chain;
  }

  async close(): Promise<void> {
    await Promise.race([this.chain, new Promise((r) => setTimeout(r, 2000).unref())]);
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }
}
