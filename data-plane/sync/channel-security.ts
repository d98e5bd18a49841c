/**
 * How the sync client reaches the control plane: TLS with the fleet CA (and this node's client
 * certificate for mutual TLS), a per-node bearer token over TLS, or plaintext to a loopback
 * address only. The PEM files are watched (WatchedPemFiles): a replaced certificate is used from
 * the next connection on, without a restart. See README.md in this folder, "Security".
 *
 * @example
 *   const sec = createChannelSecurity("cp.example:8071", { ca: "ca.pem", cert: "edge-1.pem", key: "edge-1-key.pem" }, null);
 *   new Client(address, sec.credentials(), { ...opts, ...sec.channelOptions });
 */
import { isIP } from "node:net";
import { checkServerIdentity } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../../lib/log/logger.js";
import { isLoopbackAddress } from "../../lib/net/ip.js";
import { WatchedCrl } from "../../lib/tls/crl.js";
import { WatchedPemFiles } from "../../lib/tls/pem-files.js";

/** `controlPlane.tls` of the data plane's configuration. */
export interface SyncTlsOptions {
  /** CA that signed the control plane's certificate (the fleet CA). */
  ca: string;
  /** This node's client certificate and key (mutual TLS; the certificate's CN is the node id). */
  cert?: string | null;
  key?: string | null;
  /** Name expected in the control plane's certificate when it differs from the url's host. */
  serverName?: string | null;
  /** CRL (PEM) from the fleet CA: a control plane whose certificate serial it lists is refused. */
  crl?: string | null;
  /** How often the files are checked for changes, ms (default 2000). */
  pollMs?: number;
}

export interface ChannelSecurity {
  readonly mode: "mtls" | "tls" | "insecure";
  credentials(): grpc.ChannelCredentials;
  readonly channelOptions: grpc.ChannelOptions;
  status(): { mode: string; token: boolean; files: Record<string, unknown> | null; crl?: Record<string, unknown> };
  close(): void;
}


/** Builds the client's channel security; throws an Error naming the problem. */
/** SNI sent when the control plane is dialled by IP address (SNI cannot carry an IP). */
const IP_SNI_PLACEHOLDER = "olelo-control-plane";

export function createChannelSecurity(address: string, tls: SyncTlsOptions | null | undefined, token: string | null | undefined, log?: Logger): ChannelSecurity {
  const host = address.replace(/:\d+$/, "");
  if (!tls) {
    if (!isLoopbackAddress(host)) throw new Error(`sync: plaintext to the control plane at ${address} is refused (not loopback): set controlPlane.tls`);
    if (token) throw new Error("sync: controlPlane.token needs controlPlane.tls (a token is never sent in plaintext)");
    return {
      mode: "insecure",
      credentials: () => grpc.credentials.createInsecure(),
      channelOptions: {},
      status: () => ({ mode: "insecure", token: false, files: null }),
      close() {},
    };
  }
  if (!!tls.cert !== !!tls.key) throw new Error("sync: controlPlane.tls needs both cert and key (or neither)");
  const pem = new WatchedPemFiles(
    { ca: tls.ca, cert: tls.cert ?? null, key: tls.key ?? null },
    {
      pollMs: tls.pollMs,
      onReload: (r) =>
        r.ok ? log?.info("control plane TLS files changed; used from the next connection") : log?.warn("control plane TLS files not reloaded", { error: r.error }),
    },
  );
  let crl: WatchedCrl | null = null;
  try {
    crl = tls.crl
      ? new WatchedCrl(tls.crl, () => pem.current().ca, {
          pollMs: tls.pollMs,
          onReload: (r) => (r.ok ? log?.info("control plane CRL changed; checked from the next connection") : log?.warn("control plane CRL not reloaded", { error: r.error })),
        })
      : null;
  } catch (e) {
    pem.close();
    throw new Error(`sync: controlPlane.tls.crl: ${(e as Error).message}`);
  }
  const mode = tls.cert ? "mtls" : "tls";
  // Node 24+ refuses an IP address as TLS servername (SNI), which grpc-js sends by default: for an
  // IP url send a placeholder name instead and still check the certificate against the IP.
  const bare = host.replace(/^\[|\]$/g, "");
  const ipTarget = isIP(bare) ? bare : null;
  const callCreds = token
    ? grpc.credentials.createFromMetadataGenerator((_p, cb) => {
        const md = new grpc.Metadata();
        md.set("authorization", `Bearer ${token}`);
        cb(null, md);
      })
    : null;
  return {
    mode,
    credentials() {
      const m = pem.current();
      const check = (name: string, cert: import("node:tls").PeerCertificate): Error | undefined => {
        const e = checkServerIdentity(ipTarget ?? name, cert);
        if (e || !crl) return e;
        const why = crl.revocation(cert.raw);
        return why ? new Error(`control plane ${why}`) : undefined;
      };
      const ssl = grpc.credentials.createSsl(m.ca, m.key, m.cert, ipTarget || crl ? { checkServerIdentity: check } : {});
      return callCreds ? grpc.credentials.combineChannelCredentials(ssl, callCreds) : ssl;
    },
    channelOptions: tls.serverName
      ? { "grpc.ssl_target_name_override": tls.serverName, "grpc.default_authority": tls.serverName }
      : ipTarget
        ? { "grpc.ssl_target_name_override": IP_SNI_PLACEHOLDER }
        : {},
    status: () => ({ mode, token: !!token, files: pem.status() as unknown as Record<string, unknown>, ...(crl ? { crl: crl.status() } : {}) }),
    close: () => {
      pem.close();
      crl?.close();
    },
  };
}
