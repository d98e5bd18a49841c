import type { CompiledCarrierroute, CrDomain, CrFailureRule, CrRouteFlags, CrRule } from "./table.js";

/**
 * Route selection (Kamailio cr_func.c), pure: finding the domain, the longest prefix with
 * rules, the flag group, the target by hash, and the rewritten Request-URI.
 */

/** Resolves a carrier argument (name, id, or 0 = default) with `fallback_default`. */
export function resolveCarrier(c: CompiledCarrierroute, carrier: string | number, fallbackDefault: boolean): number | null {
  let id: number | undefined;
  if (typeof carrier === "number") id = carrier;
  else if (/^\d+$/.test(carrier)) id = Number(carrier);
  else id = c.carrierIds.get(carrier);
  if (id === undefined) return null;
  if (id === 0) return c.carriers.has(c.defaultCarrierId) ? c.defaultCarrierId : null;
  if (c.carriers.has(id)) return id;
  return fallbackDefault && c.carriers.has(c.defaultCarrierId) ? c.defaultCarrierId : null;
}

/** The routing domain of a carrier (domain by name or id), or null. */
export function resolveDomain(c: CompiledCarrierroute, carrierId: number, domain: string | number): CrDomain | null {
  let id: number | undefined;
  if (typeof domain === "number") id = domain;
  else if (/^\d+$/.test(domain)) id = Number(domain);
  else id = c.domainIds.get(domain);
  if (id === undefined) return null;
  return c.carriers.get(carrierId)?.domains.get(id) ?? null;
}

/** In match mode 10 leading non-digits ("+", "00" stays) are skipped before matching. */
export function matchKey(prefixMatching: string, matchMode: 10 | 128): string {
  if (matchMode !== 10) return prefixMatching;
  let i = 0;
  while (i < prefixMatching.length) {
    const c = prefixMatching.charCodeAt(i);
    if (c >= 48 && c <= 57) break;
    i++;
  }
  return i === 0 ? prefixMatching : prefixMatching.slice(i);
}

/**
 * The flag group for the message flags: the longest prefix that has rules decides (no fall-back
 * to shorter prefixes, as in Kamailio), and in it the first group (most mask bits first) with
 * (flags & mask) == group flags. Null when the prefix has no fitting group.
 */
export function findRouteFlags(d: CrDomain, key: string, msgFlags: number): CrRouteFlags | null {
  const groups = d.routes.longest(key);
  if (groups === undefined) return null;
  for (const g of groups) if (((msgFlags & g.mask) >>> 0) === g.flags) return g;
  return null;
}

/** The target whose dice range holds `hash % diceMax` (the last one when none does). */
export function ruleByDice(g: CrRouteFlags, hash: number): CrRule | null {
  if (g.diceMax === 0 || g.rules.length === 0) return null;
  const prob = hash % g.diceMax;
  for (const r of g.rules) if (r.diceTo > prob) return r;
  return g.rules[g.rules.length - 1]!;
}

/** cr_nofallback_route: the target with hash index `hash % number of targets` + 1. */
export function ruleByIndex(g: CrRouteFlags, hash: number): CrRule | null {
  if (g.rules.length === 0) return null;
  return g.rules[hash % g.rules.length]!;
}

/**
 * Kamailio actually_rewrite: scheme (sips when the R-URI is sips) + rewrite_prefix + user minus
 * `strip` + rewrite_suffix + "@" + rewrite_host; a user of "" or "<null>" gives scheme + host.
 * Null for an empty rewrite_host (a blacklisted destination).
 */
export function rewriteUri(rule: CrRule, user: string, sips: boolean): string | null {
  if (rule.host === "") return null;
  const scheme = sips ? "sips:" : "sip:";
  if (user === "" || user === "<null>") return `${scheme}${rule.host}`;
  const strip = Math.min(rule.strip, user.length);
  return `${scheme}${rule.rewritePrefix}${user.slice(strip)}${rule.rewriteSuffix}@${rule.host}`;
}

/** Matches a reply code against a pattern with '.' wildcards ("" matches all). */
export function replyCodeMatches(pattern: string, code: string): boolean {
  if (pattern === "") return true;
  if (pattern.length !== code.length) return false;
  for (let i = 0; i < code.length; i++) if (pattern[i] !== "." && pattern[i] !== code[i]) return false;
  return true;
}

/**
 * cr_next_domain: in the failure rules of the longest prefix that has any, the first (most
 * specific) rule with a matching host (or none), reply code and (mask & flags) == flags.
 */
export function findNextDomain(d: CrDomain, key: string, host: string, replyCode: string, msgFlags: number): CrFailureRule | null {
  const rules = d.failures.longest(key);
  if (rules === undefined) return null;
  for (const r of rules) {
    if (((r.mask & msgFlags) >>> 0) !== r.flags) continue;
    if (r.host !== "" && r.host !== host) continue;
    if (!replyCodeMatches(r.replyCode, replyCode)) continue;
    return r;
  }
  return null;
}
