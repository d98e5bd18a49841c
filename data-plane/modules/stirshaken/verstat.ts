import type { RequestContext } from "../../core/api.js";
import { canonicalTn, uriUser, withVerstat } from "./identity-header.js";
import type { Verstat } from "./verify.js";

/**
 * Writes the verification result into the forwarded request (ATIS-1000074 §5.3.1): `;verstat=`
 * on the user part of the first P-Asserted-Identity URI that is a telephone number, else on the
 * From URI. Returns where it went ("pai", "from") or null when neither carries a number's user part.
 */
export function applyVerstat(req: RequestContext, verstat: Verstat): "pai" | "from" | null {
  const pais = req.msg.headerAll("P-Asserted-Identity");
  for (let i = 0; i < pais.length; i++) {
    const field = pais[i]!;
    if (!canonicalTn(uriUser(field.trim()))) continue;
    const next = withVerstat(field, verstat);
    if (next && req.replaceHeader("P-Asserted-Identity", i, next)) return "pai";
  }
  const from = req.msg.header("From");
  if (from && canonicalTn(uriUser(req.msg.from.uriText))) {
    const next = withVerstat(from, verstat);
    if (next && req.replaceHeader("From", 0, next)) return "from";
  }
  return null;
}
