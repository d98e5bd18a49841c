import { TableError, type TableRow, type TableSet } from "../rows.js";

/**
 * Pure compile of Kamailio's `subscriber` table (auth_db, table version 7: id, username, domain,
 * password, ha1, ha1b) into lookup maps. Either a plaintext `password` (HA1 computed per request
 * and algorithm — Kamailio's calculate_ha1) or a precomputed `ha1` is needed. `ha1b` is the hash
 * for UAs that send "user@domain" as username.
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

/** Compiled subscribers: by user+domain (use_domain=1) and by user alone (use_domain=0, first row wins). */
export class SubscriberTable {
  constructor(
    readonly rows: readonly Subscriber[],
    private readonly byUserDomain: ReadonlyMap<string, Subscriber>,
    private readonly byUser: ReadonlyMap<string, Subscriber>,
  ) {}

  static empty(): SubscriberTable {
    return new SubscriberTable([], new Map(), new Map());
  }

  /** The subscriber for `username` (exact) in `domain` (case-insensitive), or any domain when null. */
  find(username: string, domain: string | null): Subscriber | null {
    if (domain === null) return this.byUser.get(username) ?? null;
    return this.byUserDomain.get(`${username}\u0000${domain.toLowerCase()}`) ?? null;
  }
}

const HEX_RE = /^[0-9a-fA-F]+$/;

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

/** Validates and compiles subscriber rows; throws TableError naming the first bad row. */
export function compileSubscriberRows(rows: readonly TableRow[], table = "subscriber"): SubscriberTable {
  const list: Subscriber[] = [];
  const byUserDomain = new Map<string, Subscriber>();
  const byUser = new Map<string, Subscriber>();
  rows.forEach((row, i) => {
    if (typeof row !== "object" || row === null) throw new TableError(table, i + 1, "row is not an object");
    const rawId = row.id;
    const id = typeof rawId === "number" || (typeof rawId === "string" && rawId !== "") ? rawId : i + 1;
    const username = text(table, id, row, "username");
    if (username === "") throw new TableError(table, id, "username is empty");
    if (/[\s:]/.test(username)) throw new TableError(table, id, `username '${username}' contains whitespace or ':'`);
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
    const key = `${username}\u0000${domain}`;
    if (byUserDomain.has(key)) throw new TableError(table, id, `duplicate subscriber ${username}@${domain}`);
    byUserDomain.set(key, s);
    if (!byUser.has(username)) byUser.set(username, s);
    list.push(s);
  });
  return new SubscriberTable(list, byUserDomain, byUser);
}

/** Table-sink compile for kind "subscriber". */
export function compileSubscriberSet(set: TableSet): SubscriberTable {
  const rows = set.subscriber;
  if (!Array.isArray(rows)) throw new TableError("subscriber", null, "table missing from the set");
  return compileSubscriberRows(rows);
}
