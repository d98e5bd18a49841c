/**
 * Module parameters (the `dispatcher` section of the configuration), with Kamailio's names minus
 * the `ds_` prefix (the prefixed names are accepted as aliases so a kamailio.cfg translates
 * line by line). Validated once at init; a bad value stops the start with a message naming it.
 */

export interface ReplyCodes {
  /** Reply classes accepted besides 2xx (class=4 → 4xx). */
  readonly classes: readonly number[];
  /** Exact codes accepted besides 2xx. */
  readonly codes: readonly number[];
}

export interface DispatcherParams {
  /** dispatcher.list path (resolved by host.resolvePath), or null when tables come from the control plane. */
  readonly listFile: string | null;
  /** Seconds between keepalive rounds; 0 disables probing. */
  readonly pingInterval: number;
  readonly pingMethod: string;
  readonly pingFrom: string;
  /** Final-response timeout for keepalives in ms; 0 = the core's default. */
  readonly pingTimeout: number;
  /** Socket for keepalives when the destination has none (ds_ping_socket / ds_default_socket). */
  readonly pingSocket: string;
  /** Outbound proxy for keepalives when the destination has no obproxy attr. */
  readonly outboundProxy: string;
  readonly probingMode: 0 | 1 | 2 | 3;
  readonly probingThreshold: number;
  readonly inactiveThreshold: number;
  readonly pingReplyCodes: ReplyCodes;
  readonly pingLatencyStats: boolean;
  /** EWMA alpha as a fraction (the parameter is an integer per mille, Kamailio default 900 = 0.9). */
  readonly latencyEstimatorAlpha: number;
  /** Bit 1: hash only the user part of URIs; bit 2: failover list. */
  readonly flags: number;
  readonly useDefault: boolean;
  /** Overwrite an already set $du (ds_select_dst); false → selection fails when $du is set. */
  readonly forceDst: boolean;
  /** Send socket forced for selected destinations without socket/sockname attrs ("" = none). */
  readonly defaultSocket: string;
  readonly reloadState: "keep" | "reset";
  /** Alg 10: seconds a tracked call may live (ds_hash_expire). */
  readonly hashExpire: number;
  /** Alg 10: seconds an unconfirmed (no 2xx) call may live (ds_hash_initexpire). */
  readonly hashInitExpire: number;
  /** Alg 10: seconds between sweeps of expired calls (ds_hash_check_interval). */
  readonly hashCheckInterval: number;
}

/** Bit 1 of `flags`: URI hashes use the user part only. */
export const FLAG_HASH_USER_ONLY = 1;
/** Bit 2 of `flags`: keep the failover list (on by default in Olelo). */
export const FLAG_FAILOVER = 2;

export const DEFAULT_PARAMS: DispatcherParams = Object.freeze({
  listFile: null,
  pingInterval: 10,
  pingMethod: "OPTIONS",
  pingFrom: "sip:dispatcher@localhost",
  pingTimeout: 0,
  pingSocket: "",
  outboundProxy: "",
  probingMode: 0,
  probingThreshold: 1,
  inactiveThreshold: 1,
  pingReplyCodes: Object.freeze({ classes: Object.freeze([]), codes: Object.freeze([]) }),
  pingLatencyStats: false,
  latencyEstimatorAlpha: 0.9,
  flags: FLAG_FAILOVER,
  useDefault: false,
  forceDst: true,
  defaultSocket: "",
  reloadState: "keep",
  hashExpire: 7200,
  hashInitExpire: 7200,
  hashCheckInterval: 30,
}) as DispatcherParams;

/** Parameter name → [our key, kind]. */
const KNOWN: Record<string, [keyof DispatcherParams, "string" | "int" | "bool" | "special"]> = {
  list_file: ["listFile", "string"],
  ping_interval: ["pingInterval", "int"],
  ping_method: ["pingMethod", "string"],
  ping_from: ["pingFrom", "string"],
  ping_fr_timer: ["pingTimeout", "int"],
  ping_timeout: ["pingTimeout", "int"],
  ping_socket: ["pingSocket", "string"],
  outbound_proxy: ["outboundProxy", "string"],
  probing_mode: ["probingMode", "int"],
  probing_threshold: ["probingThreshold", "int"],
  inactive_threshold: ["inactiveThreshold", "int"],
  ping_reply_codes: ["pingReplyCodes", "special"],
  ping_latency_stats: ["pingLatencyStats", "bool"],
  latency_estimator_alpha: ["latencyEstimatorAlpha", "special"],
  flags: ["flags", "int"],
  use_default: ["useDefault", "bool"],
  force_dst: ["forceDst", "bool"],
  default_socket: ["defaultSocket", "string"],
  reload_state: ["reloadState", "special"],
  hash_expire: ["hashExpire", "int"],
  hash_initexpire: ["hashInitExpire", "int"],
  hash_check_interval: ["hashCheckInterval", "int"],
};

/** Error thrown for a bad module parameter; the message names it. */
export class DispatcherParamError extends Error {
  override readonly name = "DispatcherParamError";
  constructor(
    readonly param: string,
    reason: string,
  ) {
    super(`dispatcher: parameter '${param}': ${reason}`);
  }
}

/**
 * Parses `ds_ping_reply_codes` syntax: `class=2;code=403;code=488` (Kamailio). Throws an Error
 * naming the bad entry.
 *
 * @example parseReplyCodes("class=4;code=503") // { classes: [4], codes: [503] }
 */
export function parseReplyCodes(text: string): ReplyCodes {
  const classes: number[] = [];
  const codes: number[] = [];
  for (const part of text.split(";")) {
    const p = part.trim();
    if (p === "") continue;
    const m = /^(class|code)\s*=\s*(\d+)$/i.exec(p);
    if (!m) throw new Error(`bad entry '${p}' (expected class=N or code=NNN)`);
    const n = Number(m[2]);
    if (m[1]!.toLowerCase() === "class") {
      if (n < 1 || n > 6) throw new Error(`class ${n} out of range 1..6`);
      classes.push(n);
    } else {
      if (n < 100 || n > 699) throw new Error(`code ${n} out of range 100..699`);
      codes.push(n);
    }
  }
  return { classes, codes };
}

/** True when a keepalive reply code counts as "up": any 2xx, or a configured class/code. */
export function isAcceptedReply(code: number, rc: ReplyCodes): boolean {
  if (code >= 200 && code <= 299) return true;
  if (rc.codes.includes(code)) return true;
  return rc.classes.includes(Math.floor(code / 100));
}

function asInt(name: string, v: unknown): number {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "string" && /^\s*[-+]?\d+\s*$/.test(v)) return Number(v.trim());
  throw new DispatcherParamError(name, `expected an integer, got ${JSON.stringify(v)}`);
}

function asBool(name: string, v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (v === 1 || v === "1" || v === "yes" || v === "true" || v === "on") return true;
  if (v === 0 || v === "0" || v === "no" || v === "false" || v === "off") return false;
  throw new DispatcherParamError(name, `expected a boolean (true/false/1/0), got ${JSON.stringify(v)}`);
}

/**
 * Validates the configuration section and fills defaults. Unknown keys are errors (a typo in a
 * parameter name should not silently leave a default in place).
 */
export function parseParams(config: Readonly<Record<string, unknown>>): DispatcherParams {
  const out: Record<string, unknown> = { ...DEFAULT_PARAMS };
  for (const [rawName, v] of Object.entries(config)) {
    if (v === undefined) continue;
    const name = rawName.startsWith("ds_") ? rawName.slice(3) : rawName;
    const k = KNOWN[name];
    if (!k) {
      throw new DispatcherParamError(rawName, `unknown parameter (known: ${Object.keys(KNOWN).join(", ")})`);
    }
    const [key, kind] = k;
    switch (kind) {
      case "string":
        if (typeof v !== "string") throw new DispatcherParamError(rawName, `expected a string, got ${JSON.stringify(v)}`);
        out[key] = v;
        break;
      case "int":
        out[key] = asInt(rawName, v);
        break;
      case "bool":
        out[key] = asBool(rawName, v);
        break;
      case "special":
        if (name === "ping_reply_codes") {
          if (typeof v !== "string") throw new DispatcherParamError(rawName, "expected a string like 'class=2;code=403'");
          try {
            out[key] = parseReplyCodes(v);
          } catch (e) {
            throw new DispatcherParamError(rawName, (e as Error).message);
          }
        } else if (name === "latency_estimator_alpha") {
          const n = asInt(rawName, v);
          if (n <= 0 || n >= 1000) throw new DispatcherParamError(rawName, `must be between 1 and 999 (per mille), got ${n}`);
          out[key] = n / 1000;
        } else if (name === "reload_state") {
          if (v !== "keep" && v !== "reset") throw new DispatcherParamError(rawName, `must be "keep" or "reset", got ${JSON.stringify(v)}`);
          out[key] = v;
        }
        break;
    }
  }
  const p = out as unknown as DispatcherParams;
  if (p.listFile !== null && p.listFile.trim() === "") throw new DispatcherParamError("list_file", "is empty");
  if (p.pingInterval < 0) throw new DispatcherParamError("ping_interval", "must be >= 0 (0 disables probing)");
  if (!/^[A-Z][A-Z0-9_-]*$/i.test(p.pingMethod)) throw new DispatcherParamError("ping_method", `'${p.pingMethod}' is not a SIP method`);
  if (!/^sips?:/i.test(p.pingFrom)) throw new DispatcherParamError("ping_from", `'${p.pingFrom}' is not a SIP URI`);
  if (p.pingTimeout < 0) throw new DispatcherParamError("ping_timeout", "must be >= 0");
  if (p.outboundProxy !== "" && !/^sips?:/i.test(p.outboundProxy)) throw new DispatcherParamError("outbound_proxy", "is not a SIP URI");
  if (![0, 1, 2, 3].includes(p.probingMode)) throw new DispatcherParamError("probing_mode", `must be 0, 1, 2 or 3, got ${p.probingMode}`);
  if (p.probingThreshold < 1) throw new DispatcherParamError("probing_threshold", "must be >= 1");
  if (p.inactiveThreshold < 1) throw new DispatcherParamError("inactive_threshold", "must be >= 1");
  if (p.flags < 0 || p.flags > 3) throw new DispatcherParamError("flags", `must be 0..3 (1 hash user only, 2 failover), got ${p.flags}`);
  if (p.hashExpire < 1) throw new DispatcherParamError("hash_expire", "must be >= 1");
  if (p.hashInitExpire < 1) throw new DispatcherParamError("hash_initexpire", "must be >= 1");
  if (p.hashCheckInterval < 1) throw new DispatcherParamError("hash_check_interval", "must be >= 1");
  return Object.freeze(p);
}
