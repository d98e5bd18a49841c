import { defineParams, int, optStr, type ParamsOf } from "../../core/kit/params.js";

/** The msilo module's section: Kamailio msilo's db_url, expire_time, clean_period, max_messages, plus a byte limit. */
export const msiloParams = defineParams("msilo", {
  db_url: optStr({ doc: "mysql:// URL of Kamailio's `silo` table; absent = in memory only (lost at restart, not shared)" }),
  expire_time: int({ min: 1, max: 86_400 * 365, default: 259_200, coerce: "digits", doc: "Seconds a stored message is kept (Kamailio default: 3 days)" }),
  clean_period: int({ min: 1, max: 86_400, default: 60, coerce: "digits", doc: "Seconds between removals of expired messages" }),
  max_messages: int({ min: 0, max: 100_000, default: 50, coerce: "digits", doc: "Stored messages per user; m_store refuses more (0 = no limit)" }),
  max_bytes: int({ min: 0, max: 100_000_000, default: 65_536, coerce: "digits", doc: "Stored body bytes per user; m_store refuses more (0 = no limit)" }),
  send_timeout: int({ min: 100, max: 64_000, default: 8000, coerce: "digits", doc: "Final-reply timeout of a delivered MESSAGE in ms" }),
});

export type MsiloParams = ParamsOf<typeof msiloParams.shape>;
