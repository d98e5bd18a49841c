import type net from "node:net";
import type { Endpoint } from "../sip/types.js";
import type { Connection, TransportLayer } from "./transport-layer.js";
import type { ListenSocket } from "./listen-socket.js";
import { StreamFramer } from "./stream-framer.js";
import { createLogger } from "../log/logger.js";

const log = createLogger("transport");
const CRLF = Buffer.from("\r\n");

/**
 * A SIP connection over a byte stream other than plain TCP (TLS, RFC 3261 §26.2 / RFC 5630):
 * the same framing as TCP (Content-Length, RFC 5626 CRLF keep-alives), registered with the
 * TransportLayer so replies and requests find it by id or by (proto, address, port) alias.
 * `established` turns true after the handshake; writes before that are queued by the socket.
 */
export class SecureStreamConnection implements Connection {
  readonly createdAt = Date.now();
  lastActivity = Date.now();
  closed = false;
  established = false;
  /** SNI name the peer asked for (server side) or we sent (client side). */
  serverName: string | null = null;
  /** Set when the connection ended before it was usable (handshake/verification failure). */
  failure: string | null = null;
  rx = 0;
  tx = 0;
  private readonly framer: StreamFramer;

  constructor(
    readonly id: number,
    readonly proto: "tls",
    readonly socket: net.Socket,
    readonly local: ListenSocket,
    readonly remote: Endpoint,
    maxMessageSize: number,
    private readonly layer: TransportLayer,
    private readonly onEnd: ((c: SecureStreamConnection) => void) | null = null,
  ) {
    this.framer = new StreamFramer(maxMessageSize);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (e) => {
      if (!this.established) this.failure ??= e.message;
      log.debug("tls connection error", { id, remote: `${remote.address}:${remote.port}`, error: e.message });
    });
    socket.on("close", () => this.onClose());
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    for (const ev of this.framer.push(chunk)) {
      if (ev.kind === "message") {
        this.rx++;
        this.layer.stats.tcpRx++;
        this.layer.deliver(ev.data, this.remote, this.local, this);
      } else if (ev.kind === "ping") {
        this.socket.write(CRLF);
      } else if (ev.kind === "error") {
        log.info("closing tls connection", { id: this.id, remote: `${this.remote.address}:${this.remote.port}`, reason: ev.reason });
        this.close();
        return;
      }
    }
  }

  send(data: Buffer): boolean {
    if (this.closed) return false;
    this.lastActivity = Date.now();
    this.tx++;
    this.layer.stats.tcpTx++;
    this.socket.write(data);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.onClose();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.layer.connectionClosed(this);
    this.onEnd?.(this);
  }
}
