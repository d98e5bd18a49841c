import { z } from "zod";
import { bool, custom, defineParams, int, issue, type ParamsOf } from "../../core/kit/params.js";
import { algorithmInfo, type AlgorithmInfo } from "../../core/kit/index.js";

/**
 * The auth module's configuration section (Kamailio auth + auth_db modparams with the same names).
 */
export const authParams = defineParams(
  "auth",
  {
    secret: custom<string | null>({
      type: "string (16+ characters)",
      doc: "Nonce HMAC secret; unset = random per start (a cluster must set one shared value)",
      schema: z.unknown().transform((v, ctx) => {
        if (v === undefined) return null;
        if (typeof v !== "string" || v.length < 16) return issue(ctx, "must be a string of at least 16 characters");
        return v;
      }),
      fail: () => "must be a string of at least 16 characters",
    }),
    nonce_expire: int({ min: 1, max: 86_400, default: 300, coerce: "digits", doc: "Seconds a nonce is valid" }),
    nonce_auth_max_drift: int({ min: 0, max: 3600, default: 3, coerce: "digits", doc: "Seconds a nonce may come from the future" }),
    nonce_count: bool({ default: true, doc: "Track nc per nonce and reject replays (Kamailio nonce_count; on by default in Olelo)" }),
    one_time_nonce: bool({ default: false, doc: "Every nonce is good for one request only" }),
    max_tracked_nonces: int({ min: 100, max: 10_000_000, default: 100_000, coerce: "digits", doc: "Bound of the replay tracker" }),
    algorithms: custom<readonly AlgorithmInfo[]>({
      type: "list of MD5, SHA-256, SHA-512-256",
      default: ["MD5"],
      doc: "Algorithms offered in challenges, in order of preference (one header each)",
      schema: z.unknown().transform((raw, ctx) => {
        const v = raw ?? ["MD5"];
        const list = typeof v === "string" ? v.split(",").map((s) => s.trim()) : v;
        if (!Array.isArray(list) || list.length === 0) return issue(ctx, "must be a non-empty list");
        const out: AlgorithmInfo[] = [];
        for (const a of list) {
          const info = typeof a === "string" ? algorithmInfo(a) : null;
          if (!info || info.sess) return issue(ctx, { full: `auth: unsupported algorithm ${JSON.stringify(a)} (MD5, SHA-256, SHA-512-256)` });
          out.push(info);
        }
        return out;
      }),
      fail: () => "must be a non-empty list",
    }),
    calculate_ha1: bool({ default: true, doc: "Credentials hold plain passwords (HA1 computed); 0 = the password column holds HA1" }),
    use_domain: bool({ default: false, doc: "Match credentials by user and domain" }),
  },
  { nullIsAbsent: true },
);

export type AuthParams = ParamsOf<typeof authParams.shape>;

/** Validates the section; throws an Error naming the parameter. */
export const parseAuthParams = (cfg: Readonly<Record<string, unknown>>): AuthParams => authParams.parse(cfg);
