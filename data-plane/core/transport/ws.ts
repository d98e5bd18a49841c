import http from "node:http";
import https from "node:https";
import type net from "node:net";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import type { Endpoint } from "../../../lib/sip/types.js";
import type { Connection, StreamTransport, TransportLayer } from "./transport-layer.js";
import { normAddr } from "./transport-layer.js";
import type { ListenSocket, ListenSpec } from "./listen-socket.js";
import { createLogger } from "../../../lib/log/logger.js";
import { parseTlsServer, parseWs, type WsSettings } from "./gateway-config.js";
import { TlsServerContexts, type TlsClientContexts } from "./tls-context.js";

const log = createLogger("ws");

/** Counters of a WebSocket transport (`ws:*` / `wss:*` statistics). */
export interface WsStats {
  accepted: number;
  connected: number;
  refused_origin: number;
  refused_protocol: number;
  refused_limit: number;
  refused_path: number;
  closed_oversize: number;
  closed_no_pong: number;
  handshake_failures: number;
}

interface WsListener {
  readonly sock: ListenSocket;
  readonly server: http.Server | https.Server;
  readonly wss: WebSocketServer;
  readonly settings: WsSettings;
  readonly contexts: TlsServerContexts | null;
}

/**
 * One SIP-over-WebSocket connection (RFC 7118): every WebSocket message carries exactly one SIP
 * message, sent as a text frame. Outgoing connections queue messages until the socket opens.
 */
export class WsConnection implements Connection {
  readonly createdAt = Date.now();
  lastActivity = Date.now();
  closed = false;
  /** Answered the last ping (keep-alive). */
  alive = true;
  /** Keep-alive interval of the listener (or global settings) this connection belongs to. */
  pingIntervalMs = 0;
  rx = 0;
  tx = 0;
  private queue: Buffer[] | null;

  constructor(
    readonly id: number,
    readonly proto: "ws" | "wss",
    readonly ws: WebSocket,
    readonly local: ListenSocket,
    readonly remote: Endpoint,
    readonly origin: string | null,
    private readonly transport: WsTransport,
    open: boolean,
  ) {
    this.queue = open ? null : [];
  }

  send(data: Buffer): boolean {
    if (this.closed) return false;
    this.lastActivity = Date.now();
    this.tx++;
    if (this.queue) this.queue.push(data);
    else this.ws.send(data, { binary: false });
    return true;
  }

  /** The outgoing socket opened: flush what was queued. */
  opened(): void {
    const q = this.queue;
    this.queue = null;
    if (q) for (const d of q) this.ws.send(d, { binary: false });
  }

  close(): void {
    if (this.closed) return;
    this.ws.terminate();
    this.ended();
  }

  /** Called once when the WebSocket is gone. */
  ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.connectionEnded(this);
  }
}

/**
 * WS or WSS listeners and outgoing connections (RFC 7118). The handshake must offer the `sip`
 * subprotocol and come from an allowed Origin; clients are pinged and dropped when silent; a
 * message over the size limit closes the connection (1009). Connections register with the
 * TransportLayer under (proto, address, port), so a request to a WebSocket client — whose Contact
 * is not reachable — goes out on the connection it registered or called from.
 */
export class WsTransport implements StreamTransport {
  readonly listeners: WsListener[] = [];
  readonly stats: WsStats = {
    accepted: 0,
    connected: 0,
    refused_origin: 0,
    refused_protocol: 0,
    refused_limit: 0,
    refused_path: 0,
    closed_oversize: 0,
    closed_no_pong: 0,
    handshake_failures: 0,
  };
  /** One keep-alive timer per distinct ping interval (listeners may override the global one). */
  private readonly pingTimers = new Map<number, NodeJS.Timeout>();
  private readonly conns = new Set<WsConnection>();
  /** Told when an outgoing connection closes before it opened (the core fails its branches). */
  onConnectFailed: ((dest: Endpoint) => void) | null = null;

  constructor(
    readonly proto: "ws" | "wss",
    private readonly layer: TransportLayer,
    readonly settings: WsSettings,
    private readonly clientTls: TlsClientContexts | null,
    private readonly baseDir: string,
  ) {
  }

  async listen(spec: ListenSpec, sock: ListenSocket): Promise<void> {
    const settings = spec.ws ? parseWs(spec.ws, `listen ${sock.id} ws`, this.settings) : this.settings;
    let contexts: TlsServerContexts | null = null;
    let server: http.Server | https.Server;
    if (this.proto === "wss") {
      if (!spec.tls) throw new Error(`listen ${sock.id}: a wss listener needs a 'tls' block with cert and key`);
      const ts = parseTlsServer(spec.tls, `listen ${sock.id} tls`, this.baseDir);
      const ctx = new TlsServerContexts(ts, `listen ${sock.id}`);
      ctx.load();
      contexts = ctx;
      server = https.createServer({
        ...ctx.defaultOptions,
        requestCert: ts.verifyClient || ts.requireClientCert,
        rejectUnauthorized: ts.requireClientCert,
        handshakeTimeout: ts.handshakeTimeoutMs,
        SNICallback: (name, cb) => cb(null, ctx.select(name) ?? undefined),
      });
      server.on("tlsClientError", (_e: Error, s: tls.TLSSocket) => {
        this.stats.handshake_failures++;
        s.destroy();
      });
    } else {
      server = http.createServer();
    }
    // plain HTTP requests get 426: only the SIP WebSocket upgrade is served here
    server.on("request", (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(426, { Upgrade: "websocket", Connection: "close", "Content-Length": "0" }).end();
    });
    // hard cap on raw sockets; a little headroom so upgrades over the SIP connection limit get a
    // clear 503 from onUpgrade instead of a silent close
    server.maxConnections = this.layer.tcp.maxConnections + 64;
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: settings.maxMessageSize,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has("sip") ? "sip" : false),
    });
    const lst: WsListener = { sock, server, wss, settings, contexts };
    server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(lst, req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: sock.address, port: sock.boundPort, ipv6Only: sock.family === 6, reusePort: this.layer.sharedSockets }, () => {
        server.off("error", reject);
        sock.boundPort = (server.address() as net.AddressInfo).port;
        server.on("error", (e) => log.warn("ws server error", { socket: sock.id, error: e.message }));
        resolve();
      });
    });
    this.listeners.push(lst);
  }

  private onUpgrade(lst: WsListener, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const s = lst.settings;
    if (s.path !== null && (req.url ?? "/").split("?")[0] !== s.path) {
      this.stats.refused_path++;
      return refuse(socket, 404, "Not Found");
    }
    const origin = typeof req.headers.origin === "string" ? req.headers.origin.toLowerCase() : null;
    if (!originAllowed(s.origins, origin)) {
      this.stats.refused_origin++;
      log.info("websocket origin refused", { socket: lst.sock.id, origin });
      return refuse(socket, 403, "Forbidden");
    }
    const offered = String(req.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((p) => p.trim().toLowerCase());
    if (s.requireSipProtocol && !offered.includes("sip")) {
      this.stats.refused_protocol++;
      return refuse(socket, 400, "Bad Request (subprotocol sip required)");
    }
    if (this.layer.connectionCount() >= this.layer.tcp.maxConnections) {
      this.stats.refused_limit++;
      return refuse(socket, 503, "Service Unavailable");
    }
    if (this.layer.sourceOverLimit(normAddr(req.socket.remoteAddress ?? ""))) {
      this.stats.refused_limit++;
      return refuse(socket, 503, "Service Unavailable");
    }
    lst.wss.handleUpgrade(req, socket, head, (ws) => {
      const remote: Endpoint = { proto: this.proto, address: normAddr(req.socket.remoteAddress ?? ""), port: req.socket.remotePort ?? 0 };
      const conn = new WsConnection(this.layer.allocConnId(), this.proto, ws, lst.sock, remote, origin, this, true);
      this.stats.accepted++;
      this.attach(conn, lst.settings.pingIntervalMs);
      this.layer.trackInbound(conn);
    });
  }

  private attach(conn: WsConnection, pingIntervalMs: number): void {
    const ws = conn.ws;
    conn.pingIntervalMs = pingIntervalMs;
    if (pingIntervalMs > 0 && !this.pingTimers.has(pingIntervalMs)) {
      const t = setInterval(() => this.pingAll(pingIntervalMs), pingIntervalMs);
      t.unref();
      this.pingTimers.set(pingIntervalMs, t);
    }
    this.conns.add(conn);
    this.layer.addConnection(conn);
    ws.on("message", (data: RawData) => {
      conn.lastActivity = Date.now();
      conn.alive = true;
      conn.rx++;
      this.layer.stats.tcpRx++;
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.layer.deliver(buf, conn.remote, conn.local, conn);
    });
    ws.on("pong", () => {
      // a peer that answers pings is alive: the idle sweep (tcp idleTimeoutMs) must not close it
      conn.alive = true;
      conn.lastActivity = Date.now();
    });
    ws.on("error", (e: Error & { code?: string }) => {
      if (e.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") this.stats.closed_oversize++;
      log.debug("websocket error", { id: conn.id, remote: `${conn.remote.address}:${conn.remote.port}`, error: e.message });
    });
    ws.on("close", () => conn.ended());
  }

  connectionEnded(conn: WsConnection): void {
    this.conns.delete(conn);
    this.layer.connectionClosed(conn);
  }

  /**
   * Opens a WebSocket to a SIP server that listens for WS/WSS (e.g. `sip:host:port;transport=ws`).
   * WebSocket clients (browsers) cannot be connected to: requests to them reuse their connection.
   */
  connect(dest: Endpoint, from: ListenSocket): Connection | null {
    if (this.layer.connectionCount() >= this.layer.tcp.maxConnections) return null;
    const host = isIP(dest.address) === 6 ? `[${dest.address}]` : dest.address;
    const url = `${this.proto}://${host}:${dest.port}/`;
    let opts: ConstructorParameters<typeof WebSocket>[2] = { maxPayload: this.settings.maxMessageSize, perMessageDeflate: false, handshakeTimeout: 10_000 };
    if (this.proto === "wss" && this.clientTls) {
      const profile = this.clientTls.profileFor(dest.address, dest.port, null);
      opts = {
        ...opts,
        secureContext: this.clientTls.context(profile),
        rejectUnauthorized: profile.verifyServer,
        servername: profile.serverName ?? undefined,
        checkServerIdentity: profile.verifyServer ? (h: string, c: tls.PeerCertificate) => tls.checkServerIdentity(profile.serverName ?? h, c) : () => undefined,
      } as unknown as typeof opts;
    }
    const ws = new WebSocket(url, "sip", opts);
    const conn = new WsConnection(this.layer.allocConnId(), this.proto, ws, from, dest, null, this, false);
    let open = false;
    ws.once("open", () => {
      open = true;
      this.stats.connected++;
      conn.opened();
    });
    ws.once("close", () => {
      if (!open) {
        this.stats.handshake_failures++;
        log.warn("websocket connection to next hop failed", { url });
        this.onConnectFailed?.(dest);
      }
    });
    this.attach(conn, this.settings.pingIntervalMs);
    return conn;
  }

  private pingAll(interval: number): void {
    for (const c of this.conns) {
      if (c.pingIntervalMs !== interval || c.ws.readyState !== WebSocket.OPEN) continue;
      if (!c.alive) {
        this.stats.closed_no_pong++;
        log.info("websocket peer did not answer ping; closing", { id: c.id, remote: `${c.remote.address}:${c.remote.port}` });
        c.close();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  /** Reloads the certificates of WSS listeners; returns the errors (old certificates stay on error). */
  reload(): string[] {
    const errors: string[] = [];
    for (const l of this.listeners) {
      if (!l.contexts) continue;
      try {
        l.contexts.load();
        (l.server as https.Server).setSecureContext(l.contexts.defaultOptions);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    return errors;
  }

  files(): string[] {
    return this.listeners.flatMap((l) => l.contexts?.files() ?? []);
  }

  connections(): WsConnection[] {
    return [...this.conns];
  }

  async close(): Promise<void> {
    for (const t of this.pingTimers.values()) clearInterval(t);
    this.pingTimers.clear();
    for (const c of [...this.conns]) c.close();
    for (const l of this.listeners) {
      l.wss.close();
      const closed = new Promise<void>((r) => l.server.close(() => r()));
      l.server.closeAllConnections();
      await closed;
    }
    this.listeners.length = 0;
  }
}

/** Origin allow-list check: exact origin, `*.suffix` host wildcard, or `*`; null list = any. */
export function originAllowed(list: readonly string[] | null, origin: string | null): boolean {
  if (list === null) return true;
  if (origin === null) return false;
  let host = "";
  try {
    host = new URL(origin).hostname.toLowerCase();
  } catch {
    host = "";
  }
  for (const e of list) {
    if (e === "*" || e === origin) return true;
    if (e.startsWith("*.") && host && host.endsWith(e.slice(1))) return true;
  }
  return false;
}

function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  setTimeout(() => socket.destroy(), 1000).unref();
}
