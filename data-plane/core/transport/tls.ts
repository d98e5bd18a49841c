import { watchFile, unwatchFile, type Stats } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import type { Endpoint } from "../../../lib/sip/types.js";
import type { Connection, StreamTransport, TransportLayer } from "./transport-layer.js";
import { normAddr } from "./transport-layer.js";
import type { ListenSocket, ListenSpec } from "./listen-socket.js";
import { createLogger } from "../../../lib/log/logger.js";
import { parseTlsServer, type TlsGlobalSettings } from "./gateway-config.js";
import { TlsClientContexts, TlsServerContexts } from "./tls-context.js";
import { SecureStreamConnection } from "./stream-connection.js";

const log = createLogger("tls");

/** Counters of the TLS transport (exported as `tls:*` statistics). */
export interface TlsStats {
  accepted: number;
  connected: number;
  handshake_failures: number;
  handshake_timeouts: number;
  verify_failures: number;
  rejected_limit: number;
  reloads: number;
  reload_errors: number;
}

interface TlsListener {
  readonly sock: ListenSocket;
  readonly server: tls.Server;
  readonly contexts: TlsServerContexts;
  /** Accepted TCP sockets still in the handshake (bounded by handshakeTimeoutMs). */
  readonly pending: Set<net.Socket>;
}

/**
 * SIP over TLS (RFC 3261 §26.2, RFC 5630): listeners with their own certificates and SNI
 * certificates, optional client-certificate verification against a CA, outgoing connections that
 * verify the next hop (with per-destination opt-out), a handshake timeout, a connection limit,
 * and hot certificate reload (tls.reload RPC, file watch, SIGHUP).
 */
export class TlsTransport implements StreamTransport {
  readonly proto = "tls" as const;
  readonly listeners: TlsListener[] = [];
  readonly client: TlsClientContexts;
  readonly stats: TlsStats = {
    accepted: 0,
    connected: 0,
    handshake_failures: 0,
    handshake_timeouts: 0,
    verify_failures: 0,
    rejected_limit: 0,
    reloads: 0,
    reload_errors: 0,
  };
  /** "address|port" → host name the address was resolved from (SNI and RFC 5922 name check). */
  private readonly names = new Map<string, string>();
  private watched: string[] = [];
  /** Told when an outgoing connection dies before its handshake completed (the core fails its branches). */
  onConnectFailed: ((dest: Endpoint) => void) | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  private readonly onSighup = () => {
    log.info("SIGHUP: reloading TLS certificates");
    this.reload();
  };

  constructor(
    private readonly layer: TransportLayer,
    readonly settings: TlsGlobalSettings,
    private readonly baseDir: string,
  ) {
    this.client = new TlsClientContexts(settings.client, settings.destinations);
    this.client.load();
    if (settings.reloadOnSighup) process.on("SIGHUP", this.onSighup);
  }

  async listen(spec: ListenSpec, sock: ListenSocket): Promise<void> {
    if (!spec.tls) throw new Error(`listen ${sock.id}: a tls listener needs a 'tls' block with cert and key`);
    const settings = parseTlsServer(spec.tls, `listen ${sock.id} tls`, this.baseDir);
    const contexts = new TlsServerContexts(settings, `listen ${sock.id}`);
    contexts.load();
    const lst: TlsListener = { sock, contexts, pending: new Set(), server: null as unknown as tls.Server };
    const server = tls.createServer({
      ...contexts.defaultOptions,
      requestCert: settings.verifyClient || settings.requireClientCert,
      rejectUnauthorized: settings.requireClientCert,
      handshakeTimeout: settings.handshakeTimeoutMs,
      SNICallback: (name, cb) => cb(null, lst.contexts.select(name) ?? undefined),
    });
    (lst as { server: tls.Server }).server = server;
    server.maxConnections = this.layer.tcp.maxConnections;
    server.on("connection", (raw: net.Socket) => this.onRawConnection(lst, raw));
    server.on("secureConnection", (s: tls.TLSSocket) => this.onSecure(lst, s));
    server.on("tlsClientError", (e: Error & { code?: string }, s: tls.TLSSocket) => {
      if (e.code === "ERR_TLS_HANDSHAKE_TIMEOUT") this.stats.handshake_timeouts++;
      else this.stats.handshake_failures++;
      log.debug("tls handshake failed", { socket: sock.id, error: e.message });
      s.destroy(); // Node leaves a timed-out handshake's socket open
    });
    server.on("drop", () => this.stats.rejected_limit++);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: sock.address, port: sock.boundPort, ipv6Only: sock.family === 6, reusePort: this.layer.sharedSockets }, () => {
        server.off("error", reject);
        sock.boundPort = (server.address() as net.AddressInfo).port;
        server.on("error", (e) => log.warn("tls server error", { socket: sock.id, error: e.message }));
        resolve();
      });
    });
    this.listeners.push(lst);
    this.rewatch();
  }

  /** Plain TCP accepted, handshake not started: enforce the connection limit before any crypto. */
  private onRawConnection(lst: TlsListener, raw: net.Socket): void {
    if (this.layer.connectionCount() + this.pendingHandshakes() >= this.layer.tcp.maxConnections) {
      this.stats.rejected_limit++;
      raw.destroy();
      return;
    }
    if (this.layer.sourceOverLimit(normAddr(raw.remoteAddress ?? ""))) {
      this.stats.rejected_limit++;
      raw.destroy();
      return;
    }
    lst.pending.add(raw);
    raw.once("close", () => lst.pending.delete(raw));
  }

  private pendingHandshakes(): number {
    let n = 0;
    for (const l of this.listeners) n += l.pending.size;
    return n;
  }

  private onSecure(lst: TlsListener, s: tls.TLSSocket): void {
    for (const raw of lst.pending) {
      if (raw.remotePort === s.remotePort && raw.remoteAddress === s.remoteAddress) {
        lst.pending.delete(raw);
        break;
      }
    }
    const settings = lst.contexts.settings;
    if (settings.verifyClient && !s.authorized && hasPeerCert(s)) {
      // a certificate was offered but does not verify against the CA (verify_certificate)
      this.stats.verify_failures++;
      log.info("tls client certificate refused", { socket: lst.sock.id, error: String(s.authorizationError) });
      s.destroy();
      return;
    }
    this.stats.accepted++;
    s.setNoDelay(true);
    const remote: Endpoint = { proto: "tls", address: normAddr(s.remoteAddress ?? ""), port: s.remotePort ?? 0 };
    const conn = new SecureStreamConnection(this.layer.allocConnId(), s, lst.sock, remote, this.layer.tcp.maxMessageSize, this.layer);
    conn.established = true;
    conn.serverName = (s as tls.TLSSocket & { servername?: string | false }).servername || null;
    this.layer.addConnection(conn);
    this.layer.trackInbound(conn);
  }

  /** Remembers that `address:port` was resolved from `name` (used for SNI and the certificate name check). */
  rememberName(address: string, port: number, name: string): void {
    if (this.names.size > 50_000) this.names.clear();
    this.names.set(`${address}|${port}`, name.toLowerCase());
  }

  connect(dest: Endpoint, from: ListenSocket): Connection | null {
    if (this.layer.connectionCount() >= this.layer.tcp.maxConnections) return null;
    const name = this.names.get(`${dest.address}|${dest.port}`) ?? null;
    const profile = this.client.profileFor(dest.address, dest.port, name);
    const serverName = profile.serverName ?? name ?? (net.isIP(dest.address) ? null : dest.address);
    // localAddress is passed through to net.connect (not in the ConnectionOptions typing)
    const socket = tls.connect({
      host: dest.address,
      port: dest.port,
      ...({ localAddress: from.proto === "tls" && !isWildcard(from.address) ? from.address : undefined } as object),
      secureContext: this.client.context(profile),
      servername: serverName ?? undefined,
      rejectUnauthorized: profile.verifyServer,
      checkServerIdentity: profile.verifyServer
        ? (host, cert) => tls.checkServerIdentity(serverName ?? host, cert)
        : () => undefined,
    });
    socket.setNoDelay(true);
    socket.setTimeout(this.settings.handshakeTimeoutMs, () => {
      if (!conn.established) socket.destroy(new Error("tls connect/handshake timeout"));
    });
    const conn = new SecureStreamConnection(this.layer.allocConnId(), socket, from, dest, this.layer.tcp.maxMessageSize, this.layer, (c) => {
      if (!c.established) {
        this.stats.handshake_failures++;
        log.warn("tls connection to next hop failed", { dest: `${dest.address}:${dest.port}`, serverName, error: c.failure ?? "closed" });
        this.onConnectFailed?.(dest);
      }
    });
    conn.serverName = serverName;
    socket.once("secureConnect", () => {
      socket.setTimeout(0);
      conn.established = true;
      this.stats.connected++;
    });
    this.layer.addConnection(conn);
    return conn;
  }

  /**
   * [tls.reload] re-reads every certificate, key and CA file. New connections use the new
   * material; open ones keep theirs. A listener whose files fail keeps its old certificates.
   */
  reload(): { reloaded: number; errors: string[] } {
    const errors: string[] = [];
    let reloaded = 0;
    for (const l of this.listeners) {
      try {
        l.contexts.load();
        l.server.setSecureContext(l.contexts.defaultOptions);
        reloaded++;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    try {
      this.client.load();
      reloaded++;
    } catch (e) {
      errors.push((e as Error).message);
    }
    this.stats.reloads++;
    if (errors.length) {
      this.stats.reload_errors++;
      log.warn("tls reload had errors; affected profiles keep their old certificates", { errors });
    } else log.info("tls certificates reloaded", { profiles: reloaded });
    return { reloaded, errors };
  }

  /** Every file behind the certificates (listeners and client profiles). */
  files(): string[] {
    return [...new Set([...this.listeners.flatMap((l) => l.contexts.files()), ...this.client.files()])];
  }

  private rewatch(): void {
    if (!this.settings.watch) return;
    for (const f of this.watched) unwatchFile(f, this.onFileChange);
    this.watched = this.files();
    for (const f of this.watched) watchFile(f, { interval: this.settings.watchIntervalMs, persistent: false }, this.onFileChange);
  }

  private readonly onFileChange = (cur: Stats, prev: Stats): void => {
    if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size) return;
    // a certificate and its key are usually replaced together: wait for both
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.reload();
    }, 100);
    this.reloadTimer.unref();
  };

  /** Open TLS connections (tls.list). */
  connections(): SecureStreamConnection[] {
    const out: SecureStreamConnection[] = [];
    for (const c of this.layer.listConnections()) if (c instanceof SecureStreamConnection) out.push(c);
    return out;
  }

  async close(): Promise<void> {
    if (this.settings.reloadOnSighup) process.off("SIGHUP", this.onSighup);
    for (const f of this.watched) unwatchFile(f, this.onFileChange);
    this.watched = [];
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    for (const l of this.listeners) {
      for (const raw of l.pending) raw.destroy();
      await new Promise<void>((r) => l.server.close(() => r()));
    }
    this.listeners.length = 0;
  }
}

function hasPeerCert(s: tls.TLSSocket): boolean {
  const c = s.getPeerCertificate();
  return c !== null && typeof c === "object" && Object.keys(c).length > 0;
}

function isWildcard(a: string): boolean {
  return a === "0.0.0.0" || a === "::";
}
