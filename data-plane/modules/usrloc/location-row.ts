import { ALL_METHODS, Q_UNSPECIFIED, type Binding, type BindingInfo } from "./binding.js";

/**
 * A binding as one row of Kamailio's `location` table (usrloc v9 column names). MySQL stores
 * `expires` and `last_modified` as DATETIME; here they are Unix seconds (0 = permanent), and
 * the MySQL store converts. The Redis store keeps rows as JSON with these same names, so
 * `redis-cli HGETALL` reads like `SELECT * FROM location`.
 */
export interface LocationRow {
  ruid: string;
  username: string;
  domain: string | null;
  contact: string;
  received: string | null;
  path: string | null;
  expires: number;
  q: number;
  callid: string;
  cseq: number;
  last_modified: number;
  flags: number;
  cflags: number;
  user_agent: string;
  socket: string | null;
  methods: number;
  instance: string | null;
  reg_id: number;
  server_id: number;
  connection_id: number;
  keepalive: number;
  partition: number;
}

/** The columns written for a binding, in the order the MySQL store uses. */
export const LOCATION_COLUMNS = [
  "ruid",
  "username",
  "domain",
  "contact",
  "received",
  "path",
  "expires",
  "q",
  "callid",
  "cseq",
  "last_modified",
  "flags",
  "cflags",
  "user_agent",
  "socket",
  "methods",
  "instance",
  "reg_id",
  "server_id",
  "connection_id",
  "keepalive",
  "partition",
] as const;

/** Splits an AoR into the username/domain columns (domain only with use_domain). */
export function splitAor(aor: string, useDomain: boolean): { username: string; domain: string | null } {
  if (!useDomain) return { username: aor, domain: null };
  const at = aor.indexOf("@");
  return at < 0 ? { username: aor, domain: null } : { username: aor.slice(0, at), domain: aor.slice(at + 1) };
}

/** The AoR key of a row: `username` or `username@domain` (with use_domain). */
export function aorOfRow(row: Pick<LocationRow, "username" | "domain">, useDomain: boolean): string {
  return useDomain && row.domain ? `${row.username}@${row.domain}` : row.username;
}

/** Binding → row. Unspecified q is written as -1 (Kamailio writes -0.001, which FLOAT(10,2) loses). */
export function rowOf(b: Binding, useDomain: boolean): LocationRow {
  const { username, domain } = splitAor(b.aor, useDomain);
  return {
    ruid: b.ruid,
    username,
    domain,
    contact: b.contact,
    received: b.received,
    path: b.path,
    expires: b.expires,
    q: b.q < 0 ? -1 : b.q / 1000,
    callid: b.callid,
    cseq: b.cseq,
    last_modified: b.lastModified,
    flags: b.flags,
    cflags: b.cflags,
    user_agent: b.userAgent,
    socket: b.socket,
    // the column is a signed INT: ALL_METHODS (0xffffffff) is stored as -1, as Kamailio does
    methods: b.methods | 0,
    instance: b.instance,
    reg_id: b.regId,
    server_id: b.serverId,
    connection_id: b.connectionId,
    keepalive: b.keepalive,
    partition: 0,
  };
}

const str = (v: unknown): string | null => (v === null || v === undefined || v === "" ? null : String(v));
const int = (v: unknown, dflt: number): number => {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? Math.trunc(n) : dflt;
};

/**
 * Row (from MySQL, Redis or a dump) → binding info. Returns null for rows that cannot be a
 * binding (no contact or ruid), which the loaders skip and count.
 */
export function infoOfRow(row: Record<string, unknown>): BindingInfo | null {
  const contact = str(row.contact);
  const ruid = str(row.ruid);
  if (!contact || !ruid) return null;
  const qf = typeof row.q === "number" ? row.q : Number(row.q);
  const methods = row.methods === null || row.methods === undefined ? ALL_METHODS : int(row.methods, -1) >>> 0;
  return {
    ruid,
    contact,
    received: str(row.received),
    path: str(row.path),
    expires: int(row.expires, 0),
    q: Number.isFinite(qf) && qf >= 0 ? Math.min(1000, Math.round(qf * 1000)) : Q_UNSPECIFIED,
    callid: str(row.callid) ?? "",
    cseq: int(row.cseq, 0),
    lastModified: int(row.last_modified, 0),
    flags: int(row.flags, 0),
    cflags: int(row.cflags, 0),
    userAgent: str(row.user_agent) ?? "",
    socket: str(row.socket),
    methods,
    instance: str(row.instance),
    regId: int(row.reg_id, 0),
    serverId: int(row.server_id, 0),
    connectionId: int(row.connection_id, -1),
    keepalive: int(row.keepalive, 0),
  };
}
