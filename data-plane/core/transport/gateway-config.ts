/**
 * Settings of the transport gateway (issue 9): TLS server/client profiles, WebSocket options and
 * DNS (RFC 3263). They live in the configuration file next to `listen`:
 *
 *   listen: [{ socket: "tls:0.0.0.0:5061", tls: { cert, key, ca, verifyClient, sni: {...} } },
 *            { socket: "wss:0.0.0.0:8443", tls: {...}, ws: { origins: ["https://app.example.com"] } }]
 *   tls:  { client: { ca, verifyServer }, destinations: [{ match, verifyServer: false }], watch }
 *   ws:   { origins, pingIntervalMs, maxMessageSize }
 *   dns:  { servers: ["10.0.0.53"], naptr: true, failover: true, blocklist: {...} }
 *
 * Names follow Kamailio's tls.cfg (verify_certificate, require_certificate, server_name) and core
 * DNS parameters (dns_try_naptr, dns_srv_lb, use_dns_failover, dns_cache_*_ttl, dst_blocklist_*).
 */
import { isAbsolute, resolve } from "node:path";

/** Certificate + key (PEM files) and an optional CA bundle. */
export interface TlsIdentity {
  cert: string | null;
  key: string | null;
  /** CA bundle used to verify the peer (client certificates on a server, servers on a client). */
  ca: string | null;
  passphrase: string | null;
}

/** One TLS listener (Kamailio tls.cfg `[server:ip:port]` profile). */
export interface TlsServerSettings extends TlsIdentity {
  /** Ask for and verify a client certificate against `ca` (verify_certificate). */
  verifyClient: boolean;
  /** Refuse clients without a valid certificate (require_certificate). */
  requireClientCert: boolean;
  /** Certificates per SNI server name (`*.example.com` wildcards allowed). */
  sni: Record<string, TlsIdentity>;
  minVersion: "TLSv1.2" | "TLSv1.3";
  ciphers: string | null;
  /** A client that has not finished the handshake by then is dropped. */
  handshakeTimeoutMs: number;
}

/** Settings for TLS connections Olelo opens (Kamailio `[client:ip:port]` profiles). */
export interface TlsClientProfile extends TlsIdentity {
  /** `host`, `host:port` or `ip:port` this profile applies to; null = the default profile. */
  match: string | null;
  /** Verify the next hop's certificate chain and name (RFC 5922). `false` is the explicit opt-out. */
  verifyServer: boolean;
  /** SNI / name to verify; defaults to the host name the destination was resolved from. */
  serverName: string | null;
  minVersion: "TLSv1.2" | "TLSv1.3";
}

export interface TlsGlobalSettings {
  client: TlsClientProfile;
  destinations: TlsClientProfile[];
  handshakeTimeoutMs: number;
  /** Reload certificates when one of their files changes (polled every watchIntervalMs). */
  watch: boolean;
  watchIntervalMs: number;
  /** Reload certificates on SIGHUP. */
  reloadOnSighup: boolean;
}

/** SIP over WebSocket (RFC 7118) options, global or per listener. */
export interface WsSettings {
  /** Allowed Origin header values (exact, or `*.example.com` host wildcard); null = any. */
  origins: string[] | null;
  /** Refuse handshakes that do not offer the `sip` subprotocol. */
  requireSipProtocol: boolean;
  /** Ping every client this often; one without a pong by the next ping is closed (0 = off). */
  pingIntervalMs: number;
  /** Largest WebSocket message accepted (bigger frames close the connection with 1009). */
  maxMessageSize: number;
  /** Only upgrades on this path are accepted (null = any path). */
  path: string | null;
}

export interface DnsBlocklistSettings {
  /** use_dst_blocklist */
  enabled: boolean;
  /** dst_blocklist_expire (s) */
  expireS: number;
  maxEntries: number;
  /** blocklist a destination that answered 503 (tm blst_503) */
  on503: boolean;
  /** blocklist a destination whose branch timed out without any reply */
  onTimeout: boolean;
}

/** RFC 3263 resolution settings (Kamailio dns_* core parameters). */
export interface DnsSettings {
  /** Name servers `ip` or `ip:port`; empty = the system's (resolv.conf). */
  servers: string[];
  /** dns_try_naptr */
  naptr: boolean;
  /** dns_srv_lb: weighted choice among SRV records of equal priority (RFC 2782). */
  srvLb: boolean;
  /** dns_try_ipv6: also ask for AAAA. */
  ipv6: boolean;
  timeoutMs: number;
  tries: number;
  cacheSize: number;
  /** dns_cache_min_ttl / dns_cache_max_ttl (s) */
  minTtlS: number;
  maxTtlS: number;
  /** dns_cache_negative_ttl (s) */
  negativeTtlS: number;
  /** use_dns_failover: a branch that times out or gets 503 moves to the next resolved target. */
  failover: boolean;
  blocklist: DnsBlocklistSettings;
}

declare module "../config.js" {
  interface CoreConfig {
    /** Global TLS settings (transport gateway); absent = defaults. */
    tls?: TlsGlobalSettings;
    /** Global WebSocket settings; listeners may override. */
    ws?: WsSettings;
    /** DNS resolution (RFC 3263) settings. */
    dns?: DnsSettings;
  }
}

export const DEFAULT_TLS_CLIENT: TlsClientProfile = {
  match: null,
  cert: null,
  key: null,
  ca: null,
  passphrase: null,
  verifyServer: true,
  serverName: null,
  minVersion: "TLSv1.2",
};

export const DEFAULT_TLS_GLOBAL: TlsGlobalSettings = {
  client: DEFAULT_TLS_CLIENT,
  destinations: [],
  handshakeTimeoutMs: 10_000,
  watch: false,
  watchIntervalMs: 2000,
  reloadOnSighup: false,
};

export const DEFAULT_WS: WsSettings = {
  origins: null,
  requireSipProtocol: true,
  pingIntervalMs: 30_000,
  maxMessageSize: 65_535,
  path: null,
};

export const DEFAULT_DNS: DnsSettings = {
  servers: [],
  naptr: false,
  srvLb: true,
  ipv6: true,
  timeoutMs: 2000,
  tries: 2,
  cacheSize: 10_000,
  minTtlS: 0,
  maxTtlS: 86_400,
  negativeTtlS: 60,
  failover: true,
  blocklist: { enabled: false, expireS: 60, maxEntries: 10_000, on503: true, onTimeout: true },
};

/** Thrown for a bad gateway setting; the message names the key (config-file wraps it). */
export class GatewayConfigError extends Error {
  override readonly name = "GatewayConfigError";
}

type Raw = Record<string, unknown>;

function obj(v: unknown, where: string): Raw {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new GatewayConfigError(`'${where}' must be an object`);
  return v as Raw;
}

function known(o: Raw, where: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k) && k !== "$comment") throw new GatewayConfigError(`unknown setting '${where}.${k}'`);
}

function optStr(o: Raw, k: string, where: string): string | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string" || v === "") throw new GatewayConfigError(`'${where}.${k}' must be a non-empty string`);
  return v;
}

function optBool(o: Raw, k: string, where: string, dflt: boolean): boolean {
  const v = o[k];
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw new GatewayConfigError(`'${where}.${k}' must be true or false`);
  return v;
}

function optInt(o: Raw, k: string, where: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[k];
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new GatewayConfigError(`'${where}.${k}' must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function path(o: Raw, k: string, where: string, baseDir: string): string | null {
  const p = optStr(o, k, where);
  return p === null ? null : isAbsolute(p) ? p : resolve(baseDir, p);
}

function tlsVersion(o: Raw, where: string, dflt: "TLSv1.2" | "TLSv1.3"): "TLSv1.2" | "TLSv1.3" {
  const v = o.minVersion;
  if (v === undefined) return dflt;
  if (v !== "TLSv1.2" && v !== "TLSv1.3") throw new GatewayConfigError(`'${where}.minVersion' must be TLSv1.2 or TLSv1.3`);
  return v;
}

function identity(o: Raw, where: string, baseDir: string): TlsIdentity {
  const id = {
    cert: path(o, "cert", where, baseDir),
    key: path(o, "key", where, baseDir),
    ca: path(o, "ca", where, baseDir),
    passphrase: optStr(o, "passphrase", where),
  };
  if ((id.cert === null) !== (id.key === null)) throw new GatewayConfigError(`'${where}': cert and key go together`);
  return id;
}

/** Validates a listener's `tls` block (paths resolved against baseDir). */
export function parseTlsServer(raw: unknown, where: string, baseDir: string): TlsServerSettings {
  const o = obj(raw, where);
  known(o, where, ["cert", "key", "ca", "passphrase", "verifyClient", "requireClientCert", "sni", "minVersion", "ciphers", "handshakeTimeoutMs"]);
  const id = identity(o, where, baseDir);
  if (!id.cert) throw new GatewayConfigError(`'${where}.cert' and '${where}.key' are required on a TLS listener`);
  const sni: Record<string, TlsIdentity> = {};
  if (o.sni !== undefined) {
    for (const [name, v] of Object.entries(obj(o.sni, `${where}.sni`))) {
      const s = obj(v, `${where}.sni.${name}`);
      known(s, `${where}.sni.${name}`, ["cert", "key", "ca", "passphrase"]);
      const sid = identity(s, `${where}.sni.${name}`, baseDir);
      if (!sid.cert) throw new GatewayConfigError(`'${where}.sni.${name}' needs cert and key`);
      sni[name.toLowerCase()] = sid;
    }
  }
  const verifyClient = optBool(o, "verifyClient", where, false);
  const requireClientCert = optBool(o, "requireClientCert", where, verifyClient);
  if ((verifyClient || requireClientCert) && !id.ca) throw new GatewayConfigError(`'${where}.ca' is needed to verify client certificates`);
  return {
    ...id,
    verifyClient,
    requireClientCert,
    sni,
    minVersion: tlsVersion(o, where, "TLSv1.2"),
    ciphers: optStr(o, "ciphers", where),
    handshakeTimeoutMs: optInt(o, "handshakeTimeoutMs", where, DEFAULT_TLS_GLOBAL.handshakeTimeoutMs, 100),
  };
}

function parseClientProfile(raw: unknown, where: string, baseDir: string, needMatch: boolean): TlsClientProfile {
  const o = obj(raw, where);
  known(o, where, ["match", "cert", "key", "ca", "passphrase", "verifyServer", "serverName", "minVersion"]);
  const match = optStr(o, "match", where);
  if (needMatch && !match) throw new GatewayConfigError(`'${where}.match' is required (host, host:port or ip:port)`);
  return {
    ...identity(o, where, baseDir),
    match: match ? match.toLowerCase() : null,
    verifyServer: optBool(o, "verifyServer", where, true),
    serverName: optStr(o, "serverName", where),
    minVersion: tlsVersion(o, where, "TLSv1.2"),
  };
}

/** Validates the top-level `tls` block. */
export function parseTlsGlobal(raw: unknown, baseDir: string): TlsGlobalSettings {
  const o = obj(raw, "tls");
  known(o, "tls", ["client", "destinations", "handshakeTimeoutMs", "watch", "watchIntervalMs", "reloadOnSighup"]);
  const dests = o.destinations === undefined ? [] : o.destinations;
  if (!Array.isArray(dests)) throw new GatewayConfigError("'tls.destinations' must be an array");
  return {
    client: o.client === undefined ? DEFAULT_TLS_CLIENT : parseClientProfile(o.client, "tls.client", baseDir, false),
    destinations: dests.map((d, i) => parseClientProfile(d, `tls.destinations[${i}]`, baseDir, true)),
    handshakeTimeoutMs: optInt(o, "handshakeTimeoutMs", "tls", DEFAULT_TLS_GLOBAL.handshakeTimeoutMs, 100),
    watch: optBool(o, "watch", "tls", false),
    watchIntervalMs: optInt(o, "watchIntervalMs", "tls", DEFAULT_TLS_GLOBAL.watchIntervalMs, 50),
    reloadOnSighup: optBool(o, "reloadOnSighup", "tls", false),
  };
}

/** Validates a `ws` block (top level or per listener); missing keys come from `base`. */
export function parseWs(raw: unknown, where: string, base: WsSettings = DEFAULT_WS): WsSettings {
  const o = obj(raw, where);
  known(o, where, ["origins", "requireSipProtocol", "pingIntervalMs", "maxMessageSize", "path"]);
  let origins = base.origins;
  if (o.origins !== undefined) {
    if (o.origins === null) origins = null;
    else {
      if (!Array.isArray(o.origins) || o.origins.some((x) => typeof x !== "string" || x === "")) {
        throw new GatewayConfigError(`'${where}.origins' must be an array of origins (or null for any)`);
      }
      origins = (o.origins as string[]).map((x) => x.toLowerCase());
    }
  }
  return {
    origins,
    requireSipProtocol: optBool(o, "requireSipProtocol", where, base.requireSipProtocol),
    pingIntervalMs: optInt(o, "pingIntervalMs", where, base.pingIntervalMs, 0),
    maxMessageSize: optInt(o, "maxMessageSize", where, base.maxMessageSize, 512, 16 << 20),
    path: o.path === undefined ? base.path : optStr(o, "path", where),
  };
}

/** Validates the top-level `dns` block. */
export function parseDns(raw: unknown): DnsSettings {
  const o = obj(raw, "dns");
  known(o, "dns", ["servers", "naptr", "srvLb", "ipv6", "timeoutMs", "tries", "cacheSize", "minTtlS", "maxTtlS", "negativeTtlS", "failover", "blocklist"]);
  const d = DEFAULT_DNS;
  let servers: string[] = [];
  if (o.servers !== undefined) {
    if (!Array.isArray(o.servers) || o.servers.some((s) => typeof s !== "string" || s === "")) {
      throw new GatewayConfigError("'dns.servers' must be an array of ip or ip:port strings");
    }
    servers = o.servers as string[];
  }
  let blocklist = d.blocklist;
  if (o.blocklist !== undefined) {
    const b = obj(o.blocklist, "dns.blocklist");
    known(b, "dns.blocklist", ["enabled", "expireS", "maxEntries", "on503", "onTimeout"]);
    blocklist = {
      enabled: optBool(b, "enabled", "dns.blocklist", d.blocklist.enabled),
      expireS: optInt(b, "expireS", "dns.blocklist", d.blocklist.expireS, 1),
      maxEntries: optInt(b, "maxEntries", "dns.blocklist", d.blocklist.maxEntries, 1),
      on503: optBool(b, "on503", "dns.blocklist", d.blocklist.on503),
      onTimeout: optBool(b, "onTimeout", "dns.blocklist", d.blocklist.onTimeout),
    };
  }
  const minTtlS = optInt(o, "minTtlS", "dns", d.minTtlS, 0);
  const maxTtlS = optInt(o, "maxTtlS", "dns", d.maxTtlS, 0);
  if (maxTtlS < minTtlS) throw new GatewayConfigError("'dns.maxTtlS' must not be below 'dns.minTtlS'");
  return {
    servers,
    naptr: optBool(o, "naptr", "dns", d.naptr),
    srvLb: optBool(o, "srvLb", "dns", d.srvLb),
    ipv6: optBool(o, "ipv6", "dns", d.ipv6),
    timeoutMs: optInt(o, "timeoutMs", "dns", d.timeoutMs, 10),
    tries: optInt(o, "tries", "dns", d.tries, 1, 10),
    cacheSize: optInt(o, "cacheSize", "dns", d.cacheSize, 0),
    minTtlS,
    maxTtlS,
    negativeTtlS: optInt(o, "negativeTtlS", "dns", d.negativeTtlS, 0),
    failover: optBool(o, "failover", "dns", d.failover),
    blocklist,
  };
}
