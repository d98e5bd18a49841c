import { bool, defineParams, int, optStr, str, type ParamsOf } from "../../core/kit/params.js";

/**
 * The pike module's configuration section: Kamailio's modparams (sampling_time_unit,
 * reqs_density_per_unit, remove_latency) plus Olelo's ipban guard settings.
 */
export const pikeParams = defineParams("pike", {
  sampling_time_unit: int({ min: 1, max: 3600, default: 2, coerce: "digits", doc: "Seconds per sampling interval" }),
  reqs_density_per_unit: int({ min: 1, max: 1_000_000, default: 30, coerce: "digits", doc: "Requests per interval above which a source floods" }),
  remove_latency: int({ min: 1, max: 86_400, default: 120, coerce: "digits", doc: "Seconds an idle source is kept" }),
  ban_time: int({ min: 1, max: 30 * 86_400, default: 300, coerce: "digits", doc: "Ban time of the default FloodGuard in seconds (Kamailio default cfg: ipban autoexpire=300)" }),
  max_entries: int({ min: 1, max: 50_000_000, default: 250_000, coerce: "digits", doc: "Bound on tracked sources (memory under spoofed floods)" }),
  ipv6_prefix: int({ min: 16, max: 128, default: 128, coerce: "digits", doc: "IPv6 sources are grouped by this prefix length (128 = per address)" }),
  redis_url: optStr({
    doc: "Olelo: redis:// URL shared by the fleet; the guard's bans (pike and auth failures) and unbans then reach every node within a second",
    check: (v) => (/^rediss?:\/\//.test(v) ? null : "must be a redis:// URL"),
  }),
  redis_prefix: str({ default: "olelo:pike:", doc: "Olelo: key prefix of the shared bans (`<prefix>ban:<ip>`) and their channel (`<prefix>bans`)" }),
  ipban: bool({
    default: false,
    doc: "Drop banned sources before parsing: `guard.isBanned` becomes the core's receive filter (per UDP datagram / stream message, and on TCP/TLS accept)",
  }),
});

export type PikeParams = ParamsOf<typeof pikeParams.shape>;

/** Validates the section; throws an Error naming the parameter. */
export const parsePikeParams = (cfg: Readonly<Record<string, unknown>>): PikeParams => pikeParams.parse(cfg);
