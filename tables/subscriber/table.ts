import { TableError, type TableRow, type TableSet } from "../rows.js";
import { runToEnd, ROW_SLICE_MASK, type Sliced } from "../kit/sliced.js";

/**
 * Pure compile of Kamailio's `subscriber` table (auth_db, table version 7: id, username, domain,
 * password, ha1, ha1b) into lookup maps. Either a plaintext `password` (HA1 computed per request
 * and algorithm — Kamailio's calculate_ha1) or a precomputed `ha1` is needed. `ha1b` is the hash
 * for UAs that send "user@domain" as username. A delta (delta.ts) puts its changed subscribers in
 * an overlay over these maps; `find` consults the overlay first.
 */
export interface Subscriber {
  readonly id: string | number;
  readonly username: string;
  /** Lower-cased. */
  readonly domain: string;
  /** Plaintext password, or null. */
  readonly password: string | null;
  /** Lower-case hex H(user:realm:password), or null. */
  readonly ha1: string | null;
  /** Lower-case hex H(user@domain:realm:password), or null. */
  readonly ha1b: string | null;
}

/** The changed entries of a delta (delta.ts): null where a key or username no longer has a subscriber. */
export interface SubscriberOverlay {
  /** `user\0domain` → subscriber or null. */
  readonly byUserDomain: ReadonlyMap<string, Subscriber | null>;
  /** username → its first subscriber in table order (use_domain=0), or null. */
  readonly byUser: ReadonlyMap<string, Subscriber | null>;
  /** username → number of rows, for usernames whose count changed (see `dupUsers`). */
  readonly userRows: ReadonlyMap<string, number>;
}

export interface SubscriberTableParts {
  readonly rows: readonly Subscriber[] | null;
  readonly byUserDomain: ReadonlyMap<string, Subscriber>;
  readonly byUser: ReadonlyMap<string, Subscriber>;
  /** Usernames that have rows in several domains → their row count (the others have one). */
  readonly dupUsers: ReadonlyMap<string, number>;
  readonly size: number;
  readonly withoutPassword: number;
  readonly overlay?: SubscriberOverlay;
}

/** Compiled subscribers: by user+domain (use_domain=1) and by user alone (use_domain=0, first row wins). */
export class SubscriberTable {
  /** Subscribers (rows). */
  readonly size: number;
  /** Subscribers without a plaintext password (ha1/ha1b only). */
  readonly withoutPassword: number;
  readonly byUserDomain: ReadonlyMap<string, Subscriber>;
  readonly byUser: ReadonlyMap<string, Subscriber>;
  readonly dupUsers: ReadonlyMap<string, number>;
  readonly overlay: SubscriberOverlay | undefined;
  private readonly list: readonly Subscriber[] | null;

  constructor(p: SubscriberTableParts) {
    this.list = p.rows;
    this.byUserDomain = p.byUserDomain;
    this.byUser = p.byUser;
    this.dupUsers = p.dupUsers;
    this.size = p.size;
    this.withoutPassword = p.withoutPassword;
    this.overlay = p.overlay && (p.overlay.byUserDomain.size > 0 || p.overlay.byUser.size > 0) ? p.overlay : undefined;
  }

  static empty(): SubscriberTable {
    return new SubscriberTable({ rows: [], byUserDomain: new Map(), byUser: new Map(), dupUsers: new Map(), size: 0, withoutPassword: 0 });
  }

  /** The subscribers in table order (a delta's result: every live subscriber, built on call, O(n)). */
  get rows(): readonly Subscriber[] {
    return this.list ?? [...this.entries()].map(([, s]) => s);
  }

  /** The subscriber for `username` (exact) in `domain` (case-insensitive), or any domain when null. */
  find(username: string, domain: string | null): Subscriber | null {
    const o = this.overlay;
    if (domain === null) {
      if (o) {
        const s = o.byUser.get(username);
        if (s !== undefined) return s;
      }
      return this.byUser.get(username) ?? null;
    }
    const key = `${username}\u0000${domain.toLowerCase()}`;
    if (o) {
      const s = o.byUserDomain.get(key);
      if (s !== undefined) return s;
    }
    return this.byUserDomain.get(key) ?? null;
  }

  /** The subscriber of a `user\0domain` key (overlay first). */
  byKey(key: string): Subscriber | null {
    const s = this.overlay?.byUserDomain.get(key);
    return s !== undefined ? s : (this.byUserDomain.get(key) ?? null);
  }

  /** Rows with this username. */
  userRows(username: string): number {
    const n = this.overlay?.userRows.get(username) ?? this.dupUsers.get(username);
    return n ?? (this.find(username, null) ? 1 : 0);
  }

  /** Every live `user\0domain` → subscriber (overlay applied). */
  *entries(): Generator<[string, Subscriber]> {
    const o = this.overlay?.byUserDomain;
    for (const [k, s] of this.byUserDomain) {
      if (o?.has(k)) continue;
      yield [k, s];
    }
    if (o) for (const [k, s] of o) if (s !== null) yield [k, s];
  }
}

const HEX_RE = /^[0-9a-fA-F]+$/;
const BAD_USER_RE = /[\s:]/;

function text(table: string, id: string | number, row: TableRow, col: string): string {
  const v = row[col];
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  throw new TableError(table, id, `column ${col} must be text`);
}

function hashCol(table: string, id: string | number, row: TableRow, col: string): string | null {
  const v = text(table, id, row, col).trim();
  if (v === "") return null;
  if (!HEX_RE.test(v) || (v.length !== 32 && v.length !== 64)) {
    throw new TableError(table, id, `column ${col} must be a 32 or 64 digit hex hash`);
  }
  return v.toLowerCase();
}

/** The key of a subscriber in `byUserDomain`. */
export const subscriberKey = (s: Subscriber): string => `${s.username}\u0000${s.domain}`;

/**
 * Reads and checks one row (everything but the duplicate check). `index` is its 0-based position
 * (names a row without an id). Throws TableError. The full compile and the delta both use it.
 */
export function readSubscriber(row: TableRow, index: number, table = "subscriber"): Subscriber {
  if (typeof row !== "object" || row === null) throw new TableError(table, index + 1, "row is not an object");
  const rawId = row.id;
  const id = typeof rawId === "number" || (typeof rawId === "string" && rawId !== "") ? rawId : index + 1;
  const username = text(table, id, row, "username");
  if (username === "") throw new TableError(table, id, "username is empty");
  if (BAD_USER_RE.test(username)) throw new TableError(table, id, `username '${username}' contains whitespace or ':'`);
  const domain = text(table, id, row, "domain").trim().toLowerCase();
  const pw = text(table, id, row, "password");
  const s: Subscriber = {
    id,
    username,
    domain,
    password: pw === "" ? null : pw,
    ha1: hashCol(table, id, row, "ha1"),
    ha1b: hashCol(table, id, row, "ha1b"),
  };
  if (s.password === null && s.ha1 === null && s.ha1b === null) {
    throw new TableError(table, id, `subscriber ${username}@${domain} has neither password nor ha1`);
  }
  return s;
}

/** The duplicate refusal (the full compile names the later row of the two). */
export function duplicateError(table: string, s: Subscriber): TableError {
  return new TableError(table, s.id, `duplicate subscriber ${s.username}@${s.domain}`);
}

/** The full compile as steps that yield every 1024 rows (sliced on the data plane for big tables). */
export function* compileSubscriberSteps(rows: readonly TableRow[], table = "subscriber"): Sliced<SubscriberTable> {
  const list: Subscriber[] = [];
  const byUserDomain = new Map<string, Subscriber>();
  const byUser = new Map<string, Subscriber>();
  const dupUsers = new Map<string, number>();
  let withoutPassword = 0;
  for (let i = 0; i < rows.length; i++) {
    const s = readSubscriber(rows[i]!, i, table);
    const key = subscriberKey(s);
    if (byUserDomain.has(key)) throw duplicateError(table, s);
    byUserDomain.set(key, s);
    if (!byUser.has(s.username)) byUser.set(s.username, s);
    else dupUsers.set(s.username, (dupUsers.get(s.username) ?? 1) + 1);
    if (s.password === null) withoutPassword++;
    list.push(s);
    if ((i & ROW_SLICE_MASK) === ROW_SLICE_MASK) yield;
  }
  return new SubscriberTable({ rows: list, byUserDomain, byUser, dupUsers, size: list.length, withoutPassword });
}

/** Validates and compiles subscriber rows; throws TableError naming the first bad row. */
export function compileSubscriberRows(rows: readonly TableRow[], table = "subscriber"): SubscriberTable {
  return runToEnd(compileSubscriberSteps(rows, table));
}

/** The subscriber rows of a set (throws when the table is missing). */
export function subscriberRowsOf(set: TableSet): readonly TableRow[] {
  const rows = set.subscriber;
  if (!Array.isArray(rows)) throw new TableError("subscriber", null, "table missing from the set");
  return rows;
}

/** Table-sink compile for kind "subscriber". */
export function compileSubscriberSet(set: TableSet): SubscriberTable {
  return compileSubscriberRows(subscriberRowsOf(set));
}
