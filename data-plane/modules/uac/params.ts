import { z } from "zod";
import { custom, defineParams, flag01, int, issue, str, type ParamsOf } from "../../core/kit/params.js";

const RESTORE_MODES = ["none", "manual", "auto"] as const;
const TOKEN = /^[A-Za-z0-9_-]{1,16}$/;

/** One static credential of the `credential` parameter: `username:realm:password`. */
export interface StaticCredential {
  readonly username: string;
  readonly realm: string;
  readonly password: string;
}

const credentials = z.unknown().transform((v, ctx): StaticCredential[] => {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  const out: StaticCredential[] = [];
  for (const item of list) {
    if (typeof item !== "string") return issue(ctx, "must be a string or a list of strings 'username:realm:password'");
    const a = item.indexOf(":");
    const b = a < 0 ? -1 : item.indexOf(":", a + 1);
    if (a <= 0 || b < 0 || b === item.length - 1) return issue(ctx, `'${item}' is not 'username:realm:password'`);
    out.push({ username: item.slice(0, a), realm: item.slice(a + 1, b), password: item.slice(b + 1) });
  }
  return out;
});

/**
 * The uac module's configuration section: Kamailio's modparams (restore_mode, rr_from_store_param,
 * rr_to_store_param, restore_passwd, credential, reg_timer_interval, reg_retry_interval,
 * reg_random_delay, reg_contact_addr, reg_keep_callid, reg_active, default_socket) plus Olelo's
 * retry back-off cap and fr timer for its own REGISTERs.
 */
export const uacParams = defineParams("uac", {
  restore_mode: str({
    default: "auto",
    doc: "From/To restore: `auto` (replies and in-dialog requests restored from the Record-Route parameter), `manual` (uac_restore_from/to in the script), `none`",
    check: (s) => ((RESTORE_MODES as readonly string[]).includes(s) ? null : `must be one of ${RESTORE_MODES.join(", ")}`),
  }),
  rr_from_store_param: str({ default: "vsf", doc: "Record-Route parameter carrying the replaced From", check: (s) => (TOKEN.test(s) ? null : "must be a token of 1..16 characters") }),
  rr_to_store_param: str({ default: "vst", doc: "Record-Route parameter carrying the replaced To", check: (s) => (TOKEN.test(s) ? null : "must be a token of 1..16 characters") }),
  restore_passwd: str({ default: "", doc: "Key the stored From/To are masked with (XOR); the same on every node of a fleet" }),
  credential: custom({
    schema: credentials,
    type: "string or string[]",
    default: "[]",
    doc: "Static credentials `username:realm:password` for uac_auth (Kamailio's `credential`), tried after the uacreg table",
    fail: (_raw, i) => i ?? "must be 'username:realm:password'",
  }),
  reg_timer_interval: int({ min: 1, max: 3600, default: 90, coerce: "digits", doc: "Seconds before expiry at which a registration is refreshed (at most half the granted lifetime)" }),
  reg_retry_interval: int({ min: 0, max: 86_400, default: 60, coerce: "digits", doc: "First retry after a failed registration in seconds, doubled per consecutive failure up to reg_retry_max (0 = no retry, as Kamailio)" }),
  reg_retry_max: int({ min: 1, max: 86_400, default: 3600, coerce: "digits", doc: "Upper bound of the retry back-off in seconds (Olelo)" }),
  reg_random_delay: int({ min: 0, max: 86_400, default: 0, coerce: "digits", doc: "Random first delay in 0..N seconds for rows with reg_delay 0" }),
  reg_contact_addr: str({ default: "", doc: "host[:port] put in the registered Contact when the row has no contact_addr (default: the sending socket)" }),
  reg_keep_callid: flag01({ default: false, doc: "Keep the Call-ID across re-registrations (RFC 3261 §10.2.4); a new one after a failure" }),
  reg_active: flag01({ default: true, doc: "Send registrations at all (uac.reg_active changes it at runtime)" }),
  default_socket: str({ default: "", doc: "Socket `proto:ip:port` for REGISTERs of rows without one" }),
  reg_timeout_ms: int({ min: 500, max: 120_000, default: 8000, coerce: "digits", doc: "Final-reply timeout of one REGISTER in ms (Olelo)" }),
});

export type UacParams = ParamsOf<typeof uacParams.shape>;
