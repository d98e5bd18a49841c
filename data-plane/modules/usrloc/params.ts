import { z } from "zod";
import { custom, defineParams, flag01, int, issue, str, type ParamsOf } from "../../core/kit/params.js";

const i = (min: number, max: number, dflt: number, doc: string) => int({ min, max, default: dflt, coerce: "signed-bool", doc });
const f = (dflt: boolean, doc: string) => flag01({ default: dflt, coerce: "signed-bool", doc });

const shape = {
  db_mode: i(0, 3, 0, "0 memory only, 1 write-through (MySQL or Redis), 2 write-back every timer_interval (MySQL); 3 is refused"),
  db_url: custom<string | null>({
    type: "string",
    doc: "mysql://user:pw@host/db or redis://host:port (db_mode 1/2)",
    schema: z.unknown().transform((v, ctx) => {
      if (v === undefined || v === null || v === "") return null;
      if (typeof v !== "string") return issue(ctx, "must be a string");
      return v;
    }),
    fail: () => "must be a string",
  }),
  timer_interval: i(1, 86400, 60, "Write-back period in seconds (db_mode 2). Kamailio default 60"),
  use_domain: f(false, "AoR = user@domain instead of user"),
  case_sensitive: f(false, "AoRs compare case-sensitively (ul.* RPCs; the registrar has its own case_sensitive)"),
  nat_bflag: i(-1, 31, -1, "Branch flag (0..31) marking NATed contacts, -1 = none (Kamailio nat_bflag)"),
  matching_mode: i(0, 3, 0, "Kamailio matching_mode: 0 contact, 1 contact + Call-ID, 2 contact + path, 3 Call-ID only"),
  cseq_delay: i(0, 3600, 20, "Seconds during which a REGISTER with the same Call-ID and CSeq counts as a retransmission"),
  server_id: i(0, 0x7fffffff, 0, "[server_id] written with each binding"),
  db_load: f(true, "Load the tables from storage at start (Kamailio db_load)"),
  tables: custom<readonly string[]>({
    type: "table names",
    default: ["location"],
    doc: "Tables created (and loaded) at start; others are created on first use",
    schema: z.unknown().transform((v) => v ?? ["location"]).pipe(z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/))),
    fail: () => "must be an array of table names",
  }),
  redis_prefix: str({
    default: "olelo:usrloc:",
    doc: "Redis key prefix (keys `<prefix><table>:aor:<aor>`, channel `<prefix>changes`)",
    fail: () => "must be a non-empty string",
    check: (s) => (s === "" ? "must be a non-empty string" : null),
  }),
};

function finish(p: ParamsOf<typeof shape>) {
  const mode = p.db_mode;
  if (mode === 3) {
    throw new Error("usrloc: db_mode 3 (database only) is not supported; use db_mode 1 with a redis:// db_url to share bindings between nodes");
  }
  const dbUrl = p.db_url;
  let backend: "mysql" | "redis" | null = null;
  if (mode > 0) {
    if (!dbUrl) throw new Error(`usrloc: db_mode ${mode} needs db_url (mysql://... or redis://...)`);
    if (/^mysql:\/\//i.test(dbUrl)) backend = "mysql";
    else if (/^rediss?:\/\//i.test(dbUrl)) backend = "redis";
    else throw new Error(`usrloc: db_url must start with mysql:// or redis://, got '${dbUrl}'`);
    if (backend === "redis" && mode === 2) throw new Error("usrloc: db_mode 2 (write-back) is for MySQL; the Redis store is write-through (db_mode 1)");
  }
  return {
    ...p,
    db_mode: mode as 0 | 1 | 2,
    /** "mysql" or "redis" (from the db_url scheme), or null in db_mode 0. */
    backend,
    matching_mode: p.matching_mode as 0 | 1 | 2 | 3,
  };
}

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
export const usrlocParams = defineParams("usrloc", shape, { quote: false, finish });

export type UsrlocParams = ReturnType<typeof finish>;

/** Validates the configuration section; throws naming the bad parameter. */
export const parseUsrlocParams = (cfg: Readonly<Record<string, unknown>>): UsrlocParams => usrlocParams.parse(cfg);
