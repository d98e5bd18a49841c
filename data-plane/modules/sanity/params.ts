import { DEFAULT_SIZE_LIMITS, SANITY_MAX_CHECKS, SANITY_URI_MAX_CHECKS, type SizeLimits } from "./checks.js";

/**
 * The sanity module's configuration section: Kamailio sanity modparams (default_checks, uri_checks,
 * proxy_require, autodrop, noreply, size_*) plus the default kamailio.cfg REQINIT guard settings
 * (scanner User-Agent pattern, MSG_MAX_SIZE, RURI_MAX_SIZE).
 */
export interface SanityParams {
  /** msg_checks used when check() gets none (default 17895, the default cfg's REQINIT value; Kamailio's module default is 3047). */
  readonly default_checks: number;
  readonly uri_checks: number;
  /** msg_checks / uri_checks for checkReply (default cfg reply_route: 17604 / 6). */
  readonly reply_checks: number;
  readonly reply_uri_checks: number;
  /** Accepted Proxy-Require option tags (lower-cased). */
  readonly proxy_require: ReadonlySet<string>;
  /** 1: the module replies to failed requests (Kamailio autodrop). */
  readonly autodrop: boolean;
  /** 1: never reply, only report (Kamailio noreply; the script may call sanity.reply later). */
  readonly noreply: boolean;
  readonly sizes: SizeLimits;
  /** Requests whose User-Agent matches are dropped silently (default cfg scanner list). */
  readonly scanner_ua: RegExp | null;
  /** 403 "Message too large" above this many bytes (default cfg MSG_MAX_SIZE). */
  readonly msg_max_size: number;
  /** 403 "R-URI too large" above this many characters (default cfg RURI_MAX_SIZE). */
  readonly ruri_max_size: number;
}

/** The default kamailio.cfg scanner User-Agent pattern (REQINIT). */
export const DEFAULT_SCANNER_UA = "friendly|scanner|sipcli|sipvicious|VaxSIPUserAgent|pplsip";

const SIZE_KEYS: Record<string, keyof SizeLimits> = {
  size_message: "message",
  size_method: "method",
  size_ruri: "ruri",
  size_from_uri: "fromUri",
  size_to_uri: "toUri",
  size_contact_uri: "contactUri",
  size_route_uri: "routeUri",
  size_path_uri: "pathUri",
  size_pai_uri: "paiUri",
  size_header: "header",
  size_headers: "headers",
  size_body: "body",
};

const KNOWN = new Set([
  "default_checks",
  "uri_checks",
  "reply_checks",
  "reply_uri_checks",
  "proxy_require",
  "autodrop",
  "noreply",
  "scanner_ua",
  "msg_max_size",
  "ruri_max_size",
  ...Object.keys(SIZE_KEYS),
]);

/** Validates the section; throws an Error naming the parameter. */
export function parseSanityParams(cfg: Readonly<Record<string, unknown>>): SanityParams {
  for (const k of Object.keys(cfg)) if (!KNOWN.has(k)) throw new Error(`sanity: unknown parameter '${k}'`);
  const int = (k: string, def: number, min: number, max: number): number => {
    const v = cfg[k] ?? def;
    const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
      throw new Error(`sanity: parameter '${k}' must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    }
    return n;
  };
  const sizes: Record<string, number> = { ...DEFAULT_SIZE_LIMITS };
  for (const [k, field] of Object.entries(SIZE_KEYS)) sizes[field] = int(k, DEFAULT_SIZE_LIMITS[field], 0, 1 << 24);
  const pr = cfg.proxy_require ?? "";
  const list = typeof pr === "string" ? pr.split(",") : Array.isArray(pr) ? pr : null;
  if (!list || list.some((t) => typeof t !== "string")) throw new Error("sanity: parameter 'proxy_require' must be a comma list or an array of strings");
  let scanner: RegExp | null = null;
  const su = cfg.scanner_ua === undefined ? DEFAULT_SCANNER_UA : cfg.scanner_ua;
  if (su !== null && su !== "") {
    if (typeof su !== "string") throw new Error("sanity: parameter 'scanner_ua' must be a regular expression string or null");
    try {
      scanner = new RegExp(su);
    } catch (e) {
      throw new Error(`sanity: parameter 'scanner_ua' is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  const bool = (k: string, def: boolean) => int(k, def ? 1 : 0, 0, 1) === 1;
  return {
    default_checks: int("default_checks", 17895, 1, SANITY_MAX_CHECKS - 1),
    uri_checks: int("uri_checks", 7, 1, SANITY_URI_MAX_CHECKS - 1),
    reply_checks: int("reply_checks", 17604, 1, SANITY_MAX_CHECKS - 1),
    reply_uri_checks: int("reply_uri_checks", 6, 1, SANITY_URI_MAX_CHECKS - 1),
    proxy_require: new Set((list as string[]).map((t) => t.trim().toLowerCase()).filter((t) => t !== "")),
    autodrop: bool("autodrop", true),
    noreply: bool("noreply", false),
    sizes: sizes as unknown as SizeLimits,
    scanner_ua: scanner,
    msg_max_size: int("msg_max_size", 16384, 0, 1 << 24),
    ruri_max_size: int("ruri_max_size", 512, 0, 1 << 24),
  };
}
