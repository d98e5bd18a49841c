import { splitUri, unescapeUser } from "../../core/kit/index.js";
import { RegFailure } from "./reply.js";

/** Longest AoR accepted (Kamailio MAX_AOR_LEN). */
export const MAX_AOR_LEN = 256;

/** How an AoR is built (usrloc use_domain, registrar case_sensitive and realm_prefix). */
export interface AorRules {
  readonly useDomain: boolean;
  readonly caseSensitive: boolean;
  readonly realmPrefix: string;
}

/**
 * The address-of-record key of a URI (Kamailio extract_aor): the unescaped user part, plus
 * `@domain` with use_domain (after stripping realm_prefix), lower-cased unless case_sensitive.
 * Throws RegFailure (400/500) for a URI without user, a bad escape or an over-long AoR.
 */
export function extractAor(uri: string, rules: AorRules): string {
  const u = splitUri(uri);
  if (!u) throw new RegFailure("AOR_PARSE");
  if (u.user === null || u.user === "") throw new RegFailure("TO_USER");
  const user = unescapeUser(u.user);
  if (user === null) throw new RegFailure("UNESCAPE");
  let aor = user;
  if (rules.useDomain) {
    let host = u.host;
    if (rules.realmPrefix && host.startsWith(rules.realmPrefix.toLowerCase()) && host.length > rules.realmPrefix.length) {
      host = host.slice(rules.realmPrefix.length);
    }
    if (host) aor += "@" + host;
  }
  if (aor.length > MAX_AOR_LEN) throw new RegFailure("AOR_LEN");
  return rules.caseSensitive ? aor : aor.toLowerCase();
}

/** extractAor that answers null instead of throwing (lookup, registered). */
export function tryExtractAor(uri: string, rules: AorRules): string | null {
  try {
    return extractAor(uri, rules);
  } catch {
    return null;
  }
}
