import dgram from "node:dgram";
import net from "node:net";
import { isIP } from "node:net";
import type { Endpoint, TransportProto } from "../../../lib/sip/types.js";
import { createLogger } from "../../../lib/log/logger.js";
import { ListenSocket, type ListenSpec } from "./listen-socket.js";
import { StreamFramer } from "./stream-framer.js";
import { bindUdp, isReply } from "./udp-bind.js";

const log = createLogger("transport");

/** A message handed to the core: bytes, where they came from and on which socket. */
export type InboundHandler = (data: Buffer, src: Endpoint, sock: ListenSocket, conn: Connection | null) => void;

export interface TcpOptions {
  /** Close a connection idle for this long (ms). */
  idleTimeoutMs: number;
  maxConnections: number;
  maxMessageSize: number;
  connectTimeoutMs: number;
  /** Accepted TCP/TLS/WS connections one source address may hold at once (0: no limit). */
  maxConnectionsPerSource?: number;
  /** Close an accepted connection that has not sent one complete SIP message within this (ms; 0: never). */
  firstMessageTimeoutMs?: number;
}

export const DEFAULT_TCP: TcpOptions = {
  idleTimeoutMs: 600_000,
  maxConnections: 4096,
  maxMessageSize: 65535,
  connectTimeoutMs: 10_000,
  maxConnectionsPerSource: 64,
  firstMessageTimeoutMs: 10_000,
};

/** A stream connection (TCP; TLS/WS plug in with the same shape). */
export interface Connection {
  readonly id: number;
  readonly proto: TransportProto;
  readonly remote: Endpoint;
  readonly local: ListenSocket;
  readonly createdAt: number;
  lastActivity: number;
  send(data: Buffer): boolean;
  close(): void;
  readonly closed: boolean;
}

/** What the transport layer asks of the node's connection sharing (conn-share.ts implements it). */
export interface SharedConnections {
  /** An accepted connection (or an alias of it) the other workers may send to. */
  opened(conn: Connection, address: string, port: number): void;
  closed(conn: Connection): void;
  /** Hands data for dest to the worker holding a connection there; false when none does. */
  relay(dest: Endpoint, data: Buffer): boolean;
  readonly stats: Readonly<Record<string, number>>;
}

/**
 * Extra stream transports (TLS, WS, WSS) register here; they deliver frames through the same
 * InboundHandler and give back Connections.
 */
export interface StreamTransport {
  readonly proto: TransportProto;
  listen(spec: ListenSpec, sock: ListenSocket): Promise<void>;
  connect(dest: Endpoint, from: ListenSocket): Connection | null;
  close(): Promise<void>;
}

/**
 * Owns every listen socket and connection. UDP sockets send from the socket the core chooses;
 * stream connections are found by id or by remote address (connection reuse, RFC 3261 §18) and
 * opened on demand.
 */
/** A message tap: `sent` true for outgoing, `local` the Olelo socket, `remote` the peer. */
export type MessageTap = (sent: boolean, data: Buffer, local: ListenSocket, remote: Endpoint) => void;

export class TransportLayer {
  readonly sockets: ListenSocket[] = [];
  private readonly udp = new Map<ListenSocket, dgram.Socket>();
  /** Per-worker egress sockets (sharedSockets): requests leave from them, replies to them come back. */
  private readonly egress = new Map<ListenSocket, dgram.Socket>();
  /**
   * Set before listen() when several workers share the listen ports (core/workers/): listeners bind
   * with SO_REUSEPORT and each UDP listener gets an egress socket of this worker.
   */
  sharedSockets = false;
  /** Workers: the node's connection directory and relay (ConnShare, conn-share.ts); null in one process. */
  share: SharedConnections | null = null;
  private readonly tcpServers = new Map<ListenSocket, net.Server>();
  private readonly conns = new Map<number, Connection>();
  /** remote "proto|ip|port" → connection id (aliases, Kamailio's tcp alias) */
  private readonly aliases = new Map<string, number>();
  private readonly extra = new Map<TransportProto, StreamTransport>();
  private nextConnId = 1;
  /**
   * Told when an outgoing TCP connection closes before it connected (refused, unreachable,
   * connect timeout); the transport gateway passes it to SipCore.connectionFailed so waiting
   * branches fail (and fail over) at once.
   */
  onConnectFailed: ((dest: Endpoint) => void) | null = null;
  /** Message tap (siptrace): called for every received and sent message; null = no cost. */
  tap: MessageTap | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  stats = { udpRx: 0, udpTx: 0, tcpRx: 0, tcpTx: 0, sendErrors: 0, tcpRejected: 0, tcpRejectedPerSource: 0, tcpFirstMessageTimeouts: 0 };
  /** Accepted connections per source address, and the first-message timer of each accepted one. */
  private readonly perSource = new Map<string, number>();
  private readonly inbound = new Map<number, { address: string; timer: NodeJS.Timeout | null }>();
  /** Accepted connections whose first-message timer still runs (deliver() looks them up only then). */
  private armed = 0;

  constructor(
    private readonly onMessage: InboundHandler,
    readonly tcp: TcpOptions = DEFAULT_TCP,
  ) {}

  registerStreamTransport(t: StreamTransport): void {
    this.extra.set(t.proto, t);
  }

  async listen(specs: readonly ListenSpec[]): Promise<void> {
    for (const spec of specs) {
      const sock = new ListenSocket(spec.proto, spec.address, spec.port, spec.advertise ?? null, spec.name ?? null);
      if (spec.proto === "udp") await this.listenUdp(sock);
      else if (spec.proto === "tcp") await this.listenTcp(sock);
      else {
        const t = this.extra.get(spec.proto);
        if (!t) throw new Error(`transport ${spec.proto} is not available (listen ${sock.id})`);
        await t.listen(spec, sock);
      }
      this.sockets.push(sock);
      log.info("listening", { socket: sock.socketString, advertise: spec.advertise ?? undefined });
    }
    if (!this.idleTimer) {
      this.idleTimer = setInterval(() => this.sweepIdle(), Math.min(30_000, Math.max(1000, this.tcp.idleTimeoutMs / 4)));
      this.idleTimer.unref();
    }
  }

  private async listenUdp(sock: ListenSocket): Promise<void> {
    const onMsg = (data: Buffer, rinfo: dgram.RemoteInfo): void => {
      this.stats.udpRx++;
      if (this.tap) this.tap(false, data, sock, { proto: "udp", address: rinfo.address, port: rinfo.port });
      this.onMessage(data, { proto: "udp", address: rinfo.address, port: rinfo.port }, sock, null);
    };
    const onErr = (e: Error): void => {
      this.stats.sendErrors++;
      log.debug("udp socket error", { socket: sock.id, error: e.message });
    };
    const s = await bindUdp(sock.family, sock.address, sock.boundPort, this.sharedSockets, onMsg, onErr);
    sock.boundPort = s.address().port;
    this.udp.set(sock, s);
    if (this.sharedSockets) {
      // workers: requests leave from this worker's own port (named in Via), so replies come back here
      const eg = await bindUdp(sock.family, sock.address, 0, false, onMsg, onErr);
      sock.egressPort = eg.address().port;
      this.egress.set(sock, eg);
    }
  }

  private listenTcp(sock: ListenSocket): Promise<void> {
    const server = net.createServer({ noDelay: true }, (socket) => this.acceptTcp(sock, socket));
    server.maxConnections = this.tcp.maxConnections;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: sock.address, port: sock.boundPort, ipv6Only: sock.family === 6, reusePort: this.sharedSockets }, () => {
        server.off("error", reject);
        sock.boundPort = (server.address() as net.AddressInfo).port;
        server.on("error", (e) => log.warn("tcp server error", { socket: sock.id, error: e.message }));
        server.on("drop", () => this.stats.tcpRejected++);
        this.tcpServers.set(sock, server);
        resolve();
      });
    });
  }

  /** Set by the core: drops a new connection from a banned source before any byte is read. */
  acceptFilter: ((src: Endpoint) => boolean) | null = null;

  private acceptTcp(local: ListenSocket, socket: net.Socket): void {
    const ra = normAddr(socket.remoteAddress ?? "");
    if (this.acceptFilter && this.acceptFilter({ proto: "tcp", address: ra, port: socket.remotePort ?? 0 })) {
      socket.destroy();
      return;
    }
    if (this.conns.size >= this.tcp.maxConnections) {
      this.stats.tcpRejected++;
      socket.destroy();
      return;
    }
    if (this.sourceOverLimit(ra)) {
      socket.destroy();
      return;
    }
    const remote: Endpoint = { proto: "tcp", address: ra, port: socket.remotePort ?? 0 };
    this.trackInbound(this.attachTcp(socket, local, remote));
  }

  /**
   * True (and counted) when `address` already holds `maxConnectionsPerSource` accepted connections;
   * TLS and WS listeners ask before the handshake / upgrade.
   */
  sourceOverLimit(address: string): boolean {
    const max = this.tcp.maxConnectionsPerSource ?? 0;
    if (max <= 0 || (this.perSource.get(address) ?? 0) < max) return false;
    this.stats.tcpRejectedPerSource++;
    return true;
  }

  /** Counts an accepted connection against its source and arms its first-message timer. */
  trackInbound(conn: Connection): void {
    const address = conn.remote.address;
    this.perSource.set(address, (this.perSource.get(address) ?? 0) + 1);
    const ms = this.tcp.firstMessageTimeoutMs ?? 0;
    let timer: NodeJS.Timeout | null = null;
    if (ms > 0) {
      timer = setTimeout(() => {
        this.stats.tcpFirstMessageTimeouts++;
        log.info("closing connection that sent no complete message", { proto: conn.proto, remote: `${address}:${conn.remote.port}`, ms });
        conn.close();
      }, ms);
      timer.unref();
      this.armed++;
    }
    this.inbound.set(conn.id, { address, timer });
    // workers: the other workers reach an accepted connection through this one (conn-share.ts)
    this.share?.opened(conn, address, conn.remote.port);
  }

  private untrackInbound(id: number): void {
    const t = this.inbound.get(id);
    if (t === undefined) return;
    if (t.timer) {
      clearTimeout(t.timer);
      this.armed--;
    }
    this.inbound.delete(id);
    const n = (this.perSource.get(t.address) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(t.address);
    else this.perSource.set(t.address, n);
  }

  private attachTcp(socket: net.Socket, local: ListenSocket, remote: Endpoint): TcpConnection {
    const conn = new TcpConnection(this.nextConnId++, socket, local, remote, this.tcp.maxMessageSize, this);
    this.conns.set(conn.id, conn);
    this.aliases.set(aliasKey("tcp", remote.address, remote.port), conn.id);
    return conn;
  }

  /** Registers a connection made by an extra transport (TLS/WS) so it can be found for replies. */
  addConnection(conn: Connection): void {
    this.conns.set(conn.id, conn);
    this.aliases.set(aliasKey(conn.proto, conn.remote.address, conn.remote.port), conn.id);
  }

  allocConnId(): number {
    return this.nextConnId++;
  }

  /** Called by connections when they close. */
  connectionClosed(conn: Connection): void {
    this.conns.delete(conn.id);
    this.untrackInbound(conn.id);
    this.share?.closed(conn);
    const k = aliasKey(conn.proto, conn.remote.address, conn.remote.port);
    if (this.aliases.get(k) === conn.id) this.aliases.delete(k);
    for (const [key, id] of this.aliases) if (id === conn.id) this.aliases.delete(key);
  }

  /** Adds an alias (e.g. the Via sent-by of requests on this connection) so later sends reuse it. */
  alias(conn: Connection, address: string, port: number): void {
    this.aliases.set(aliasKey(conn.proto, address, port), conn.id);
    if (this.inbound.has(conn.id)) this.share?.opened(conn, address, port);
  }

  deliver(data: Buffer, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    if (this.tap) this.tap(false, data, sock, src);
    if (conn !== null && this.armed > 0) {
      const t = this.inbound.get(conn.id);
      if (t?.timer) {
        clearTimeout(t.timer);
        t.timer = null;
        this.armed--;
      }
    }
    this.onMessage(data, src, sock, conn);
  }

  /** A message another worker received for this one (a reply to its transaction, conn-share.ts). */
  deliverRelayed(data: Buffer, src: Endpoint, sock: ListenSocket): void {
    this.onMessage(data, src, sock, null);
  }

  connection(id: number): Connection | undefined {
    return this.conns.get(id);
  }

  findConnection(proto: TransportProto, address: string, port: number): Connection | undefined {
    const id = this.aliases.get(aliasKey(proto, address, port));
    return id === undefined ? undefined : this.conns.get(id);
  }

  connectionCount(): number {
    return this.conns.size;
  }

  listConnections(): Connection[] {
    return [...this.conns.values()];
  }

  /** Picks the socket to send from: forced id/name, else first of the same proto and family. */
  chooseSocket(proto: TransportProto, family: 4 | 6, forced?: string | null): ListenSocket | null {
    if (forced) {
      const f = this.findSocket(forced);
      if (f && f.proto === proto && f.family === family) return f;
      if (f && f.family === family) {
        // forced socket of another transport (e.g. a dispatcher socket= for a tcp destination):
        // use the listener of the wanted transport on the same address, as Kamailio's find_si does
        let sameAddr: ListenSocket | null = null;
        for (const s of this.sockets) {
          if (s.proto !== proto || s.address !== f.address) continue;
          if (s.boundPort === f.boundPort) return s;
          sameAddr ??= s;
        }
        if (sameAddr) return sameAddr;
      }
      if (f) log.debug("forced socket does not fit the destination; choosing by transport and family", { forced, proto, family });
    }
    let fallback: ListenSocket | null = null;
    for (const s of this.sockets) {
      if (s.proto !== proto) continue;
      if (s.family === family) return s;
      fallback ??= null;
    }
    return fallback;
  }

  /** Finds a listen socket by `proto:ip:port` or by name. */
  findSocket(spec: string): ListenSocket | null {
    for (const s of this.sockets) if (s.name === spec || s.id === spec || s.socketString === spec) return s;
    return null;
  }

  /**
   * Sends bytes. UDP goes from `sock`; streams use `connId` when given and alive, else an existing
   * connection to the destination, else a new one (unless `noConnect`).
   */
  send(sock: ListenSocket, dest: Endpoint, data: Buffer, connId?: number | null, noConnect = false): boolean {
    if (this.tap) this.tap(true, data, sock, dest);
    if (dest.proto === "udp") {
      // a request goes out on the egress socket when there is one; a reply ("SIP/") from the listener
      const s = (this.egress.size > 0 && !isReply(data) && this.egress.get(sock)) || this.udp.get(sock);
      if (!s) return false;
      this.stats.udpTx++;
      // no per-send callback: cheaper; send errors surface as the socket's "error" event
      s.send(data, dest.port, dest.address);
      return true;
    }
    let conn: Connection | undefined;
    if (connId) conn = this.conns.get(connId);
    if (!conn || conn.closed) conn = this.findConnection(dest.proto, dest.address, dest.port);
    if (!conn || conn.closed) {
      // workers: a connection another worker holds gets the bytes through that worker
      if (this.share !== null && this.share.relay(dest, data)) return true;
      if (noConnect) return false;
      const c = this.connect(dest, sock);
      if (!c) return false;
      conn = c;
    }
    return conn.send(data);
  }

  private connect(dest: Endpoint, from: ListenSocket): Connection | null {
    if (this.conns.size >= this.tcp.maxConnections) return null;
    if (dest.proto === "tcp") {
      const socket = net.connect({
        host: dest.address,
        port: dest.port,
        localAddress: from.proto === "tcp" ? from.address : undefined,
        noDelay: true,
        family: isIP(dest.address) || undefined,
      });
      socket.setTimeout(this.tcp.connectTimeoutMs, () => {
        if (socket.connecting) socket.destroy(new Error("connect timeout"));
      });
      let connected = false;
      socket.once("connect", () => {
        connected = true;
        socket.setTimeout(0);
      });
      socket.once("close", () => {
        if (!connected) this.onConnectFailed?.(dest);
      });
      return this.attachTcp(socket, from, dest);
    }
    const t = this.extra.get(dest.proto);
    return t ? t.connect(dest, from) : null;
  }

  private sweepIdle(): void {
    const now = Date.now();
    for (const c of this.conns.values()) {
      if (now - c.lastActivity > this.tcp.idleTimeoutMs) c.close();
    }
  }

  async close(): Promise<void> {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = null;
    for (const c of [...this.conns.values()]) c.close();
    for (const s of [...this.udp.values(), ...this.egress.values()]) await new Promise<void>((r) => s.close(() => r()));
    this.egress.clear();
    for (const srv of this.tcpServers.values()) await new Promise<void>((r) => srv.close(() => r()));
    for (const t of this.extra.values()) await t.close();
    this.udp.clear();
    this.tcpServers.clear();
  }
}

function aliasKey(proto: string, address: string, port: number): string {
  return `${proto}|${address}|${port}`;
}

/** Strips the IPv4-mapped prefix (::ffff:1.2.3.4 → 1.2.3.4). */
export function normAddr(a: string): string {
  return a.startsWith("::ffff:") && a.indexOf(".") > 0 ? a.slice(7) : a;
}

const CRLF = Buffer.from("\r\n");

/**
 * A SIP connection over a byte stream: plain TCP here, TLS through the TLS transport's subclass
 * (same framing: Content-Length, RFC 5626 CRLF keep-alives).
 */
export class TcpConnection implements Connection {
  readonly createdAt = Date.now();
  lastActivity = Date.now();
  closed = false;
  private readonly framer: StreamFramer;

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    readonly local: ListenSocket,
    readonly remote: Endpoint,
    maxMessageSize: number,
    private readonly layer: TransportLayer,
    readonly proto: "tcp" | "tls" = "tcp",
  ) {
    this.framer = new StreamFramer(maxMessageSize);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (e) => log.debug("stream connection error", { id, proto, remote: `${remote.address}:${remote.port}`, error: e.message }));
    socket.on("close", () => this.onClose());
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    for (const ev of this.framer.push(chunk)) {
      if (ev.kind === "message") {
        this.layer.stats.tcpRx++;
        this.layer.deliver(ev.data, this.remote, this.local, this);
      } else if (ev.kind === "ping") {
        this.socket.write(CRLF);
      } else if (ev.kind === "error") {
        log.info("closing stream connection", { id: this.id, proto: this.proto, remote: `${this.remote.address}:${this.remote.port}`, reason: ev.reason });
        this.close();
        return;
      }
    }
  }

  send(data: Buffer): boolean {
    if (this.closed) return false;
    this.lastActivity = Date.now();
    this.layer.stats.tcpTx++;
    this.socket.write(data);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.onClose();
  }

  protected onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.layer.connectionClosed(this);
  }
}
