/**
 * PASSporT (RFC 8225) with the SHAKEN extension (RFC 8588): canonical JSON, base64url, ES256 JWS
 * signing with node:crypto and verification through WebCrypto (which runs on the libuv thread
 * pool, so the event loop only waits for the result).
 *
 * @example
 *   const jwt = signPassport(key, { x5u }, { attest: "A", orig: { tn: "12155550121" }, dest: { tn: ["12155550131"] }, iat, origid });
 *   const p = decodePassport(jwt); // { header, claims, signingInput, signature } or an error text
 */
import { createPublicKey, sign as cryptoSign, webcrypto, type KeyObject } from "node:crypto";

/** The JOSE header of a SHAKEN PASSporT (RFC 8588 §5). */
export interface PassportHeader {
  readonly alg: string;
  readonly ppt?: string;
  readonly typ?: string;
  readonly x5u?: string;
  readonly [k: string]: unknown;
}

/** The claims of a SHAKEN PASSporT (RFC 8225 §5.2, RFC 8588 §6). */
export interface ShakenClaims {
  readonly attest: "A" | "B" | "C";
  readonly dest: { readonly tn?: readonly string[]; readonly uri?: readonly string[] };
  readonly iat: number;
  readonly orig: { readonly tn?: string; readonly uri?: string };
  readonly origid: string;
  readonly [k: string]: unknown;
}

/** A decoded (not yet verified) PASSporT. */
export interface DecodedPassport {
  readonly header: PassportHeader;
  readonly claims: Record<string, unknown>;
  /** `base64url(header) "." base64url(claims)`: the JWS signing input. */
  readonly signingInput: string;
  /** The raw 64-byte r||s signature (IEEE P1363). */
  readonly signature: Buffer;
}

/**
 * JSON with object keys in lexicographic (code point) order and no whitespace: the form RFC 8225
 * §9 requires for the PASSporT header and claims ("deterministic JSON serialization").
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

export const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

/** Signs header + claims with an EC P-256 private key (ES256, r||s signature). */
export function signPassport(key: KeyObject, header: { x5u: string; ppt?: string }, claims: ShakenClaims): string {
  const h = { alg: "ES256", ppt: header.ppt ?? "shaken", typ: "passport", x5u: header.x5u };
  const input = `${b64url(canonicalJson(h))}.${b64url(canonicalJson(claims))}`;
  const sig = cryptoSign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  return `${input}.${b64url(sig)}`;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function parseJsonPart(part: string, what: string): Record<string, unknown> | string {
  if (!B64URL.test(part)) return `${what} is not base64url`;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    return `${what} is not JSON`;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return `${what} is not a JSON object`;
  return v as Record<string, unknown>;
}

/**
 * Splits and decodes a full-form PASSporT (`header.claims.signature`); returns an error text for
 * anything malformed. The compact form (empty claims, RFC 8224 §7.3) is refused: the verifier
 * would have to rebuild the claims from the SIP message.
 */
export function decodePassport(jwt: string): DecodedPassport | string {
  if (jwt.length > 8192) return "token too long";
  const parts = jwt.split(".");
  if (parts.length !== 3) return "token is not header.claims.signature";
  const [h, c, s] = parts as [string, string, string];
  if (c === "") return "compact form is not supported";
  const header = parseJsonPart(h, "header");
  if (typeof header === "string") return header;
  const claims = parseJsonPart(c, "claims");
  if (typeof claims === "string") return claims;
  if (typeof header.alg !== "string") return "header has no alg";
  if (!B64URL.test(s)) return "signature is not base64url";
  return { header: header as PassportHeader, claims, signingInput: `${h}.${c}`, signature: Buffer.from(s, "base64url") };
}

/** Validates the SHAKEN claim shapes; returns an error text or null. */
export function checkShakenClaims(c: Record<string, unknown>): string | null {
  if (c.attest !== "A" && c.attest !== "B" && c.attest !== "C") return "attest must be A, B or C";
  if (typeof c.iat !== "number" || !Number.isInteger(c.iat)) return "iat must be an integer";
  if (typeof c.origid !== "string" || c.origid === "") return "origid missing";
  const orig = c.orig as { tn?: unknown; uri?: unknown } | undefined;
  if (!orig || typeof orig !== "object" || (typeof orig.tn !== "string" && typeof orig.uri !== "string")) return "orig must have tn or uri";
  const dest = c.dest as { tn?: unknown; uri?: unknown } | undefined;
  if (!dest || typeof dest !== "object") return "dest missing";
  const okList = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === "string"));
  if (!okList(dest.tn) || !okList(dest.uri) || (dest.tn === undefined && dest.uri === undefined)) return "dest must have tn or uri arrays";
  return null;
}

const ES256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const keyCache = new WeakMap<KeyObject, Promise<webcrypto.CryptoKey>>();

/** Verifies an ES256 signature asynchronously (WebCrypto ECDSA P-256 / SHA-256, r||s form). */
export async function verifyEs256(publicKey: KeyObject, signingInput: string, signature: Buffer): Promise<boolean> {
  if (signature.length !== 64) return false;
  if (publicKey.asymmetricKeyType !== "ec" || publicKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") return false;
  let k = keyCache.get(publicKey);
  if (!k) {
    k = webcrypto.subtle.importKey("spki", new Uint8Array(publicKey.export({ type: "spki", format: "der" })), ES256, false, ["verify"]);
    keyCache.set(publicKey, k);
  }
  return webcrypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, await k, new Uint8Array(signature), new TextEncoder().encode(signingInput));
}

/** The public key of a PEM/DER SPKI or certificate (for tests and key-path checks). */
export const publicKeyOf = (pem: string | Buffer): KeyObject => createPublicKey(pem);
