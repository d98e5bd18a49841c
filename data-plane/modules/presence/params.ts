import { bool, defineParams, int, optStr, str, type ParamsOf } from "../../core/kit/params.js";

/**
 * The presence module's configuration section: Kamailio presence's modparams (db_url,
 * default_expires, max_expires, min_expires, clean_period → timer_period, server_address,
 * publ_cache, subs_db_mode) reduced to what Olelo uses, plus the fleet (redis_url) and the
 * watcher policy Olelo applies instead of XCAP authorisation rules.
 */
export const presenceParams = defineParams("presence", {
  db_url: optStr({ doc: "mysql:// URL of the presentity / active_watchers / watchers tables; absent = in memory only" }),
  redis_url: optStr({ doc: "redis:// URL: change notifications between the nodes of a fleet (pub/sub); needs db_url" }),
  redis_prefix: str({ default: "olelo:", doc: "Prefix of the Redis channel (`<prefix>presence`)" }),
  default_expires: int({ min: 1, max: 86_400 * 7, default: 3600, coerce: "digits", doc: "Expires of a PUBLISH / SUBSCRIBE without one, seconds" }),
  max_expires: int({ min: 1, max: 86_400 * 7, default: 3600, coerce: "digits", doc: "Longest accepted Expires (larger values are lowered)" }),
  min_expires: int({ min: 0, max: 86_400, default: 0, coerce: "digits", doc: "Shortest accepted non-zero Expires; below it 423 Interval Too Brief (0 = no check)" }),
  timer_period: int({ min: 1, max: 3600, default: 5, coerce: "digits", doc: "Seconds between expiry sweeps of publications and subscriptions (Kamailio clean_period)" }),
  server_address: optStr({ doc: "Contact URI of the presence server in replies and NOTIFYs; default: the socket the SUBSCRIBE arrived on" }),
  watcher_policy: str({
    default: "same_domain",
    doc: "Who may watch a presentity: `same_domain` (watcher's domain = presentity's), `allow_list` (same domain or listed), `all`",
    check: (s) => (["same_domain", "allow_list", "all"].includes(s) ? null : "must be same_domain, allow_list or all"),
  }),
  allow_list: str({ default: "", doc: "Comma-separated watcher AoRs (`user@domain`) or domains (`@domain`) also allowed by `allow_list`" }),
  notify_timeout: int({ min: 100, max: 64_000, default: 8000, coerce: "digits", doc: "Final-reply timeout of a NOTIFY in ms; a 408 / 481 ends the subscription" }),
  notify_window: int({ min: 1, max: 100_000, default: 500, coerce: "digits", doc: "NOTIFYs in flight at once; a burst beyond it is queued in order" }),
  reg_table: str({ default: "location", doc: "usrloc table whose bindings the `reg` event package (RFC 3680) reports; `reg` needs the usrloc module" }),
  dialoginfo: bool({ default: true, doc: "Publish dialog-info (BLF) for calls the script marks with dialoginfoSet (Kamailio pua_dialoginfo)" }),
});

export type PresenceParams = ParamsOf<typeof presenceParams.shape>;

/** Validates the section; throws an Error naming the parameter. */
export const parsePresenceParams = (cfg: Readonly<Record<string, unknown>>): PresenceParams => presenceParams.parse(cfg);
