/**
 * Destination flag bits and state letters, numbered exactly as Kamailio's dispatcher
 * (`flags` column of the `dispatcher` table, reference §1.3), so rows move between Kamailio and
 * Olelo unchanged.
 */

/** Bit 0 (1): inactive — never selected. */
export const DS_INACTIVE = 1;
/** Bit 1 (2): trying — still selected, has failures, goes inactive at `probing_threshold`. */
export const DS_TRYING = 2;
/** Bit 2 (4): disabled by the admin — never selected, never probed. */
export const DS_DISABLED = 4;
/** Bit 3 (8): probing — send keepalive OPTIONS. */
export const DS_PROBING = 8;
/** Bit 4 (16): host has no A/AAAA (SRV/NAPTR only): not resolved, not probed, not matched by isFromList. */
export const DS_NODNSARES = 16;
/** Bit 5 (32): never ping (shown as N). */
export const DS_NOPING = 32;
/** The bits a state change rewrites (Kamailio DS_STATES_ALL); 16 and 32 are configuration bits and stay. */
export const DS_STATES_ALL = DS_INACTIVE | DS_TRYING | DS_DISABLED | DS_PROBING;
/** Every bit a row may carry (bit 6, 64, is unused in Kamailio and rejected here). */
export const DS_FLAGS_KNOWN = DS_STATES_ALL | DS_NODNSARES | DS_NOPING;

/** Kamailio's ds_skip_dst(): inactive or disabled destinations are never selected. */
export function isSkipped(flags: number): boolean {
  return (flags & (DS_INACTIVE | DS_DISABLED)) !== 0;
}

/**
 * The two-letter state shown by `dispatcher.list` (Kamailio `FLAGS`): first letter
 * I(nactive) / D(isabled) / T(rying) / A(ctive) — checked in that order — second letter
 * P(robing) / N(o-ping) / X.
 *
 * @example stateLetters(DS_INACTIVE | DS_PROBING) === "IP"
 */
export function stateLetters(flags: number): string {
  const a =
    flags & DS_INACTIVE ? "I" : flags & DS_DISABLED ? "D" : flags & DS_TRYING ? "T" : "A";
  const b = flags & DS_PROBING ? "P" : flags & DS_NOPING ? "N" : "X";
  return a + b;
}

/** Human name of the first state letter, for events and logs. */
export function stateName(flags: number): "inactive" | "disabled" | "trying" | "active" {
  if (flags & DS_INACTIVE) return "inactive";
  if (flags & DS_DISABLED) return "disabled";
  if (flags & DS_TRYING) return "trying";
  return "active";
}

/**
 * Parses a script state string as `ds_mark_dst("ip")` / `ds_mark_addr` do (Kamailio
 * ds_parse_flags): letters a (clear all state), i, d, t, p in any order, case-insensitive.
 * Returns null for anything else.
 *
 * @example parseMarkState("ip") === DS_INACTIVE | DS_PROBING
 */
export function parseMarkState(s: string): number | null {
  if (s.length === 0) return null;
  let f = 0;
  for (const ch of s) {
    switch (ch) {
      case "a":
      case "A":
        f &= ~DS_STATES_ALL;
        break;
      case "i":
      case "I":
        f |= DS_INACTIVE;
        break;
      case "d":
      case "D":
        f |= DS_DISABLED;
        break;
      case "t":
      case "T":
        f |= DS_TRYING;
        break;
      case "p":
      case "P":
        f |= DS_PROBING;
        break;
      default:
        return null;
    }
  }
  return f;
}

/**
 * Parses the state argument of `dispatcher.set_state` (Kamailio dispatcher_rpc_set_state_helper):
 * first char a/1 active, i/0 inactive, d/2 disabled, t/3 trying; an optional second char p adds
 * probing (not for disabled). Returns null when the value is not one of those.
 */
export function parseRpcState(s: string): number | null {
  if (s.length === 0 || s.length > 2) return null;
  const probe = s.length === 2 ? s[1] === "p" || s[1] === "P" : false;
  if (s.length === 2 && !probe) return null;
  switch (s[0]) {
    case "a":
    case "A":
    case "1":
      return probe ? DS_PROBING : 0;
    case "i":
    case "I":
    case "0":
      return DS_INACTIVE | (probe ? DS_PROBING : 0);
    case "d":
    case "D":
    case "2":
      return probe ? null : DS_DISABLED;
    case "t":
    case "T":
    case "3":
      return DS_TRYING | (probe ? DS_PROBING : 0);
    default:
      return null;
  }
}
