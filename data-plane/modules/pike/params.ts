/**
 * The pike module's configuration section: Kamailio's modparams (sampling_time_unit,
 * reqs_density_per_unit, remove_latency) plus Olelo's ipban guard settings.
 */
export interface PikeParams {
  readonly sampling_time_unit: number;
  readonly reqs_density_per_unit: number;
  readonly remove_latency: number;
  /** Ban time of the default FloodGuard in seconds (Kamailio default cfg: ipban autoexpire=300). */
  readonly ban_time: number;
  /** Bound on tracked sources (memory under spoofed floods). */
  readonly max_entries: number;
  /** IPv6 sources are grouped by this prefix length (128 = per address). */
  readonly ipv6_prefix: number;
  /**
   * Drop banned sources before parsing: the module registers `guard.isBanned` as the core's
   * receive filter (per UDP datagram / stream message, and on TCP/TLS accept). Off by default.
   */
  readonly ipban: boolean;
}

type NumericParam = Exclude<keyof PikeParams, "ipban">;

const DEFAULTS: PikeParams = {
  sampling_time_unit: 2,
  reqs_density_per_unit: 30,
  remove_latency: 120,
  ban_time: 300,
  max_entries: 250_000,
  ipv6_prefix: 128,
  ipban: false,
};

const RANGES: Record<NumericParam, [number, number]> = {
  sampling_time_unit: [1, 3600],
  reqs_density_per_unit: [1, 1_000_000],
  remove_latency: [1, 86_400],
  ban_time: [1, 30 * 86_400],
  max_entries: [1, 50_000_000],
  ipv6_prefix: [16, 128],
};

/** Validates the section; throws an Error naming the parameter. */
export function parsePikeParams(cfg: Readonly<Record<string, unknown>>): PikeParams {
  const out: Record<string, number | boolean> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(cfg)) {
    if (k === "ipban") {
      if (v === true || v === 1 || v === "1" || v === "yes") out.ipban = true;
      else if (v === false || v === 0 || v === "0" || v === "no") out.ipban = false;
      else throw new Error(`pike: parameter 'ipban' must be 0/1 or a boolean, got ${JSON.stringify(v)}`);
      continue;
    }
    if (!(k in RANGES)) throw new Error(`pike: unknown parameter '${k}'`);
    const [min, max] = RANGES[k as NumericParam];
    const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
      throw new Error(`pike: parameter '${k}' must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    }
    out[k] = n;
  }
  return out as unknown as PikeParams;
}
