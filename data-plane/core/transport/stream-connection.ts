import type net from "node:net";
import type { Endpoint } from "../../../lib/sip/types.js";
import { TcpConnection, type TransportLayer } from "./transport-layer.js";
import type { ListenSocket } from "./listen-socket.js";

/**
 * A SIP-over-TLS connection (RFC 3261 §26.2 / RFC 5630): TCP framing (TcpConnection) plus what
 * TLS adds — whether the handshake completed, the SNI name, why it failed before it was usable,
 * and a callback when it ends (the TLS transport reports failed outgoing handshakes to the core).
 */
export class SecureStreamConnection extends TcpConnection {
  established = false;
  /** SNI name the peer asked for (server side) or we sent (client side). */
  serverName: string | null = null;
  /** Set when the connection ended before it was usable (handshake/verification failure). */
  failure: string | null = null;

  constructor(
    id: number,
    socket: net.Socket,
    local: ListenSocket,
    remote: Endpoint,
    maxMessageSize: number,
    layer: TransportLayer,
    private readonly onEnd: ((c: SecureStreamConnection) => void) | null = null,
  ) {
    super(id, socket, local, remote, maxMessageSize, layer, "tls");
    socket.on("error", (e) => {
      if (!this.established) this.failure ??= e.message;
    });
  }

  protected override onClose(): void {
    const wasClosed = this.closed;
    super.onClose();
    if (!wasClosed) this.onEnd?.(this);
  }
}
