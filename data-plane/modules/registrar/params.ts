import { defineParams, flag01, int, str, type ParamsOf } from "../../core/kit/params.js";

const i = (min: number, max: number, dflt: number, doc: string) => int({ min, max, default: dflt, coerce: "signed-bool", doc });
const f = (dflt: boolean, doc: string) => flag01({ default: dflt, coerce: "signed-bool", doc });
const s = (dflt: string, doc: string) => str({ default: dflt, doc });
const MAX = 0x7fffffff;

const shape = {
  default_expires: i(0, MAX, 3600, "Expires for contacts that give none"),
  default_expires_range: i(0, 100, 0, "Percent by which default expires are randomly shortened (0 = off)"),
  expires_range: i(0, 100, 0, "Percent by which requested expires are randomly shortened (0 = off)"),
  min_expires: i(0, MAX, 60, "0 disables the check"),
  min_expires_mode: i(0, 1, 1, "1: answer 423 below min_expires; 0: raise to min_expires"),
  max_expires: i(0, MAX, 0, "0 = no maximum"),
  max_contacts: i(0, MAX, 0, "0 = unlimited contacts per AoR"),
  retry_after: i(0, MAX, 0, "Retry-After seconds added to 5xx replies (0 = none)"),
  case_sensitive: f(false, "AoRs compare case-sensitively"),
  default_q: i(-1, 1000, -1, "q for contacts without one, in thousandths; -1 = unspecified (Kamailio Q_UNSPECIFIED)"),
  append_branches: f(true, "lookup: append every other contact as a branch (parallel forking)"),
  realm_prefix: s("", "Prefix stripped from the domain when building the AoR (with use_domain)"),
  received_param: s("received", "Name of the contact parameter carrying the received address in 200 replies"),
  received_avp: s("$avp(RECEIVED)", "Request variable (req.vars key) where nathelper's fixNatedRegister leaves the source address"),
  method_filtering: f(false, "lookup skips contacts whose Allow/methods do not include the request method"),
  use_path: f(false, "Store Path headers with bindings and route through them (RFC 3327)"),
  path_mode: i(0, 2, 2, "0 store, never echo; 1 store, echo when the UA supports path; 2 require `Supported: path` (420 otherwise)"),
  path_use_received: f(false, "Use the `received` parameter of the first Path URI as the NAT address"),
  outbound_mode: i(0, 2, 0, "0 none, 1 supported, 2 required (RFC 5626 outbound)"),
  flow_timer: i(0, 999, 0, "Flow-Timer header value in replies with outbound (0 = none)"),
  contact_max_size: i(1, 65535, 512, "Longest Contact URI accepted"),
};

function finish(p: ParamsOf<typeof shape>) {
  if (p.max_expires > 0 && p.min_expires > p.max_expires) throw new Error("registrar: min_expires is larger than max_expires");
  return { ...p, min_expires_mode: p.min_expires_mode as 0 | 1, path_mode: p.path_mode as 0 | 1 | 2, outbound_mode: p.outbound_mode as 0 | 1 | 2 };
}

/**
 * The registrar module's configuration section, with Kamailio's parameter names and defaults
 * (registrar/config.c, registrar.c) — one deliberate difference: `min_expires_mode` defaults to 1,
 * so a too-short expiry is answered `423 Interval Too Brief` with `Min-Expires` as RFC 3261
 * §10.3 step 7 says (Kamailio's default 0 silently raises it to min_expires).
 *
 * @example
 *   registrar: { default_expires: 3600, min_expires: 60, max_expires: 7200, max_contacts: 5, use_path: 1 }
 */
export const registrarParams = defineParams("registrar", shape, { quote: false, finish });

export type RegistrarParams = ReturnType<typeof finish>;

/** Validates the configuration section; throws naming the bad parameter. */
export const parseRegistrarParams = (cfg: Readonly<Record<string, unknown>>): RegistrarParams => registrarParams.parse(cfg);

/** Kamailio's registrar defaults, with min_expires_mode 1 (RFC 3261 423). */
export const DEFAULT_REGISTRAR_PARAMS: RegistrarParams = Object.freeze(parseRegistrarParams({}));
