import type { RequestContext } from "../../../core/api.js";
import { dsHash } from "../../../../tables/dispatcher/hash.js";
import { checkSipUri } from "../../../core/kit/index.js";

/**
 * The keys the hashing algorithms read from a request, with Kamailio's rules
 * (get_uri_hash_keys): a URI hashes as `user` + `host[:port]`, the port only when it differs
 * from 5060 (5061 for sips:); with module flag 1 only the user part is used. Each function
 * returns the hash, or -1 when the message has no usable key.
 */

/** Hash of a URI per Kamailio's user / host:port rule; -1 when the URI cannot be parsed. */
export function hashUri(uriText: string, userOnly: boolean): number {
  const u = checkSipUri(uriText.trim());
  if (typeof u === "string") return -1;
  const user = u.user === "" ? null : u.user;
  if (userOnly) return dsHash(user, null);
  let hp = u.ipv6 ? `[${u.host}]` : u.host;
  const dflt = u.scheme === "sips" ? 5061 : 5060;
  if (u.portText !== "" && u.port !== dflt) hp += ":" + u.portText;
  return dsHash(user, hp);
}

/** Alg 0: hash of the Call-ID (trimmed). */
export function hashCallId(req: RequestContext): number {
  const cid = req.msg.callId.trim();
  if (cid === "") return -1;
  return dsHash(cid, null);
}

/** Alg 1: hash of the From URI. */
export function hashFromUri(req: RequestContext, userOnly: boolean): number {
  return hashUri(req.msg.from.uriText, userOnly);
}

/** Alg 2: hash of the To URI. */
export function hashToUri(req: RequestContext, userOnly: boolean): number {
  return hashUri(req.msg.to.uriText, userOnly);
}

/** Alg 3: hash of the current Request-URI. */
export function hashRuri(req: RequestContext, userOnly: boolean): number {
  return hashUri(req.ruri, userOnly);
}

/**
 * Alg 5: hash of the digest username, from Proxy-Authorization first, then Authorization
 * (Kamailio ds_hash_authusername; a `user@domain` username hashes its user part). Returns null
 * when there are no credentials — the caller then falls back to round robin.
 */
export function hashAuthUser(req: RequestContext): number | null {
  const user = digestUsername(req.msg.header("Proxy-Authorization")) ?? digestUsername(req.msg.header("Authorization"));
  if (user === null) return null;
  const at = user.indexOf("@");
  const u = (at >= 0 ? user.slice(0, at) : user).trim();
  if (u === "") return null;
  return dsHash(u, null);
}

/** Extracts `username` from a Digest credentials header value (RFC 7616 §3.4). */
export function digestUsername(value: string | null): string | null {
  if (value === null) return null;
  const m = /(?:^|[\s,])username\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/i.exec(value);
  if (!m) return null;
  const v = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!;
  return v === "" ? null : v;
}

/** Alg 7: hash of a value computed by the script (Kamailio's hash_pvar); -1 when empty. */
export function hashValue(v: string | undefined): number {
  if (v === undefined) return -1;
  const t = v.trim();
  if (t === "") return -1;
  return dsHash(t, null);
}

