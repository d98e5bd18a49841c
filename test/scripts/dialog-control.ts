/**
 * Test helpers for the dialog/acc tests: JSON-RPC over the data plane's real control API (HTTP
 * POST /RPC) and a WebSocket event stream client (events.subscribe on /ws) built with the `ws`
 * and `json-rpc-2.0` packages, as an external billing consumer would use them.
 */
import { WebSocket } from "ws";
import { JSONRPCClient, JSONRPCServer, JSONRPCServerAndClient } from "json-rpc-2.0";

/** One event as the control API delivers it. */
export interface StreamEvent {
  seq: number;
  kind: string;
  ts: string;
  node: string;
  data: Record<string, any>;
}

/** Calls a method over HTTP JSON-RPC; rejects with the JSON-RPC error object. */
export async function rpc(port: number, method: string, params: unknown = []): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}/RPC`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", method, params, id: 1 }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
  if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code });
  return body.result;
}

/** Polls events.since until `pred` holds for the collected events (or times out). */
export async function eventsSince(port: number, since: number, kinds: string[]): Promise<StreamEvent[]> {
  const r = await rpc(port, "events.since", { since, kinds, limit: 10000 });
  return r.events as StreamEvent[];
}

/** A WebSocket subscriber to the event stream. */
export class EventStream {
  readonly events: StreamEvent[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly ws: WebSocket,
    private readonly peer: JSONRPCServerAndClient,
  ) {}

  static async open(port: number, kinds: string[], since?: number): Promise<EventStream> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const peer = new JSONRPCServerAndClient(
      new JSONRPCServer(),
      new JSONRPCClient((req) => {
        ws.send(JSON.stringify(req));
      }),
    );
    const s = new EventStream(ws, peer);
    peer.addMethod("event", (ev: unknown) => {
      s.events.push(ev as StreamEvent);
      const w = s.waiters;
      s.waiters = [];
      for (const f of w) f();
    });
    peer.addMethod("events.missed", () => undefined);
    ws.on("message", (d) => void peer.receiveAndSend(JSON.parse(d.toString())));
    ws.on("close", () => peer.rejectAllPendingRequests("closed"));
    await peer.request("events.subscribe", since === undefined ? { kinds } : { kinds, since });
    return s;
  }

  /** Resolves once `pred(events)` is true; rejects after `timeoutMs` showing what arrived. */
  async waitFor(pred: (evs: StreamEvent[]) => boolean, timeoutMs = 10000): Promise<StreamEvent[]> {
    const until = Date.now() + timeoutMs;
    while (!pred(this.events)) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for events; got ${this.events.map((e) => `${e.kind}:${e.data.call_id ?? ""}:${e.data.code ?? ""}`).join(", ")}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.events;
  }

  ofKind(kind: string): StreamEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }

  close(): void {
    this.ws.close();
  }
}

/** Waits until `fn` returns a truthy value (polling), or throws after `timeoutMs`. */
export async function until<T>(fn: () => Promise<T> | T, timeoutMs = 10000, what = "condition"): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timeout waiting for ${what} (last: ${JSON.stringify(last)})`);
}
