import { JSONRPCClient, JSONRPCErrorException, JSONRPCServerAndClient, isJSONRPCResponse, type JSONRPCResponse } from "json-rpc-2.0";
import { WebSocket, type RawData } from "ws";
import type { EventBus } from "../events/bus.js";
import type { Logger } from "../../../lib/log/logger.js";
import { RpcCode, RpcError } from "../../../lib/rpc/errors.js";
import { EventSubscription, type EventStreamOptions } from "./event-stream.js";
import { parseError, type JsonRpcDispatcher } from "../../../lib/rpc/json-rpc.js";
import type { RpcSession, SessionEvents, SubscribeResult } from "../../../lib/rpc/session.js";

/**
 * One /ws connection: JSON-RPC 2.0 in both directions (json-rpc-2.0's JSONRPCServerAndClient —
 * the client sends requests and notifications, the server may call methods the client exposes)
 * plus at most one event subscription with per-client backpressure (event-stream.ts).
 *
 * @example
 *   wss.on("connection", (ws, req) => new WsSession(ws, remoteOf(req), deps));
 */
export interface WsSessionDeps {
  readonly id: number;
  readonly dispatcher: JsonRpcDispatcher;
  readonly bus?: EventBus;
  readonly stream: EventStreamOptions;
  readonly log: Logger;
  /** Default timeout for server → client requests (ms). */
  readonly requestTimeoutMs: number;
  onClose(s: WsSession): void;
}

export class WsSession implements RpcSession {
  readonly id: number;
  alive = true;
  private readonly rpc: JSONRPCServerAndClient<unknown, void>;
  private subscription: EventSubscription | null = null;
  private pendingAfterReply: Array<() => void> = [];
  readonly events: SessionEvents;

  constructor(
    private readonly ws: WebSocket,
    readonly remote: string,
    private readonly deps: WsSessionDeps,
  ) {
    this.id = deps.id;
    const log = deps.log;
    const client = new JSONRPCClient<void>((payload) => {
      this.sendText(JSON.stringify(payload));
    });
    // the server half is unused for dispatch (JsonRpcDispatcher checks envelopes first) but the
    // pair keeps the library's id bookkeeping for server → client calls
    this.rpc = new JSONRPCServerAndClient(deps.dispatcher.server as never, client, {
      errorListener: (message, data) => log.debug(message, { session: this.id, data: String(data) }),
    });
    this.events = {
      subscribe: (kinds, since) => this.subscribe(kinds, since),
      unsubscribe: () => this.unsubscribe(),
    };
    ws.on("message", (data: RawData, isBinary: boolean) => {
      void this.onMessage(data, isBinary);
    });
    ws.on("pong", () => {
      this.alive = true;
    });
    ws.on("error", (e) => log.debug("ws error", { session: this.id, error: e.message }));
    ws.on("close", () => {
      this.unsubscribe();
      this.rpc.rejectAllPendingRequests("connection closed");
      deps.onClose(this);
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Event-stream counters for this connection (null when not subscribed). */
  streamStats(): EventSubscription["stats"] | null {
    return this.subscription?.stats ?? null;
  }

  notify(method: string, params?: unknown): void {
    if (this.isOpen) this.rpc.notify(method, params, undefined);
  }

  async request(method: string, params?: unknown, timeoutMs = this.deps.requestTimeoutMs): Promise<unknown> {
    if (!this.isOpen) throw new RpcError(RpcCode.Unavailable, "WebSocket connection is closed");
    try {
      return await this.rpc.timeout(timeoutMs).request(method, params ?? [], undefined);
    } catch (e) {
      if (e instanceof JSONRPCErrorException) throw new RpcError(e.code, e.message, e.data);
      throw RpcError.from(e);
    }
  }

  afterReply(fn: () => void): void {
    this.pendingAfterReply.push(fn);
  }

  ping(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    if (this.isOpen) this.ws.ping();
  }

  close(code = 1001, reason = "server shutting down"): void {
    this.unsubscribe();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
  }

  terminate(): void {
    this.unsubscribe();
    this.ws.terminate();
  }

  private subscribe(kinds: readonly string[] | null, since: number | undefined): SubscribeResult {
    if (!this.deps.bus) throw new RpcError(RpcCode.Unavailable, "no event bus configured on this node");
    this.unsubscribe();
    const sub = new EventSubscription(
      this.deps.bus,
      {
        bufferedAmount: () => this.ws.bufferedAmount,
        sendText: (t) => this.sendText(t),
        isOpen: () => this.isOpen,
        close: (code, reason) => {
          this.deps.log.warn("dropping slow event consumer", { session: this.id, remote: this.remote });
          // the close frame may never get through a clogged socket: terminate after a grace period
          this.ws.close(code, reason);
          setTimeout(() => this.ws.terminate(), 1000).unref();
        },
      },
      kinds,
      this.deps.stream,
    );
    this.subscription = sub;
    const res = sub.start(since);
    this.afterReply(() => sub.release());
    return res;
  }

  private unsubscribe(): boolean {
    const had = this.subscription !== null;
    this.subscription?.close();
    this.subscription = null;
    return had;
  }

  private sendText(text: string): void {
    if (this.isOpen) this.ws.send(text);
  }

  private async onMessage(data: RawData, isBinary: boolean): Promise<void> {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const text = buf.toString("utf8");
    let payload: unknown;
    try {
      if (isBinary && text.length === 0) throw new Error("empty binary frame");
      payload = JSON.parse(text);
    } catch (e) {
      this.sendText(JSON.stringify(parseError(e)));
      return;
    }
    if (isResponsePayload(payload)) {
      this.rpc.client.receive(payload);
      return;
    }
    const reply = await this.deps.dispatcher.handleParsed(payload, {
      info: { transport: "ws", remote: this.remote, session: this },
    });
    if (reply) this.sendText(JSON.stringify(reply));
    const after = this.pendingAfterReply;
    this.pendingAfterReply = [];
    for (const fn of after) fn();
  }
}

/** A reply (or batch of replies) from the client to a server → client request. */
function isResponsePayload(p: unknown): p is JSONRPCResponse | JSONRPCResponse[] {
  const one = (x: unknown) => typeof x === "object" && x !== null && !Array.isArray(x) && isJSONRPCResponse(x);
  if (Array.isArray(p)) return p.length > 0 && p.every(one);
  return one(p);
}
