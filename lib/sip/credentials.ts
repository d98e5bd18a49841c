import { algorithmInfo } from "./digest.js";

/**
 * Parser for one Authorization / Proxy-Authorization header value (RFC 3261 §25.1 `credentials`,
 * RFC 7616 §3.4). It never throws: a header is either Digest credentials, another scheme (not our
 * business), or malformed with a reason (quoted strings unterminated, duplicate or missing
 * parameters, bad nc/qop/response syntax) — the script answers that with 400.
 */

/** Parsed Digest credentials; values are unquoted and unescaped. */
export interface DigestCredentials {
  /** username (or the decoded username*). */
  readonly username: string;
  /** Part before '@' when the username is user@domain (Kamailio's username.user), else the username. */
  readonly user: string;
  /** Part after '@', or null. */
  readonly userDomain: string | null;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  /** Lower-case hex request-digest. */
  readonly response: string;
  /** Algorithm token as sent (default "MD5"). */
  readonly algorithm: string;
  readonly cnonce: string | null;
  readonly opaque: string | null;
  /** "auth" | "auth-int" | null. */
  readonly qop: string | null;
  /** 8 hex digits, or null without qop. */
  readonly nc: string | null;
  readonly userhash: boolean;
}

/** Parser outcome: Digest credentials, another auth scheme, or malformed with a reason. */
export type CredentialsParse =
  | { readonly kind: "digest"; readonly cred: DigestCredentials }
  | { readonly kind: "other"; readonly scheme: string }
  | { readonly kind: "malformed"; readonly reason: string };

/** Kamailio's AUTH_HDR_MAX_SIZE. */
export const MAX_CREDENTIALS_LENGTH = 8 * 1024;

const TOKEN_CHAR = new Uint8Array(128);
for (const c of "!%'*+-.^_`|~") TOKEN_CHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TOKEN_CHAR[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN_CHAR[c] = 1;
for (let c = 97; c <= 122; c++) TOKEN_CHAR[c] = 1;

function isToken(c: number): boolean {
  return c < 128 && TOKEN_CHAR[c] === 1;
}
function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

const HEX_RE = /^[0-9a-fA-F]+$/;
const NC_RE = /^[0-9a-fA-F]{8}$/;

const malformed = (reason: string): CredentialsParse => ({ kind: "malformed", reason });

/** RFC 8187 ext-value: charset'lang'pct-encoded (UTF-8 only). */
function decodeExtValue(v: string): string | null {
  const m = /^([A-Za-z0-9!#$%&+\-^_`{}~]+)'[A-Za-z0-9-]*'(.*)$/.exec(v);
  if (!m || m[1]!.toLowerCase() !== "utf-8") return null;
  try {
    return decodeURIComponent(m[2]!);
  } catch {
    return null;
  }
}

/**
 * Parses one header value. Parameter names are case-insensitive; every parameter may appear once;
 * values are tokens or quoted strings with backslash escapes; unknown parameters are ignored
 * (RFC 7616 §3.4 auth-param).
 *
 * @example
 *   parseCredentials('Digest username="alice", realm="example.com", nonce="n", uri="sip:example.com", response="...32 hex..."')
 */
export function parseCredentials(value: string): CredentialsParse {
  if (typeof value !== "string") return malformed("not a string");
  if (value.length > MAX_CREDENTIALS_LENGTH) return malformed("header too long");
  const n = value.length;
  let i = 0;
  while (i < n && isWs(value.charCodeAt(i))) i++;
  const schemeStart = i;
  while (i < n && isToken(value.charCodeAt(i))) i++;
  const scheme = value.slice(schemeStart, i);
  if (scheme === "") return malformed("missing auth scheme");
  if (i < n && !isWs(value.charCodeAt(i))) return malformed("bad character after auth scheme");
  if (scheme.toLowerCase() !== "digest") return { kind: "other", scheme };

  const params = new Map<string, string>();
  let expectParam = true;
  for (;;) {
    while (i < n && isWs(value.charCodeAt(i))) i++;
    if (i >= n) break;
    if (value.charCodeAt(i) === 44 /* , */) {
      i++;
      expectParam = true;
      continue;
    }
    if (!expectParam) return malformed(`expected ',' at offset ${i}`);
    const nameStart = i;
    while (i < n && isToken(value.charCodeAt(i))) i++;
    if (i === nameStart) return malformed(`bad character at offset ${i}`);
    const name = value.slice(nameStart, i).toLowerCase();
    while (i < n && isWs(value.charCodeAt(i))) i++;
    if (value.charCodeAt(i) !== 61 /* = */) return malformed(`parameter ${name} has no value`);
    i++;
    while (i < n && isWs(value.charCodeAt(i))) i++;
    let v: string;
    if (value.charCodeAt(i) === 34 /* " */) {
      i++;
      let out = "";
      let closed = false;
      let segStart = i;
      while (i < n) {
        const c = value.charCodeAt(i);
        if (c === 92 /* \ */) {
          if (i + 1 >= n) break;
          out += value.slice(segStart, i) + value[i + 1];
          i += 2;
          segStart = i;
          continue;
        }
        if (c === 34) {
          out += value.slice(segStart, i);
          i++;
          closed = true;
          break;
        }
        if (c === 13 || c === 10 || c === 0) return malformed(`control character in parameter ${name}`);
        i++;
      }
      if (!closed) return malformed(`unterminated quoted string in parameter ${name}`);
      v = out;
    } else {
      const vs = i;
      while (i < n && isToken(value.charCodeAt(i))) i++;
      if (i === vs) return malformed(`parameter ${name} has an empty or bad value`);
      v = value.slice(vs, i);
    }
    if (params.has(name)) return malformed(`duplicate parameter ${name}`);
    params.set(name, v);
    expectParam = false;
  }

  if (params.has("username") && params.has("username*")) return malformed("both username and username*");
  let username = params.get("username");
  const ext = params.get("username*");
  if (ext !== undefined) {
    const d = decodeExtValue(ext);
    if (d === null) return malformed("bad username* encoding");
    username = d;
  }
  for (const req of ["realm", "nonce", "uri", "response"]) {
    if (!params.has(req)) return malformed(`missing parameter ${req}`);
  }
  if (username === undefined) return malformed("missing parameter username");
  if (username === "") return malformed("empty username");
  const nonce = params.get("nonce")!;
  if (nonce === "") return malformed("empty nonce");
  const uri = params.get("uri")!;
  if (uri === "") return malformed("empty uri");
  const algorithm = params.get("algorithm") ?? "MD5";
  const response = params.get("response")!;
  if (!HEX_RE.test(response)) return malformed("response is not hex");
  const alg = algorithmInfo(algorithm);
  if (alg && response.length !== alg.hexLen) return malformed(`response length ${response.length} does not fit ${algorithm}`);
  let qop = params.get("qop") ?? null;
  const nc = params.get("nc") ?? null;
  const cnonce = params.get("cnonce") ?? null;
  if (qop !== null) {
    qop = qop.toLowerCase();
    if (qop !== "auth" && qop !== "auth-int") return malformed(`unsupported qop '${qop}'`);
    if (nc === null) return malformed("qop without nc");
    if (cnonce === null || cnonce === "") return malformed("qop without cnonce");
    if (!NC_RE.test(nc)) return malformed("nc is not 8 hex digits");
  } else if (nc !== null) {
    return malformed("nc without qop");
  }
  const uh = params.get("userhash");
  if (uh !== undefined && uh.toLowerCase() !== "true" && uh.toLowerCase() !== "false") return malformed("userhash is not true/false");
  const at = username.indexOf("@");
  return {
    kind: "digest",
    cred: {
      username,
      user: at >= 0 ? username.slice(0, at) : username,
      userDomain: at >= 0 ? username.slice(at + 1) : null,
      realm: params.get("realm")!,
      nonce,
      uri,
      response: response.toLowerCase(),
      algorithm,
      cnonce,
      opaque: params.get("opaque") ?? null,
      qop,
      nc: nc === null ? null : nc.toLowerCase(),
      userhash: uh !== undefined && uh.toLowerCase() === "true",
    },
  };
}
