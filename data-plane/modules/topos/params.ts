import { defineParams, flag01, int, optStr, str, type ParamsOf } from "../../core/kit/params.js";

/**
 * The topos module's configuration section: Kamailio's topos modparams (storage, db_url,
 * mask_callid, branch_expire, dialog_expire, clean_interval, contact_host) plus the Redis
 * address and key prefix of topos_redis.
 */
export const toposParams = defineParams(
  "topos",
  {
    storage: str({
      default: "memory",
      doc: "Where stripped dialog state is kept: `memory` (one node), `redis` (Kamailio topos_redis) or `db` (MySQL tables topos_d/topos_t)",
      check: (s) => (s === "memory" || s === "redis" || s === "db" ? null : "must be memory, redis or db"),
    }),
    db_url: optStr({ doc: "MySQL URL (mysql://user:pass@host/db) for storage `db`" }),
    redis_url: optStr({ doc: "Redis URL (redis://host:port/db) for storage `redis`" }),
    redis_prefix: str({ default: "olelo:topos:", doc: "Prefix of the Redis keys (`<prefix>d:<uuid>` dialogs, `<prefix>t:<branch>` branches)" }),
    mask_callid: flag01({ default: false, doc: "Replace the Call-ID toward the callee side with one derived from the dialog id" }),
    branch_expire: int({ min: 1, max: 86_400, default: 180, coerce: "digits", doc: "Seconds a branch (transaction) record is kept" }),
    dialog_expire: int({ min: 1, max: 30 * 86_400, default: 10_800, coerce: "digits", doc: "Seconds a dialog record is kept without an in-dialog request" }),
    clean_interval: int({ min: 1, max: 3600, default: 60, coerce: "digits", doc: "Seconds between sweeps of expired records" }),
    contact_host: optStr({ doc: "Host (and port) put in the Contact Olelo sends (default: the sending socket's address); set it to the fleet's shared address" }),
    load_timeout_ms: int({ min: 10, max: 10_000, default: 1000, coerce: "digits", doc: "Bound on a store read for an in-dialog request (ms); on timeout the request goes on unrestored" }),
  },
  {
    finish: (p) => {
      if (p.storage === "db" && !p.db_url) throw new Error("topos: parameter 'db_url' is required with storage db");
      if (p.storage === "redis" && !p.redis_url) throw new Error("topos: parameter 'redis_url' is required with storage redis");
      return p;
    },
  },
);

export type ToposParams = ParamsOf<typeof toposParams.shape>;
