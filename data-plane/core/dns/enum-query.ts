import type { RequestContext } from "../script/context.js";
import { RequestCtx } from "../script/request-context.js";
import type { NaptrData } from "./dns-wire.js";

/** The ENUM domain of an E.164 number (RFC 6116 §2.4): `+4930123` → `3.2.1.0.3.4.e164.arpa.`. */
export function enumDomain(e164: string, suffix = "e164.arpa."): string | null {
  const digits = e164.startsWith("+") ? e164.slice(1) : e164;
  if (!/^\d{1,15}$/.test(digits)) return null;
  const sfx = suffix.endsWith(".") ? suffix : `${suffix}.`;
  return `${[...digits].reverse().join(".")}.${sfx}`;
}

/** Whether a NAPTR service field offers `service` (`E2U+sip`, `E2U+voice:sip+sip`, legacy `SIP+E2U`). */
export function serviceMatches(field: string, service: string): boolean {
  const f = field.toLowerCase();
  const want = service.toLowerCase();
  if (f === want) return true;
  const wantType = want.replace(/^e2u\+/, "");
  if (f === `${wantType}+e2u`) return true;
  if (!f.startsWith("e2u+")) return false;
  return f
    .slice(4)
    .split("+")
    .some((t) => t === wantType || t.split(":")[0] === wantType);
}

/**
 * Applies a NAPTR substitution expression `!regex!replacement!flags` (RFC 3402 §3.2) to the
 * application unique string; `\1`..`\9` are back-references. Returns null when it does not match.
 */
export function applyNaptrRegexp(expr: string, aus: string): string | null {
  if (expr.length < 3) return null;
  const delim = expr[0]!;
  const parts = expr.slice(1).split(delim);
  if (parts.length !== 3) return null;
  const [pattern, replacement, flags] = parts as [string, string, string];
  let re: RegExp;
  try {
    re = new RegExp(pattern, flags.includes("i") ? "i" : "");
  } catch {
    return null;
  }
  const m = re.exec(aus);
  if (!m) return null;
  return replacement.replace(/\\(\d)/g, (_, d: string) => m[Number(d)] ?? "");
}

/**
 * ENUM lookup (RFC 6116): NAPTR records of the number's domain with flag "u" and the wanted
 * service, by order then preference; the first one whose regexp gives a URI wins.
 */
/** The resolver ENUM needs: a NAPTR lookup (SipResolver has it). */
export interface NaptrResolver {
  lookup(name: string, type: "NAPTR"): Promise<{ data: unknown }>;
}

export async function enumLookup(resolver: NaptrResolver, e164: string, suffix = "e164.arpa.", service = "e2u+sip"): Promise<string | null> {
  const domain = enumDomain(e164, suffix);
  if (!domain) return null;
  let recs: NaptrData[];
  try {
    recs = (await resolver.lookup(domain, "NAPTR")).data as NaptrData[];
  } catch {
    return null;
  }
  const aus = e164.startsWith("+") ? e164 : `+${e164}`;
  const usable = recs
    .filter((r) => r.flags.toLowerCase() === "u" && serviceMatches(r.service, service))
    .sort((a, b) => a.order - b.order || a.preference - b.preference);
  for (const r of usable) {
    const uri = applyNaptrRegexp(r.regexp, aus);
    if (uri && /^sips?:/i.test(uri)) return uri;
  }
  return null;
}

/**
 * [enum_query([suffix[, service]])] rewrites the R-URI from the ENUM NAPTR records of its user
 * part, which must be an E.164 number (`+` and up to 15 digits). Resolves true when rewritten.
 *
 * @example
 *   if (await enumQuery(req)) req.relay(); else req.reply(404, "Not in ENUM");
 */
export async function enumQuery(req: RequestContext, suffix = "e164.arpa.", service = "e2u+sip"): Promise<boolean> {
  const user = req.ruriUser;
  if (!user || !/^\+\d{1,15}$/.test(user)) return false;
  const lookup = req instanceof RequestCtx ? req.tm.dnsLookup : null;
  if (!lookup) return false;
  const uri = await enumLookup({ lookup }, user, suffix, service);
  if (!uri) return false;
  req.setRuri(uri);
  return true;
}
