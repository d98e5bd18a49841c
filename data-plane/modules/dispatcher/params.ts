import { z } from "zod";
import { bool, custom, defineParams, int, issue, str, type Param, type ParamsOf } from "../../core/kit/params.js";

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

const MAXI = Number.MAX_SAFE_INTEGER;
const dsInt = (doc: string, dflt?: number) =>
  int({ min: -MAXI, max: MAXI, default: dflt, coerce: "plus", doc, fail: (raw) => `expected an integer, got ${JSON.stringify(raw)}` });
const dsBool = (dflt: boolean, doc: string) =>
  bool({ default: dflt, words: "onoff", doc, fail: (raw) => `expected a boolean (true/false/1/0), got ${JSON.stringify(raw)}` });
const dsStr = (dflt: string | undefined, doc: string) => str({ default: dflt, doc, fail: (raw) => `expected a string, got ${JSON.stringify(raw)}` });
/** ping_timeout and its Kamailio name ping_fr_timer: absent → undefined (the other one or the default applies). */
const optInt = (doc: string): Param<number | undefined> => {
  const p = dsInt(doc);
  return custom<number | undefined>({
    type: p.type,
    doc,
    schema: z.unknown().transform((v, ctx) => {
      if (v === undefined) return undefined;
      const r = p.schema.safeParse(v);
      return r.success ? r.data : issue(ctx, p.fail(v, undefined));
    }),
    fail: (raw) => p.fail(raw, undefined),
  });
};

const shape = {
  list_file: optStrParam(),
  ping_interval: dsInt("Seconds between keepalive rounds; 0 disables probing", 10),
  ping_method: dsStr("OPTIONS", "Method of keepalives"),
  ping_from: dsStr("sip:dispatcher@localhost", "From URI of keepalives"),
  ping_fr_timer: optInt("Kamailio's name of ping_timeout"),
  ping_timeout: optInt("Final-response timeout for keepalives in ms; 0 = the core's default"),
  ping_socket: dsStr("", "Socket for keepalives when the destination has none (ds_ping_socket / ds_default_socket)"),
  outbound_proxy: dsStr("", "Outbound proxy for keepalives when the destination has no obproxy attr"),
  probing_mode: dsInt("0 probe inactive destinations, 1 all, 2 only when in probing state, 3 none but track replies", 0),
  probing_threshold: dsInt("Failed probes after which a destination becomes inactive", 1),
  inactive_threshold: dsInt("Successful probes after which a destination becomes active again", 1),
  ping_reply_codes: custom<ReplyCodes>({
    type: "class=N;code=NNN",
    default: "",
    doc: "Reply classes/codes accepted besides 2xx",
    schema: z.unknown().transform((v, ctx) => {
      if (v === undefined) return DEFAULT_PARAMS.pingReplyCodes;
      if (typeof v !== "string") return issue(ctx, "expected a string like 'class=2;code=403'");
      try {
        return parseReplyCodes(v);
      } catch (e) {
        return issue(ctx, (e as Error).message);
      }
    }),
    fail: () => "expected a string like 'class=2;code=403'",
  }),
  ping_latency_stats: dsBool(false, "Keep latency statistics of keepalives"),
  latency_estimator_alpha: custom<number>({
    type: "integer 1..999 (per mille)",
    default: 900,
    doc: "EWMA alpha per mille (Kamailio default 900 = 0.9)",
    schema: z.unknown().transform((v, ctx) => {
      if (v === undefined) return DEFAULT_PARAMS.latencyEstimatorAlpha;
      const r = dsInt("").schema.safeParse(v);
      if (!r.success) return issue(ctx, `expected an integer, got ${JSON.stringify(v)}`);
      if (r.data <= 0 || r.data >= 1000) return issue(ctx, `must be between 1 and 999 (per mille), got ${r.data}`);
      return r.data / 1000;
    }),
    fail: (raw) => `expected an integer, got ${JSON.stringify(raw)}`,
  }),
  flags: dsInt("Bit 1: hash only the user part of URIs; bit 2: failover list", FLAG_FAILOVER),
  use_default: dsBool(false, "Use the last destination of a set only when all others failed"),
  force_dst: dsBool(true, "Overwrite an already set $du (ds_select_dst); false → selection fails when $du is set"),
  default_socket: dsStr("", "Send socket forced for selected destinations without socket/sockname attrs (\"\" = none)"),
  reload_state: custom<"keep" | "reset">({
    type: '"keep" | "reset"',
    default: "keep",
    doc: "Whether a reload keeps the destinations' probing state",
    schema: z.unknown().transform((v) => v ?? "keep").pipe(z.enum(["keep", "reset"])),
    fail: (raw) => `must be "keep" or "reset", got ${JSON.stringify(raw)}`,
  }),
  hash_expire: dsInt("Alg 10: seconds a tracked call may live (ds_hash_expire)", 7200),
  hash_initexpire: dsInt("Alg 10: seconds an unconfirmed (no 2xx) call may live (ds_hash_initexpire)", 7200),
  hash_check_interval: dsInt("Alg 10: seconds between sweeps of expired calls (ds_hash_check_interval)", 30),
};

function optStrParam(): Param<string | null> {
  return custom<string | null>({
    type: "path",
    doc: "dispatcher.list path (resolved by host.resolvePath); unset when tables come from the control plane",
    schema: z.unknown().transform((v, ctx) => {
      if (v === undefined) return null;
      if (typeof v !== "string") return issue(ctx, `expected a string, got ${JSON.stringify(v)}`);
      return v;
    }),
    fail: (raw) => `expected a string, got ${JSON.stringify(raw)}`,
  });
}

function finish(r: ParamsOf<typeof shape>, cfg: Readonly<Record<string, unknown>>): DispatcherParams {
  // ping_timeout and ping_fr_timer are one setting: the one given last wins
  let pingTimeout = DEFAULT_PARAMS.pingTimeout;
  for (const k of Object.keys(cfg)) {
    const n = k.startsWith("ds_") ? k.slice(3) : k;
    if (n === "ping_timeout" && r.ping_timeout !== undefined) pingTimeout = r.ping_timeout;
    if (n === "ping_fr_timer" && r.ping_fr_timer !== undefined) pingTimeout = r.ping_fr_timer;
  }
  const p: DispatcherParams = {
    listFile: r.list_file,
    pingInterval: r.ping_interval,
    pingMethod: r.ping_method,
    pingFrom: r.ping_from,
    pingTimeout,
    pingSocket: r.ping_socket,
    outboundProxy: r.outbound_proxy,
    probingMode: r.probing_mode as DispatcherParams["probingMode"],
    probingThreshold: r.probing_threshold,
    inactiveThreshold: r.inactive_threshold,
    pingReplyCodes: r.ping_reply_codes,
    pingLatencyStats: r.ping_latency_stats,
    latencyEstimatorAlpha: r.latency_estimator_alpha,
    flags: r.flags,
    useDefault: r.use_default,
    forceDst: r.force_dst,
    defaultSocket: r.default_socket,
    reloadState: r.reload_state,
    hashExpire: r.hash_expire,
    hashInitExpire: r.hash_initexpire,
    hashCheckInterval: r.hash_check_interval,
  };
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

/** The dispatcher's parameters (Kamailio names; `ds_`-prefixed names are aliases). */
export const dispatcherParams = defineParams("dispatcher", shape, {
  alias: (name) => (name.startsWith("ds_") ? name.slice(3) : name),
  error: (name, text) => new DispatcherParamError(name, text),
  unknown: (name, known) => new DispatcherParamError(name, `unknown parameter (known: ${known.join(", ")})`),
  finish,
});

/**
 * Validates the configuration section and fills defaults. Unknown keys are errors (a typo in a
 * parameter name should not silently leave a default in place).
 */
export const parseParams = (config: Readonly<Record<string, unknown>>): DispatcherParams => dispatcherParams.parse(config);
