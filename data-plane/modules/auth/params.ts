import { algorithmInfo, type AlgorithmInfo } from "../../core/kit/index.js";

/**
 * The auth module's configuration section (Kamailio auth + auth_db modparams with the same names).
 */
export interface AuthParams {
  /** Nonce HMAC secret; null = random per start (a cluster must set one shared value). */
  readonly secret: string | null;
  readonly nonce_expire: number;
  readonly nonce_auth_max_drift: number;
  /** Track nc per nonce and reject replays (Kamailio nonce_count; on by default in Olelo). */
  readonly nonce_count: boolean;
  /** Every nonce is good for one request only. */
  readonly one_time_nonce: boolean;
  /** Bound of the replay tracker. */
  readonly max_tracked_nonces: number;
  /** Algorithms offered in challenges, in order of preference (one header each). */
  readonly algorithms: readonly AlgorithmInfo[];
  readonly calculate_ha1: boolean;
  readonly use_domain: boolean;
}

const KNOWN = new Set([
  "secret",
  "nonce_expire",
  "nonce_auth_max_drift",
  "nonce_count",
  "one_time_nonce",
  "max_tracked_nonces",
  "algorithms",
  "calculate_ha1",
  "use_domain",
]);

/** Validates the section; throws an Error naming the parameter. */
export function parseAuthParams(cfg: Readonly<Record<string, unknown>>): AuthParams {
  for (const k of Object.keys(cfg)) if (!KNOWN.has(k)) throw new Error(`auth: unknown parameter '${k}'`);
  const int = (k: string, def: number, min: number, max: number): number => {
    const v = cfg[k] ?? def;
    const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
      throw new Error(`auth: parameter '${k}' must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    }
    return n;
  };
  const bool = (k: string, def: boolean): boolean => {
    const v = cfg[k] ?? def;
    if (v === true || v === 1 || v === "1" || v === "yes") return true;
    if (v === false || v === 0 || v === "0" || v === "no") return false;
    throw new Error(`auth: parameter '${k}' must be 0/1 or a boolean, got ${JSON.stringify(v)}`);
  };
  const secret = cfg.secret;
  if (secret !== undefined && (typeof secret !== "string" || secret.length < 16)) {
    throw new Error("auth: parameter 'secret' must be a string of at least 16 characters");
  }
  const rawAlgs = cfg.algorithms ?? ["MD5"];
  const list = typeof rawAlgs === "string" ? rawAlgs.split(",").map((s) => s.trim()) : rawAlgs;
  if (!Array.isArray(list) || list.length === 0) throw new Error("auth: parameter 'algorithms' must be a non-empty list");
  const algorithms = list.map((a) => {
    const info = typeof a === "string" ? algorithmInfo(a) : null;
    if (!info || info.sess) throw new Error(`auth: unsupported algorithm ${JSON.stringify(a)} (MD5, SHA-256, SHA-512-256)`);
    return info;
  });
  return {
    secret: (secret as string | undefined) ?? null,
    nonce_expire: int("nonce_expire", 300, 1, 86_400),
    nonce_auth_max_drift: int("nonce_auth_max_drift", 3, 0, 3600),
    nonce_count: bool("nonce_count", true),
    one_time_nonce: bool("one_time_nonce", false),
    max_tracked_nonces: int("max_tracked_nonces", 100_000, 100, 10_000_000),
    algorithms,
    calculate_ha1: bool("calculate_ha1", true),
    use_domain: bool("use_domain", false),
  };
}
