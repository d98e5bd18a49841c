import { z } from "zod";
import { custom, defineParams, flag01, int, issue, type Param, type ParamsOf } from "../../core/kit/params.js";
import { DEFAULT_SIZE_LIMITS, SANITY_MAX_CHECKS, SANITY_URI_MAX_CHECKS, type SizeLimits } from "./checks.js";

/** The default kamailio.cfg scanner User-Agent pattern (REQINIT). */
export const DEFAULT_SCANNER_UA = "friendly|scanner|sipcli|sipvicious|VaxSIPUserAgent|pplsip";

const SIZE_KEYS = {
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
} as const satisfies Record<string, keyof SizeLimits>;

const size = (field: keyof SizeLimits): Param<number> =>
  int({ min: 0, max: 1 << 24, default: DEFAULT_SIZE_LIMITS[field], coerce: "digits", doc: `Size limit of ${field} (0 = none)` });
const sizeParams = Object.fromEntries(Object.entries(SIZE_KEYS).map(([k, f]) => [k, size(f)])) as { [K in keyof typeof SIZE_KEYS]: Param<number> };

/**
 * The sanity module's configuration section: Kamailio sanity modparams (default_checks, uri_checks,
 * proxy_require, autodrop, noreply, size_*) plus the default kamailio.cfg REQINIT guard settings
 * (scanner User-Agent pattern, MSG_MAX_SIZE, RURI_MAX_SIZE).
 */
const shape = {
    default_checks: int({ min: 1, max: SANITY_MAX_CHECKS - 1, default: 17895, coerce: "digits", doc: "msg_checks used when check() gets none (the default cfg's REQINIT value; Kamailio's module default is 3047)" }),
    uri_checks: int({ min: 1, max: SANITY_URI_MAX_CHECKS - 1, default: 7, coerce: "digits", doc: "uri_checks used when check() gets none" }),
    reply_checks: int({ min: 1, max: SANITY_MAX_CHECKS - 1, default: 17604, coerce: "digits", doc: "msg_checks for checkReply (default cfg reply_route)" }),
    reply_uri_checks: int({ min: 1, max: SANITY_URI_MAX_CHECKS - 1, default: 6, coerce: "digits", doc: "uri_checks for checkReply" }),
    proxy_require: custom<ReadonlySet<string>>({
      type: "comma list of option tags",
      default: "",
      doc: "Accepted Proxy-Require option tags (lower-cased)",
      schema: z.unknown().transform((raw, ctx) => {
        const pr = raw ?? "";
        const list = typeof pr === "string" ? pr.split(",") : Array.isArray(pr) ? pr : null;
        if (!list || list.some((t) => typeof t !== "string")) return issue(ctx, "must be a comma list or an array of strings");
        return new Set((list as string[]).map((t) => t.trim().toLowerCase()).filter((t) => t !== "")) as ReadonlySet<string>;
      }),
      fail: () => "must be a comma list or an array of strings",
    }),
    autodrop: flag01({ default: true, coerce: "digits", doc: "1: the module replies to failed requests (Kamailio autodrop)" }),
    noreply: flag01({ default: false, coerce: "digits", doc: "1: never reply, only report (Kamailio noreply; the script may call sanity.reply later)" }),
    scanner_ua: custom<RegExp | null>({
      type: "regular expression",
      default: DEFAULT_SCANNER_UA,
      doc: "Requests whose User-Agent matches are dropped silently (default cfg scanner list); null or \"\" = none",
      schema: z.unknown().transform((raw, ctx) => {
        const su = raw === undefined ? DEFAULT_SCANNER_UA : raw;
        if (su === null || su === "") return null;
        if (typeof su !== "string") return issue(ctx, "must be a regular expression string or null");
        try {
          return new RegExp(su);
        } catch (e) {
          return issue(ctx, { full: `sanity: parameter 'scanner_ua' is not a valid regular expression: ${(e as Error).message}` });
        }
      }),
      fail: () => "must be a regular expression string or null",
    }),
    msg_max_size: int({ min: 0, max: 1 << 24, default: 16384, coerce: "digits", doc: "403 \"Message too large\" above this many bytes (default cfg MSG_MAX_SIZE)" }),
    ruri_max_size: int({ min: 0, max: 1 << 24, default: 512, coerce: "digits", doc: "403 \"R-URI too large\" above this many characters (default cfg RURI_MAX_SIZE)" }),
    ...sizeParams,
};

type RawSanityParams = ParamsOf<typeof shape>;

function withSizes(p: RawSanityParams) {
  const sizes = { ...DEFAULT_SIZE_LIMITS } as { -readonly [K in keyof SizeLimits]: SizeLimits[K] };
  for (const [k, f] of Object.entries(SIZE_KEYS)) sizes[f] = p[k as keyof typeof SIZE_KEYS];
  const { default_checks, uri_checks, reply_checks, reply_uri_checks, proxy_require, autodrop, noreply, scanner_ua, msg_max_size, ruri_max_size } = p;
  return {
    default_checks,
    uri_checks,
    reply_checks,
    reply_uri_checks,
    proxy_require,
    autodrop,
    noreply,
    sizes: sizes as SizeLimits,
    scanner_ua,
    msg_max_size,
    ruri_max_size,
  };
}

export type SanityParams = ReturnType<typeof withSizes>;

export const sanityParams = defineParams("sanity", shape, { finish: withSizes });

/** Validates the section; throws an Error naming the parameter. */
export const parseSanityParams = (cfg: Readonly<Record<string, unknown>>): SanityParams => sanityParams.parse(cfg);
