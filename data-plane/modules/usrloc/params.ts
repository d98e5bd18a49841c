/**
 * The usrloc module's configuration section, with Kamailio's parameter names.
 *
 * Storage (`db_mode` with `db_url`):
 *   0  memory only (default; bindings are lost on restart)
 *   1  write-through: every change is written at once — to MySQL's `location` table
 *      (`mysql://user:pw@host/db`), or to the shared Redis store (`redis://host:port`)
 *   2  write-back: changes are written every `timer_interval` seconds (MySQL only)
 * Kamailio's db_mode 3 (database only) is not offered: for several nodes use the Redis store,
 * which keeps lookups in memory on every node.
 *
 * @example
 *   usrloc: { db_mode: 1, db_url: "redis://127.0.0.1:6379", redis_prefix: "olelo:usrloc:" }
 */
export interface UsrlocParams {
  readonly db_mode: 0 | 1 | 2;
  readonly db_url: string | null;
  /** "mysql" or "redis" (from the db_url scheme), or null in db_mode 0. */
  readonly backend: "mysql" | "redis" | null;
  /** Write-back period in seconds (db_mode 2). Kamailio default 60. */
  readonly timer_interval: number;
  /** AoR = user@domain instead of user. */
  readonly use_domain: boolean;
  /** AoRs compare case-sensitively (ul.* RPCs; the registrar has its own case_sensitive). */
  readonly case_sensitive: boolean;
  /** Branch flag (0..31) marking NATed contacts, -1 = none (Kamailio nat_bflag). */
  readonly nat_bflag: number;
  /** Kamailio matching_mode: 0 contact, 1 contact + Call-ID, 2 contact + path, 3 Call-ID only. */
  readonly matching_mode: 0 | 1 | 2 | 3;
  /** Seconds during which a REGISTER with the same Call-ID and CSeq counts as a retransmission. */
  readonly cseq_delay: number;
  /** [server_id] written with each binding. */
  readonly server_id: number;
  /** Load the tables from storage at start (Kamailio db_load). */
  readonly db_load: boolean;
  /** Tables created (and loaded) at start; others are created on first use. */
  readonly tables: readonly string[];
  /** Redis key prefix (keys `<prefix><table>:aor:<aor>`, channel `<prefix>changes`). */
  readonly redis_prefix: string;
}

const KNOWN = new Set([
  "db_mode",
  "db_url",
  "timer_interval",
  "use_domain",
  "case_sensitive",
  "nat_bflag",
  "matching_mode",
  "cseq_delay",
  "server_id",
  "db_load",
  "tables",
  "redis_prefix",
]);

function intParam(cfg: Record<string, unknown>, name: string, dflt: number, min: number, max: number): number {
  const v = cfg[name];
  if (v === undefined) return dflt;
  const n = typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`usrloc: parameter ${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Validates the configuration section; throws naming the bad parameter. */
export function parseUsrlocParams(cfg: Readonly<Record<string, unknown>>): UsrlocParams {
  for (const k of Object.keys(cfg)) if (!KNOWN.has(k)) throw new Error(`usrloc: unknown parameter '${k}'`);
  const c = cfg as Record<string, unknown>;
  const mode = intParam(c, "db_mode", 0, 0, 3);
  if (mode === 3) {
    throw new Error("usrloc: db_mode 3 (database only) is not supported; use db_mode 1 with a redis:// db_url to share bindings between nodes");
  }
  let dbUrl: string | null = null;
  if (c.db_url !== undefined && c.db_url !== null && c.db_url !== "") {
    if (typeof c.db_url !== "string") throw new Error("usrloc: parameter db_url must be a string");
    dbUrl = c.db_url;
  }
  let backend: "mysql" | "redis" | null = null;
  if (mode > 0) {
    if (!dbUrl) throw new Error(`usrloc: db_mode ${mode} needs db_url (mysql://... or redis://...)`);
    if (/^mysql:\/\//i.test(dbUrl)) backend = "mysql";
    else if (/^rediss?:\/\//i.test(dbUrl)) backend = "redis";
    else throw new Error(`usrloc: db_url must start with mysql:// or redis://, got '${dbUrl}'`);
    if (backend === "redis" && mode === 2) throw new Error("usrloc: db_mode 2 (write-back) is for MySQL; the Redis store is write-through (db_mode 1)");
  }
  const natBflag = intParam(c, "nat_bflag", -1, -1, 31);
  let tables: string[] = ["location"];
  if (c.tables !== undefined) {
    if (!Array.isArray(c.tables) || c.tables.some((t) => typeof t !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(t))) {
      throw new Error("usrloc: parameter tables must be an array of table names");
    }
    tables = c.tables as string[];
  }
  const prefix = c.redis_prefix === undefined ? "olelo:usrloc:" : c.redis_prefix;
  if (typeof prefix !== "string" || prefix === "") throw new Error("usrloc: parameter redis_prefix must be a non-empty string");
  return {
    db_mode: mode as 0 | 1 | 2,
    db_url: dbUrl,
    backend,
    timer_interval: intParam(c, "timer_interval", 60, 1, 86400),
    use_domain: intParam(c, "use_domain", 0, 0, 1) === 1,
    case_sensitive: intParam(c, "case_sensitive", 0, 0, 1) === 1,
    nat_bflag: natBflag,
    matching_mode: intParam(c, "matching_mode", 0, 0, 3) as 0 | 1 | 2 | 3,
    cseq_delay: intParam(c, "cseq_delay", 20, 0, 3600),
    server_id: intParam(c, "server_id", 0, 0, 0x7fffffff),
    db_load: intParam(c, "db_load", 1, 0, 1) === 1,
    tables,
    redis_prefix: prefix,
  };
}
