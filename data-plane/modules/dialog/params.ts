import { z } from "zod";
import { bool, custom, defineParams, int, issue, optStr, type ParamsOf } from "../../core/kit/params.js";

/** The longest timer Node can arm (2^31-1 ms), in whole seconds. */
export const MAX_TIMEOUT_S = Math.floor(0x7fffffff / 1000);

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

/** A parameter whose value is read by a function that throws the module's full error text. */
function parsed<T>(type: string, doc: string, read: (v: unknown) => T) {
  return custom<T>({
    type,
    doc,
    schema: z.unknown().transform((v, ctx) => {
      try {
        return read(v);
      } catch (e) {
        return issue(ctx, { full: (e as Error).message });
      }
    }),
    fail: () => "is not valid",
  });
}

const shape = {
  default_timeout: int({ min: 1, max: MAX_TIMEOUT_S, default: 43200, doc: "Lifetime of a confirmed dialog in seconds (Kamailio default 43200 = 12 h)" }),
  send_bye: bool({ default: false, words: "yesno-true", doc: "Send BYE to both sides when a dialog times out (Kamailio send_bye)" }),
  dlg_match_mode: int({ min: 0, max: 2, default: 1, doc: "0: match in-dialog requests by the rr param only; 1: rr param, then Call-ID + tags; 2: Call-ID + tags only" }),
  rr_param: custom<string>({
    type: "token",
    default: "did",
    doc: 'Name of the Record-Route parameter carrying the dialog id (Kamailio rr_param, default "did")',
    schema: z.unknown().transform((v) => v ?? "did").pipe(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/)),
    fail: (raw) => `must be a token (letters, digits, _ -), got ${JSON.stringify(raw)}`,
  }),
  profiles_with_value: parsed("profile names", "Profiles whose members carry a value (e.g. the trunk or caller they count against)", (v) =>
    Object.freeze(profileList(v, "profiles_with_value")),
  ),
  profiles_no_value: parsed("profile names", "Profiles without values (plain sets of dialogs)", (v) => Object.freeze(profileList(v, "profiles_no_value"))),
  hash_size: int({ min: 1, max: 1 << 16, default: 4096, doc: "Number of hash entries (h_entry range), a power of two (Kamailio hash_size, default 4096)" }),
  db_url: optStr({
    doc: "mysql:// URL of the database holding Kamailio's dialog / dialog_vars tables, or redis:// URL of a Redis shared by the fleet (db_mode 1)",
    check: (v) => (/^(mysql|rediss?):\/\//.test(v) ? null : "must be a mysql:// or redis:// URL"),
  }),
  redis_prefix: optStr({
    doc: 'Key prefix of the per-node dialog hashes with a redis:// db_url (default "olelo:dialog:")',
    check: (v) => (/^[\x21-\x7e]{1,64}$/.test(v) ? null : "must be 1..64 printable characters without spaces"),
  }),
  db_mode: int({ min: 0, max: 1, default: 0, doc: "0: dialogs in memory only; 1: confirmed dialogs written to the database as they change and loaded again at start (Kamailio db_mode 1)" }),
  timeout_noreset: bool({ default: false, words: "yesno-true", doc: "Do not restart the timeout on in-dialog requests (Kamailio timeout_noreset)" }),
  dlg_extra_hdrs: parsed("header lines", 'Extra header lines for the BYEs the module sends, "Name: value" separated by CRLF (dlg_extra_hdrs)', (v) =>
    Object.freeze(parseExtraHeaders(v)),
  ),
};

function finish(p: ParamsOf<typeof shape>) {
  for (const x of p.profiles_with_value) {
    if (p.profiles_no_value.includes(x)) throw new Error(`dialog: profile '${x}' is declared both with and without value`);
  }
  if (p.db_mode === 1 && !p.db_url) throw new Error("dialog: parameter db_mode 1 needs a db_url");
  if ((p.hash_size & (p.hash_size - 1)) !== 0) throw new Error(`dialog: parameter hash_size must be a power of two, got ${p.hash_size}`);
  return { ...p, dlg_match_mode: p.dlg_match_mode as 0 | 1 | 2 };
}

/**
 * The dialog module's configuration section, with Kamailio's parameter names
 * (kamailio-reference.md §9.1). Validated once at init; a bad value stops the start with a
 * message naming the parameter.
 *
 * @example
 *   dialog: { default_timeout: 7200, send_bye: 1, profiles_with_value: "trunk;caller" }
 */
export const dialogParams = defineParams("dialog", shape, { quote: false, finish });

export type DialogParams = ReturnType<typeof finish>;

/** Validates the configuration section; throws naming the bad parameter. */
export const parseDialogParams = (cfg: Readonly<Record<string, unknown>>): DialogParams => dialogParams.parse(cfg);

export const DEFAULT_DIALOG_PARAMS: DialogParams = Object.freeze(parseDialogParams({}));

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
