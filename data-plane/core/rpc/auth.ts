import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { IncomingMessage } from "node:http";

/**
 * Bearer-token check for the control API (HTTP /RPC, /RPC2 and the /ws upgrade). Kamailio leaves
 * authorisation to the routing script (xhttp + jsonrpc_dispatch); Olelo does it in the server and
 * refuses to listen on a non-loopback address without a token.
 *
 * @example
 *   if (!isAuthorized(req, token)) { res.writeHead(401, { "WWW-Authenticate": 'Bearer realm="olelo"' }); }
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (h.startsWith("::ffff:")) return h.slice(7).startsWith("127.");
  return false;
}

/** A token checker that compares in constant time (digests, so lengths do not leak either). */
export function createTokenCheck(token: string | undefined): (req: IncomingMessage) => boolean {
  if (token === undefined || token === "") return () => true;
  const want = createHash("sha256").update(token).digest();
  return (req) => {
    const h = req.headers.authorization;
    if (typeof h !== "string") return false;
    const m = /^Bearer[ \t]+(\S+)\s*$/i.exec(h);
    if (!m) return false;
    const got = createHash("sha256").update(m[1]!).digest();
    return timingSafeEqual(want, got);
  };
}
