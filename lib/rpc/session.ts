/**
 * A long-lived RPC connection (today: one WebSocket on /ws). Handlers reach it through
 * `RpcCallInfo.session`, which is how `events.subscribe` attaches a stream to the caller and how a
 * handler can call the client back (JSON-RPC works both ways on /ws). One-shot transports (HTTP,
 * XML-RPC, FIFO, datagram) have no session. Kamailio has no equivalent; evapi is the closest.
 *
 * @example
 *   handler: (_a, call) => { call.session?.notify("hello", { at: Date.now() }); return "ok"; }
 */
export interface RpcSession {
  /** Unique per server, for logs and stats. */
  readonly id: number;
  /** Peer address "ip:port". */
  readonly remote: string;
  /** Sends a JSON-RPC notification to the client. Dropped silently once the socket is closed. */
  notify(method: string, params?: unknown): void;
  /** Calls a method the client exposes; rejects with RpcError on error, timeout or close. */
  request(method: string, params?: unknown, timeoutMs?: number): Promise<unknown>;
  /** Runs `fn` after the reply to the current call has been written (keeps replies before pushes). */
  afterReply(fn: () => void): void;
  /** Event stream control for this connection (see event-stream.ts). */
  readonly events: SessionEvents;
}

/** Result of `events.subscribe`, Kamailio-free Olelo shape. */
export interface SubscribeResult {
  /** The bus sequence number at subscription time: live events start after it. */
  readonly seq: number;
  /** Events after `since` that the ring buffer had already overwritten (lost for good). */
  readonly missed: number;
  /** Buffered events after `since` queued for replay before the live stream. */
  readonly replayed: number;
}

export interface SessionEvents {
  subscribe(kinds: readonly string[] | null, since: number | undefined): SubscribeResult;
  /** Returns false when there was no subscription. */
  unsubscribe(): boolean;
}
