import { defineParams, int, optStr, str, type ParamsOf } from "../../core/kit/params.js";

/** The pipelimit module's section: Kamailio's modparams plus the fleet (Redis) settings. */
export const pipelimitParams = defineParams("pipelimit", {
  timer_interval: int({ min: 1, max: 3600, default: 10, coerce: "digits", doc: "Seconds per interval; limits of TAILDROP/RED pipes count messages per interval (Kamailio default 10)" }),
  reply_code: int({ min: 300, max: 699, default: 503, coerce: "digits", doc: "Code of the reply pl_drop sends" }),
  reply_reason: str({ default: "Server Unavailable", doc: "Reason phrase of the reply pl_drop sends" }),
  clean_unused: int({ min: 0, max: 1_000_000, default: 0, coerce: "digits", doc: "Remove pipes unused for this many intervals (0 = never; table pipes are kept)" }),
  keyed_idle: int({ min: 1, max: 1_000_000, default: 6, coerce: "digits", doc: "Olelo: keyed pipes made from a template expire after this many idle intervals when clean_unused is 0" }),
  max_pipes: int({ min: 1, max: 10_000_000, default: 100_000, coerce: "digits", doc: "Olelo: bound on pipes created on demand (pl_check returns -2 beyond it)" }),
  load_fetch: int({ min: 0, max: 1, default: 1, coerce: "digits", doc: "1 = read CPU load (/proc/stat) and bytes waiting (/proc/net) every interval" }),
  network_ports: str({ default: "", doc: "Olelo: comma-separated local ports whose receive queues NETWORK counts (empty = every socket)" }),
  redis_url: optStr({
    doc: "Olelo: redis:// URL shared by the fleet; TAILDROP and RED pipes are then counted fleet-wide",
    check: (v) => (/^rediss?:\/\//.test(v) ? null : "must be a redis:// URL"),
  }),
  redis_prefix: str({ default: "olelo:pl:", doc: "Olelo: key prefix of the shared counters (`<prefix><pipe>:<slot>`) and the node set" }),
  flush_interval_ms: int({ min: 2, max: 1000, default: 20, coerce: "digits", doc: "Olelo: how often a node adds its counts to Redis and learns the others' (error bound, README)" }),
  redis_timeout_ms: int({ min: 10, max: 10_000, default: 500, coerce: "digits", doc: "Olelo: a Redis round trip slower than this counts Redis as down (fallback)" }),
  fleet_nodes: int({ min: 0, max: 10_000, default: 0, coerce: "digits", doc: "Olelo: node count for the fallback share limit / nodes while Redis is down (0 = as last seen in Redis)" }),
});

export type PipelimitParams = ParamsOf<typeof pipelimitParams.shape>;

/** Validates the section; throws an Error naming the parameter. */
export const parsePipelimitParams = (cfg: Readonly<Record<string, unknown>>): PipelimitParams => pipelimitParams.parse(cfg);
