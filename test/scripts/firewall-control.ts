import { WebSocket } from "ws";

/**
 * Test support (not a routing script): the control API as an operator sees it — JSON-RPC over
 * HTTP (`POST /RPC`) and the event stream over WebSocket (`GET /ws`, `events.subscribe`), so the
 * firewall tests check security events and counters through the real sockets.
 */

let ids = 0;

/** One JSON-RPC call over HTTP; throws with the RPC error message on an error reply. */
export async function rpc(baseUrl: string, method: string, params: unknown = []): Promise<unknown> {
  const res = await fetch(`${baseUrl}/RPC`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", method, params, id: ++ids }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.code} ${body.error.message}`);
  return body.result;
}

/** Counters by name (`pike.banned` → 3) from stats.fetchn. */
export async function counters(baseUrl: string, ...groups: string[]): Promise<Record<string, number>> {
  return (await rpc(baseUrl, "stats.fetchn", groups.map((g) => `${g}:`))) as Record<string, number>;
}

/** An event received from the stream. */
export interface StreamEvent {
  readonly seq: number;
  readonly kind: string;
  readonly ts: string;
  readonly node: string;
  readonly data: Record<string, unknown>;
}

/** A WebSocket subscription to the event stream. */
export class EventStream {
  readonly events: StreamEvent[] = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (d) => {
      const m = JSON.parse(d.toString()) as { method?: string; params?: StreamEvent };
      if (m.method === "event" && m.params) {
        this.events.push(m.params);
        for (const w of this.waiters.splice(0)) w();
      }
    });
  }

  /** Opens /ws and subscribes to `kinds` (e.g. ["security.*"]). */
  static async open(baseUrl: string, kinds: string[]): Promise<EventStream> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const s = new EventStream(ws);
    const id = ++ids;
    const reply = new Promise<void>((resolve, reject) => {
      const on = (d: Buffer) => {
        const m = JSON.parse(d.toString()) as { id?: number; error?: { message: string } };
        if (m.id !== id) return;
        ws.off("message", on);
        if (m.error) reject(new Error(m.error.message));
        else resolve();
      };
      ws.on("message", on);
    });
    ws.send(JSON.stringify({ jsonrpc: "2.0", method: "events.subscribe", params: { kinds }, id }));
    await reply;
    return s;
  }

  /** Resolves with the first received event matching `pred` (waits up to `timeoutMs`). */
  async wait(pred: (e: StreamEvent) => boolean, timeoutMs = 5000): Promise<StreamEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event; got ${this.events.map((e) => `${e.kind} ${JSON.stringify(e.data)}`).join(" | ")}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}
