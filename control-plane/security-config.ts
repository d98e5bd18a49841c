/**
 * The control plane's security settings (flags and environment; parsed by config.ts): TLS and
 * access rules of the table push, TLS and role tokens of the management API, and whether
 * subscriber passwords are pushed. See control-plane/README.md "Security" and
 * control-plane/push/README.md "Security model".
 */
import { isLoopbackHost } from "./push/push-security.js";

export interface SecurityConfig {
  pushTlsCert: string | null;
  pushTlsKey: string | null;
  /** Fleet CA: with it the push requires client certificates (mutual TLS). */
  pushTlsCa: string | null;
  /** CRL file (PEM) of the fleet CA: client certificates it lists are refused and cut off. */
  pushTlsCrl: string | null;
  /** Access file: allow-list, revoked nodes, per-node tokens. */
  pushAccess: string | null;
  /** Plaintext push on a loopback address (tests, single-host setups). */
  pushInsecureLoopback: boolean;
  /** Push subscriber rows with their plaintext password (default: ha1/ha1b only). */
  pushPasswords: boolean;
  apiTlsCert: string | null;
  apiTlsKey: string | null;
  /** JSON file {token: role} or {token: {role, name}}. */
  apiTokens: string | null;
  /** How often certificate and access files are checked for changes, ms. */
  tlsPollMs: number;
}

export const SECURITY_USAGE = `  --push-tls-cert FILE   table push server certificate chain (PEM; env OLELO_CP_PUSH_TLS_CERT)
  --push-tls-key FILE    its private key (env OLELO_CP_PUSH_TLS_KEY)
  --push-tls-ca FILE     fleet CA: data planes must show a client certificate it signed, CN = node id (env OLELO_CP_PUSH_TLS_CA)
  --push-tls-crl FILE    CRL (PEM) from the fleet CA: client certificates it lists are refused, cut off on reload (env OLELO_CP_PUSH_TLS_CRL)
  --push-access FILE     {"nodes":[…],"revoked":[…],"tokens":{node:token}} (env OLELO_CP_PUSH_ACCESS)
  --push-insecure-loopback  plaintext table push, only on a loopback --grpc address
  --push-passwords       push subscriber plaintext passwords too (default: ha1/ha1b only)
  --api-tls-cert FILE    management API over HTTPS: certificate (env OLELO_CP_API_TLS_CERT)
  --api-tls-key FILE     its private key (env OLELO_CP_API_TLS_KEY)
  --api-tokens FILE      role tokens {"<token>":"read-only"|"operator"|"admin"} (env OLELO_CP_API_TOKENS)
  --tls-poll-ms N        check certificate/access/token files for changes every N ms (default 2000; 0 = SIGHUP / access.reload only)`;

export function defaultSecurityConfig(env: Record<string, string | undefined>): SecurityConfig {
  const e = (k: string) => env[k] || null;
  return {
    pushTlsCert: e("OLELO_CP_PUSH_TLS_CERT"),
    pushTlsKey: e("OLELO_CP_PUSH_TLS_KEY"),
    pushTlsCa: e("OLELO_CP_PUSH_TLS_CA"),
    pushTlsCrl: e("OLELO_CP_PUSH_TLS_CRL"),
    pushAccess: e("OLELO_CP_PUSH_ACCESS"),
    pushInsecureLoopback: false,
    pushPasswords: false,
    apiTlsCert: e("OLELO_CP_API_TLS_CERT"),
    apiTlsKey: e("OLELO_CP_API_TLS_KEY"),
    apiTokens: e("OLELO_CP_API_TOKENS"),
    tlsPollMs: 2000,
  };
}

/** Applies one flag; false when the flag is not a security flag. `value()` takes the flag's value. */
export function applySecurityFlag(cfg: SecurityConfig, flag: string, value: () => string, fail: (msg: string) => Error): boolean {
  switch (flag) {
    case "--push-tls-cert":
      cfg.pushTlsCert = value();
      return true;
    case "--push-tls-key":
      cfg.pushTlsKey = value();
      return true;
    case "--push-tls-ca":
      cfg.pushTlsCa = value();
      return true;
    case "--push-tls-crl":
      cfg.pushTlsCrl = value();
      return true;
    case "--push-access":
      cfg.pushAccess = value();
      return true;
    case "--push-insecure-loopback":
      cfg.pushInsecureLoopback = true;
      return true;
    case "--push-passwords":
      cfg.pushPasswords = true;
      return true;
    case "--api-tls-cert":
      cfg.apiTlsCert = value();
      return true;
    case "--api-tls-key":
      cfg.apiTlsKey = value();
      return true;
    case "--api-tokens":
      cfg.apiTokens = value();
      return true;
    case "--tls-poll-ms": {
      const v = value();
      if (!/^\d+$/.test(v)) throw fail(`--tls-poll-ms: '${v}' is not a non-negative integer`);
      cfg.tlsPollMs = Number(v);
      return true;
    }
    default:
      return false;
  }
}

/** Cross-checks; returns the first problem or null. */
export function checkSecurityConfig(cfg: SecurityConfig, grpcHost: string): string | null {
  if (!!cfg.pushTlsCert !== !!cfg.pushTlsKey) return "--push-tls-cert and --push-tls-key go together";
  if (!!cfg.apiTlsCert !== !!cfg.apiTlsKey) return "--api-tls-cert and --api-tls-key go together";
  if (cfg.pushTlsCa && !cfg.pushTlsCert) return "--push-tls-ca needs --push-tls-cert and --push-tls-key (the server's own certificate)";
  if (cfg.pushTlsCrl && !cfg.pushTlsCa) return "--push-tls-crl needs --push-tls-ca (the CRL is checked against the fleet CA)";
  if (cfg.pushTlsCert && cfg.pushInsecureLoopback) return "--push-insecure-loopback and --push-tls-cert exclude each other";
  if (!cfg.pushTlsCert) {
    if (!cfg.pushInsecureLoopback) {
      return "the table push needs TLS: --push-tls-cert/--push-tls-key with --push-tls-ca (mutual TLS) or per-node tokens in --push-access; or --push-insecure-loopback for plaintext on a loopback address";
    }
    if (!isLoopbackHost(grpcHost)) return `--push-insecure-loopback: --grpc ${grpcHost} is not a loopback address`;
  }
  if (cfg.pushTlsCert && !cfg.pushTlsCa && !cfg.pushAccess) return "server-only TLS (no --push-tls-ca) needs per-node tokens: --push-access FILE with \"tokens\"";
  return null;
}
