/**
 * The registrar module's configuration section, with Kamailio's parameter names and defaults
 * (registrar/config.c, registrar.c) — one deliberate difference: `min_expires_mode` defaults to 1,
 * so a too-short expiry is answered `423 Interval Too Brief` with `Min-Expires` as RFC 3261
 * §10.3 step 7 says (Kamailio's default 0 silently raises it to min_expires).
 *
 * @example
 *   registrar: { default_expires: 3600, min_expires: 60, max_expires: 7200, max_contacts: 5, use_path: 1 }
 */
export interface RegistrarParams {
  readonly default_expires: number;
  /** Percent by which default expires are randomly shortened (0 = off). */
  readonly default_expires_range: number;
  /** Percent by which requested expires are randomly shortened (0 = off). */
  readonly expires_range: number;
  /** 0 disables the check. */
  readonly min_expires: number;
  /** 1: answer 423 below min_expires; 0: raise to min_expires. */
  readonly min_expires_mode: 0 | 1;
  /** 0 = no maximum. */
  readonly max_expires: number;
  /** 0 = unlimited contacts per AoR. */
  readonly max_contacts: number;
  /** Retry-After seconds added to 5xx replies (0 = none). */
  readonly retry_after: number;
  readonly case_sensitive: boolean;
  /** q for contacts without one, in thousandths; -1 = unspecified (Kamailio Q_UNSPECIFIED). */
  readonly default_q: number;
  /** lookup: append every other contact as a branch (parallel forking). */
  readonly append_branches: boolean;
  /** Prefix stripped from the domain when building the AoR (with use_domain). */
  readonly realm_prefix: string;
  /** Name of the contact parameter carrying the received address in 200 replies. */
  readonly received_param: string;
  /** Request variable (req.vars key) where nathelper's fixNatedRegister leaves the source address. */
  readonly received_avp: string;
  /** lookup skips contacts whose Allow/methods do not include the request method. */
  readonly method_filtering: boolean;
  /** Store Path headers with bindings and route through them (RFC 3327). */
  readonly use_path: boolean;
  /** 0 store, never echo; 1 store, echo when the UA supports path; 2 require `Supported: path` (420 otherwise). */
  readonly path_mode: 0 | 1 | 2;
  /** Use the `received` parameter of the first Path URI as the NAT address. */
  readonly path_use_received: boolean;
  /** 0 none, 1 supported, 2 required (RFC 5626 outbound). */
  readonly outbound_mode: 0 | 1 | 2;
  /** Flow-Timer header value in replies with outbound (0 = none). */
  readonly flow_timer: number;
  readonly contact_max_size: number;
}

/** Kamailio's registrar defaults, with min_expires_mode 1 (RFC 3261 423). */
export const DEFAULT_REGISTRAR_PARAMS: RegistrarParams = Object.freeze({
  default_expires: 3600,
  default_expires_range: 0,
  expires_range: 0,
  min_expires: 60,
  min_expires_mode: 1,
  max_expires: 0,
  max_contacts: 0,
  retry_after: 0,
  case_sensitive: false,
  default_q: -1,
  append_branches: true,
  realm_prefix: "",
  received_param: "received",
  received_avp: "$avp(RECEIVED)",
  method_filtering: false,
  use_path: false,
  path_mode: 2,
  path_use_received: false,
  outbound_mode: 0,
  flow_timer: 0,
  contact_max_size: 512,
});

const INTS: Record<string, [number, number]> = {
  default_expires: [0, 0x7fffffff],
  default_expires_range: [0, 100],
  expires_range: [0, 100],
  min_expires: [0, 0x7fffffff],
  min_expires_mode: [0, 1],
  max_expires: [0, 0x7fffffff],
  max_contacts: [0, 0x7fffffff],
  retry_after: [0, 0x7fffffff],
  case_sensitive: [0, 1],
  default_q: [-1, 1000],
  append_branches: [0, 1],
  method_filtering: [0, 1],
  use_path: [0, 1],
  path_mode: [0, 2],
  path_use_received: [0, 1],
  outbound_mode: [0, 2],
  flow_timer: [0, 999],
  contact_max_size: [1, 65535],
};
const STRINGS = new Set(["realm_prefix", "received_param", "received_avp"]);

/** Validates the configuration section; throws naming the bad parameter. */
export function parseRegistrarParams(cfg: Readonly<Record<string, unknown>>): RegistrarParams {
  const out: Record<string, unknown> = { ...DEFAULT_REGISTRAR_PARAMS };
  for (const [k, v] of Object.entries(cfg)) {
    const range = INTS[k];
    if (range) {
      const n = typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
      if (typeof n !== "number" || !Number.isInteger(n) || n < range[0] || n > range[1]) {
        throw new Error(`registrar: parameter ${k} must be an integer in ${range[0]}..${range[1]}, got ${JSON.stringify(v)}`);
      }
      const bool = ["case_sensitive", "append_branches", "method_filtering", "use_path", "path_use_received"].includes(k);
      out[k] = bool ? n === 1 : n;
    } else if (STRINGS.has(k)) {
      if (typeof v !== "string") throw new Error(`registrar: parameter ${k} must be a string`);
      out[k] = v;
    } else {
      throw new Error(`registrar: unknown parameter '${k}'`);
    }
  }
  const p = out as unknown as RegistrarParams;
  if (p.max_expires > 0 && p.min_expires > p.max_expires) throw new Error("registrar: min_expires is larger than max_expires");
  return p;
}
