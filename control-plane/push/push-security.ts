/**
 * Transport security of the table push (README.md in this folder, "Security model"):
 * - "mtls": server certificate + fleet CA; every data plane shows a client certificate signed by
 *   the CA (the TLS handshake refuses others) and its CN is its node id;
 * - "token": server certificate only; each data plane sends `authorization: Bearer <token>`
 *   matching its entry in the access file;
 * - "insecure": plaintext, only on a loopback address, only when the operator asks for it.
 * Certificates come from a WatchedPemFiles, so replacing the files (or `access.reload`, SIGHUP)
 * takes effect for new connections without a restart.
 *
 * @example
 *   const pem = new WatchedPemFiles({ ca, cert, key });
 *   const security: PushSecurity = { tls: { pem, requireClientCert: true }, access: new PushAccess(file) };
 *   await createPushServer({ source, host: "0.0.0.0", port: 8071, security });
 */
import * as grpc from "@grpc/grpc-js";
import { isLoopbackAddress } from "../../lib/net/ip.js";
import type { WatchedCrl } from "../../lib/tls/crl.js";
import type { WatchedPemFiles } from "../../lib/tls/pem-files.js";
import type { PushAccess, PushAuthMode, PushIdentity } from "./push-access.js";
import type { PushCall } from "./push-session.js";

export interface PushSecurity {
  /** null: plaintext (loopback only). */
  tls: { pem: WatchedPemFiles; requireClientCert: boolean } | null;
  access: PushAccess;
  /** CRL of the fleet CA (`--push-tls-crl`): a client certificate whose serial it lists is refused. */
  crl?: WatchedCrl | null;
}

/** null when the stream may stay open, else why not (the access rules, then the CRL). */
export function refusalOf(s: PushSecurity, id: PushIdentity): string | null {
  const why = s.access.check(id);
  if (why !== null) return why;
  if (s.crl && id.certDer) {
    const revoked = s.crl.revocation(id.certDer);
    if (revoked) return `node '${id.nodeId}': client ${revoked}`;
  }
  return null;
}

export function securityMode(s: PushSecurity | null): PushAuthMode {
  if (!s?.tls) return "insecure";
  return s.tls.requireClientCert ? "mtls" : "token";
}

export const isLoopbackHost = isLoopbackAddress;

export function serverCredentials(s: PushSecurity | null): grpc.ServerCredentials {
  if (!s?.tls) return grpc.ServerCredentials.createInsecure();
  const pem = s.tls.pem;
  if (s.tls.requireClientCert) {
    if (!pem.current().ca) throw new Error("mutual TLS needs a CA file (--push-tls-ca)");
    // One provider gives both the CA and the identity (grpc-js' argument names differ between the
    // factory and the class; passing the same object to both keeps that moot).
    return grpc.experimental.createCertificateProviderServerCredentials(pem, pem, true);
  }
  // Server-only TLS: identity only. grpc-js 1.14 hands the factory's first argument to the
  // class's identity slot; test/control-plane-mtls.test.ts covers this mode.
  return grpc.experimental.createCertificateProviderServerCredentials(pem, null as unknown as grpc.experimental.CertificateProvider, false);
}

/** What a stream shows about itself: the verified client certificate's CN and a bearer token. */
export function identityOf(call: PushCall, mode: PushAuthMode, nodeId: string): PushIdentity {
  let certCn: string | null = null;
  let certDer: Buffer | null = null;
  const ctx = (call as { getAuthContext?: () => { sslPeerCertificate?: import("node:tls").PeerCertificate } | null }).getAuthContext?.() ?? null;
  const cn = ctx?.sslPeerCertificate?.subject?.CN as string | string[] | undefined;
  if (typeof cn === "string" && cn !== "") certCn = cn;
  else if (Array.isArray(cn) && cn.length === 1) certCn = cn[0]!;
  const raw = ctx?.sslPeerCertificate?.raw;
  if (certCn !== null && Buffer.isBuffer(raw)) certDer = raw;
  let token: string | null = null;
  const auth = call.metadata.get("authorization")[0];
  const m = typeof auth === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  if (m) token = m[1]!;
  return { mode, nodeId, certCn, token, certDer };
}
