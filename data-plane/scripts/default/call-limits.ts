import type { RequestContext } from "../../core/script/context.js";
import type { ScriptModules } from "../module-apis.js";
import { AUTHZ_MAX_DURATION_VAR } from "./authz-hook.js";

/** One account's limits (or the defaults for every account). */
export interface AccountLimits {
  /** Concurrent calls (dialogs up or ringing) of the account; a further INVITE is rejected. */
  readonly maxCalls?: number;
  /** Longest call in seconds from the answer; then the proxy sends BYE both ways. */
  readonly maxDurationS?: number;
}

/** `script.settings.limits`. */
export interface CallLimitSettings extends AccountLimits {
  /** Per-account overrides by account name (the From user). */
  readonly accounts?: Readonly<Record<string, AccountLimits>>;
  /** Reply to an INVITE over the limit (default 403 "Call limit reached"). */
  readonly rejectCode?: number;
  readonly rejectReason?: string;
  /**
   * An htable (htable module) with per-account limits that the control plane pushes like any
   * table (Kamailio `htable` rows): keys `<account>:maxCalls` and `<account>:maxDurationS`, read
   * for every INVITE, override `accounts` and the defaults.
   */
  readonly htable?: string;
}

/** The dialog profile (with value) counting each account's calls. */
export const ACCOUNT_PROFILE = "account";

const posInt = (v: unknown, what: string): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error(`script.settings.limits: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
};

function readLimits(v: unknown, what: string): AccountLimits {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`script.settings.limits: ${what} must be an object`);
  const o = v as Record<string, unknown>;
  return { maxCalls: posInt(o.maxCalls, `${what}.maxCalls`), maxDurationS: posInt(o.maxDurationS, `${what}.maxDurationS`) };
}

/** Validates `script.settings.limits` (throws one line naming the bad field). */
export function parseCallLimits(raw: unknown): CallLimitSettings | null {
  if (raw === undefined || raw === null) return null;
  const base = readLimits(raw, "limits");
  const o = raw as Record<string, unknown>;
  const accounts: Record<string, AccountLimits> = {};
  if (o.accounts !== undefined) {
    if (typeof o.accounts !== "object" || o.accounts === null) throw new Error("script.settings.limits: accounts must be an object {account: {maxCalls, maxDurationS}}");
    for (const [k, v] of Object.entries(o.accounts)) accounts[k] = readLimits(v, `accounts.${k}`);
  }
  const code = o.rejectCode ?? 403;
  if (typeof code !== "number" || !Number.isInteger(code) || code < 400 || code > 699) throw new Error("script.settings.limits: rejectCode must be a code 400..699");
  if (o.rejectReason !== undefined && typeof o.rejectReason !== "string") throw new Error("script.settings.limits: rejectReason must be a string");
  if (o.htable !== undefined && (typeof o.htable !== "string" || o.htable === "")) throw new Error("script.settings.limits: htable must be a table name");
  return {
    ...base,
    accounts,
    rejectCode: code,
    rejectReason: (o.rejectReason as string | undefined) ?? "Call limit reached",
    ...(o.htable !== undefined ? { htable: o.htable as string } : {}),
  };
}

/**
 * CALL LIMITS of the default script (prepaid / fraud limits, Kamailio's dialog-profile idiom):
 * the account of an initial INVITE is its From user (stored as dialog variable `account`, the
 * CDR's account); with `maxCalls` an INVITE is answered `rejectCode` when the account already has
 * that many calls in the `account` dialog profile; with `maxDurationS` the dialog's timeout is
 * that long from the answer, not reset by in-dialog requests, and ends the call with BYE both ways.
 * Needs the dialog module (and `profiles_with_value` including "account" for maxCalls).
 */
export function callLimits(modules: ScriptModules, raw: unknown) {
  const limits = parseCallLimits(raw);
  const dialog = modules.dialog;
  if (limits && !dialog) throw new Error("script.settings.limits needs the dialog module");
  const ht = limits?.htable ? modules.htable : undefined;
  if (limits?.htable && !ht) throw new Error(`script.settings.limits.htable '${limits.htable}' needs the htable module`);
  if (limits?.htable && !ht!.hasTable(limits.htable)) throw new Error(`script.settings.limits.htable: no htable '${limits.htable}' is defined`);
  /** A per-account limit from the htable (positive integer), else undefined. */
  const fromTable = (account: string, what: "maxCalls" | "maxDurationS"): number | undefined => {
    if (!ht) return undefined;
    const v = ht.get(limits!.htable!, `${account}:${what}`);
    const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };
  const needProfile =
    limits && (limits.maxCalls !== undefined || limits.htable !== undefined || Object.values(limits.accounts ?? {}).some((a) => a.maxCalls !== undefined));
  if (needProfile && !dialog!.params.profiles_with_value.includes(ACCOUNT_PROFILE)) {
    throw new Error(`script.settings.limits.maxCalls needs dialog profiles_with_value to include "${ACCOUNT_PROFILE}"`);
  }
  /** The account's call limit: its htable row, its settings entry, the default. */
  const maxCallsOf = (account: string) => fromTable(account, "maxCalls") ?? limits?.accounts?.[account]?.maxCalls ?? limits?.maxCalls;
  return {
    active: limits !== null,
    /** Before an initial INVITE is managed: false when the account is over its call limit (already answered). */
    admit(req: RequestContext): boolean {
      if (!limits) return true;
      const account = req.msg.from.uri?.user ?? "";
      const max = maxCallsOf(account);
      if (max !== undefined && dialog!.profileSize(ACCOUNT_PROFILE, account) >= max) {
        req.reply(limits.rejectCode ?? 403, limits.rejectReason ?? "Call limit reached");
        return false;
      }
      return true;
    },
    /**
     * After the INVITE's dialog exists: account variable, profile, maximum duration. false: the
     * account went over its limit between `admit` and here (with workers, another worker admitted
     * a call of the same account in that moment: the check and the count are two steps), so the
     * profile is given back and the call answered as over the limit; the count never stays above
     * the limit (two such calls at once may both be refused).
     */
    managed(req: RequestContext): boolean {
      if (!dialog) return true;
      const granted = req.vars.get(AUTHZ_MAX_DURATION_VAR); // from the authorization hook
      if (!limits && typeof granted !== "number") return true;
      const account = req.msg.from.uri?.user ?? "";
      dialog.setVar(req, "account", account);
      if (needProfile) {
        dialog.setProfile(req, ACCOUNT_PROFILE, account);
        const max = maxCallsOf(account);
        if (limits && max !== undefined && dialog.profileSize(ACCOUNT_PROFILE, account) > max) {
          dialog.unsetProfile(req, ACCOUNT_PROFILE, account);
          req.reply(limits.rejectCode ?? 403, limits.rejectReason ?? "Call limit reached");
          return false;
        }
      }
      const own = fromTable(account, "maxDurationS") ?? limits?.accounts?.[account]?.maxDurationS ?? limits?.maxDurationS;
      const dur = typeof granted === "number" ? Math.min(granted, own ?? granted) : own;
      if (dur !== undefined) dialog.setTimeout(req, dur, { bye: true, noReset: true });
      return true;
    },
  };
}
