/**
 * The SIP `Identity` header (RFC 8224 §4.1) and the telephone numbers it asserts.
 *
 *   Identity: <base64url JWS>;info=<https://cert.example.org/passport.cer>;alg=ES256;ppt=shaken
 *
 * @example
 *   parseIdentity(req.msg.header("Identity")!); // { token, info, alg, ppt, params }
 *   formatIdentity(jwt, "https://cert.example.org/a.pem"); // "<jwt>;info=<https://…>;alg=ES256;ppt=shaken"
 */

/** One parsed Identity header value. */
export interface IdentityValue {
  readonly token: string;
  /** The `info` URI without the angle brackets, or null. */
  readonly info: string | null;
  readonly alg: string | null;
  readonly ppt: string | null;
  readonly params: ReadonlyMap<string, string>;
}

const unquote = (v: string): string => (v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v);

/** Parses one Identity header value; returns an error text when it is not of RFC 8224's form. */
export function parseIdentity(value: string): IdentityValue | string {
  const v = value.trim();
  if (v.length > 16384) return "Identity header too long";
  const semi = v.indexOf(";");
  const token = (semi < 0 ? v : v.slice(0, semi)).trim();
  if (token === "" || !/^[A-Za-z0-9_\-.]+$/.test(token)) return "Identity has no signed-identity-digest";
  const params = new Map<string, string>();
  let rest = semi < 0 ? "" : v.slice(semi + 1);
  while (rest.length > 0) {
    const m = /^\s*([A-Za-z0-9_.!%*+`'~-]+)\s*(?:=\s*(<[^>]*>|"[^"]*"|[^;\s]*))?\s*(?:;|$)/.exec(rest);
    if (!m) return "Identity has a malformed parameter";
    params.set(m[1]!.toLowerCase(), m[2] ?? "");
    rest = rest.slice(m[0].length);
  }
  const infoRaw = params.get("info");
  let info: string | null = null;
  if (infoRaw !== undefined) {
    if (!infoRaw.startsWith("<") || !infoRaw.endsWith(">")) return "Identity info must be <URI>";
    info = infoRaw.slice(1, -1).trim();
  }
  const alg = params.get("alg");
  const ppt = params.get("ppt");
  return { token, info, alg: alg === undefined ? null : unquote(alg), ppt: ppt === undefined ? null : unquote(ppt), params };
}

/** The Identity header value Olelo adds (full form, as secsipid and ATIS-1000074 write it). */
export function formatIdentity(jwt: string, x5u: string): string {
  return `${jwt};info=<${x5u}>;alg=ES256;ppt=shaken`;
}

/**
 * A telephone number in the form PASSporT `tn` claims carry (RFC 8225 §5.2.1): the digits only,
 * without '+' or visual separators. Null when `user` is not a telephone number.
 */
export function canonicalTn(user: string | null | undefined): string | null {
  if (!user) return null;
  let u = user;
  const semi = u.indexOf(";");
  if (semi >= 0) u = u.slice(0, semi);
  try {
    u = decodeURIComponent(u);
  } catch {
    return null;
  }
  const stripped = u.replace(/[-.()\s]/g, "");
  const digits = stripped.startsWith("+") ? stripped.slice(1) : stripped;
  return /^[0-9]{1,20}$/.test(digits) ? digits : null;
}

/** The user part of a sip:/sips:/tel: URI text (null for other schemes or no user). */
export function uriUser(uri: string): string | null {
  const m = /^\s*<?\s*(sips?|tel):([^@>]*)(@|>|$)/i.exec(uri);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  if (scheme === "tel") return m[2]!.split(";")[0]!;
  return m[3] === "@" ? m[2]!.split(":")[0]! : null;
}

/**
 * Sets `;verstat=<value>` on the user part of a name-addr (ATIS-1000074 §5.3.1, a tel URI or SIP
 * URI user parameter), replacing an existing verstat. Returns null when the URI has no user part.
 *
 * @example
 *   withVerstat("<sip:+12155550121@a.example;user=phone>;tag=1", "TN-Validation-Passed")
 *   // "<sip:+12155550121;verstat=TN-Validation-Passed@a.example;user=phone>;tag=1"
 */
export function withVerstat(nameAddr: string, verstat: string): string | null {
  const m = /(sips?:|tel:)([^@>;]*)((?:;[^@>]*)?)(@|>|;|$)/i.exec(nameAddr);
  if (!m || m[2] === "") return null;
  const isTel = m[1]!.toLowerCase() === "tel:";
  if (!isTel && m[4] !== "@") return null;
  const params = m[3]!
    .split(";")
    .filter((p) => p !== "" && !/^verstat(=|$)/i.test(p))
    .map((p) => `;${p}`)
    .join("");
  const rebuilt = `${m[1]}${m[2]}${params};verstat=${verstat}${m[4]}`;
  return nameAddr.slice(0, m.index) + rebuilt + nameAddr.slice(m.index + m[0].length);
}
