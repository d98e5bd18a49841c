/**
 * The dialog module's configuration section, with Kamailio's parameter names
 * (kamailio-reference.md §9.1). Validated once at init; a bad value stops the start with a
 * message naming the parameter.
 *
 * @example
 *   dialog: { default_timeout: 7200, send_bye: 1, profiles_with_value: "trunk;caller" }
 */
export interface DialogParams {
  /** Lifetime of a confirmed dialog in seconds (Kamailio default 43200 = 12 h). */
  readonly default_timeout: number;
  /** Send BYE to both sides when a dialog times out (Kamailio send_bye). */
  readonly send_bye: boolean;
  /** 0: match in-dialog requests by the rr param only; 1: rr param, then Call-ID + tags; 2: Call-ID + tags only. */
  readonly dlg_match_mode: 0 | 1 | 2;
  /** Name of the Record-Route parameter carrying the dialog id (Kamailio rr_param, default "did"). */
  readonly rr_param: string;
  /** Profiles whose members carry a value (e.g. the trunk or caller they count against). */
  readonly profiles_with_value: readonly string[];
  /** Profiles without values (plain sets of dialogs). */
  readonly profiles_no_value: readonly string[];
  /** Number of hash entries (h_entry range), a power of two (Kamailio hash_size, default 4096). */
  readonly hash_size: number;
  /** Do not restart the timeout on in-dialog requests (Kamailio timeout_noreset). */
  readonly timeout_noreset: boolean;
  /** Extra header lines for the BYEs the module sends, "Name: value" separated by CRLF (dlg_extra_hdrs). */
  readonly dlg_extra_hdrs: Readonly<Record<string, string>>;
}

export const DEFAULT_DIALOG_PARAMS: DialogParams = Object.freeze({
  default_timeout: 43200,
  send_bye: false,
  dlg_match_mode: 1,
  rr_param: "did",
  profiles_with_value: Object.freeze([]) as readonly string[],
  profiles_no_value: Object.freeze([]) as readonly string[],
  hash_size: 4096,
  timeout_noreset: false,
  dlg_extra_hdrs: Object.freeze({}),
}) as DialogParams;

/** The longest timer Node can arm (2^31-1 ms), in whole seconds. */
export const MAX_TIMEOUT_S = Math.floor(0x7fffffff / 1000);

const KNOWN = new Set([
  "default_timeout",
  "send_bye",
  "dlg_match_mode",
  "rr_param",
  "profiles_with_value",
  "profiles_no_value",
  "hash_size",
  "timeout_noreset",
  "dlg_extra_hdrs",
]);

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

/** Validates the configuration section; throws naming the bad parameter. */
export function parseDialogParams(cfg: Readonly<Record<string, unknown>>): DialogParams {
  for (const k of Object.keys(cfg)) if (!KNOWN.has(k)) throw new Error(`dialog: unknown parameter '${k}'`);
  const withValue = profileList(cfg.profiles_with_value, "profiles_with_value");
  const noValue = profileList(cfg.profiles_no_value, "profiles_no_value");
  for (const p of withValue) {
    if (noValue.includes(p)) throw new Error(`dialog: profile '${p}' is declared both with and without value`);
  }
  const hashSize = int(cfg.hash_size, "hash_size", DEFAULT_DIALOG_PARAMS.hash_size, 1, 1 << 16);
  if ((hashSize & (hashSize - 1)) !== 0) throw new Error(`dialog: parameter hash_size must be a power of two, got ${hashSize}`);
  const rrParam = cfg.rr_param === undefined ? DEFAULT_DIALOG_PARAMS.rr_param : cfg.rr_param;
  if (typeof rrParam !== "string" || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(rrParam)) {
    throw new Error(`dialog: parameter rr_param must be a token (letters, digits, _ -), got ${JSON.stringify(rrParam)}`);
  }
  return {
    default_timeout: int(cfg.default_timeout, "default_timeout", DEFAULT_DIALOG_PARAMS.default_timeout, 1, MAX_TIMEOUT_S),
    send_bye: bool(cfg.send_bye, "send_bye", false),
    dlg_match_mode: int(cfg.dlg_match_mode, "dlg_match_mode", 1, 0, 2) as 0 | 1 | 2,
    rr_param: rrParam,
    profiles_with_value: Object.freeze(withValue),
    profiles_no_value: Object.freeze(noValue),
    hash_size: hashSize,
    timeout_noreset: bool(cfg.timeout_noreset, "timeout_noreset", false),
    dlg_extra_hdrs: Object.freeze(parseExtraHeaders(cfg.dlg_extra_hdrs)),
  };
}

function int(v: unknown, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`dialog: parameter ${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function bool(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === true || v === 1 || v === "1" || v === "yes" || v === "true") return true;
  if (v === false || v === 0 || v === "0" || v === "no" || v === "false") return false;
  throw new Error(`dialog: parameter ${name} must be 0/1 or a boolean, got ${JSON.stringify(v)}`);
}

/** "caller;trunk" (Kamailio's form) or ["caller", "trunk"]. */
function profileList(v: unknown, name: string): string[] {
  if (v === undefined || v === null || v === "") return [];
  const items = typeof v === "string" ? v.split(";") : Array.isArray(v) ? v : null;
  if (!items) throw new Error(`dialog: parameter ${name} must be "a;b" or an array of names`);
  const out: string[] = [];
  for (const raw of items) {
    if (typeof raw !== "string") throw new Error(`dialog: parameter ${name}: profile names must be strings`);
    const p = raw.trim();
    if (p === "") continue;
    if (!NAME_RE.test(p)) throw new Error(`dialog: parameter ${name}: bad profile name '${p}'`);
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** "X-A: 1\r\nX-B: 2" (Kamailio's form) or { "X-A": "1" }. */
function parseExtraHeaders(v: unknown): Record<string, string> {
  if (v === undefined || v === null || v === "") return {};
  const out: Record<string, string> = {};
  const put = (n: string, val: string) => {
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(n)) throw new Error(`dialog: parameter dlg_extra_hdrs: bad header name '${n}'`);
    if (/[\r\n]/.test(val)) throw new Error(`dialog: parameter dlg_extra_hdrs: header '${n}' value contains a line break`);
    out[n] = val;
  };
  if (typeof v === "string") {
    for (const line of v.split(/\r?\n/)) {
      if (line.trim() === "") continue;
      const c = line.indexOf(":");
      if (c <= 0) throw new Error(`dialog: parameter dlg_extra_hdrs: '${line}' is not "Name: value"`);
      put(line.slice(0, c).trim(), line.slice(c + 1).trim());
    }
    return out;
  }
  if (typeof v === "object" && !Array.isArray(v)) {
    for (const [n, val] of Object.entries(v as Record<string, unknown>)) {
      if (typeof val !== "string") throw new Error(`dialog: parameter dlg_extra_hdrs: header '${n}' must be a string`);
      put(n, val);
    }
    return out;
  }
  throw new Error(`dialog: parameter dlg_extra_hdrs must be a string of header lines or an object`);
}
