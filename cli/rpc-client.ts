import { JSONRPCClient, JSONRPCServer, JSONRPCServerAndClient } from "json-rpc-2.0";
import { request as httpsRequest } from "node:https";
import { WebSocket } from "ws";

/**
 * olectl's transport: JSON-RPC 2.0 over HTTP POST (data plane /RPC, control plane /RPC), and
 * the data plane's /ws stream for `olectl events`. Every failure becomes a CliError carrying a
 * one-line message (connection refused, HTTP 401, JSON-RPC error with its code).
 *
 * @example
 *   const dp = new RpcClient("http://127.0.0.1:8060/RPC", { token, timeoutMs: 10_000, label: "data plane" });
 *   await dp.call("core.uptime");
 */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    /** 2 = usage error, 1 = runtime error */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

export interface RpcClientOptions {
  readonly token?: string;
  readonly timeoutMs: number;
  /** "data plane" / "control plane", used in messages. */
  readonly label: string;
  /** Where the token comes from, for the 401 message (default "--token or OLELO_TOKEN"). */
  readonly tokenHint?: string;
  /** CA certificates (PEM) trusted for an https URL, besides the system ones (--ca FILE). */
  readonly ca?: Buffer;
}

/** POST over node:https with an own CA (global fetch takes no CA); same shape as the fetch path needs. */
function postWithCa(url: string, headers: Record<string, string>, body: string, ca: Buffer, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: "POST", headers: { ...headers, "content-length": String(Buffer.byteLength(body)) }, ca, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { name: "TimeoutError" })));
    req.on("error", reject);
    req.end(body);
  });
}

let nextId = 1;

export class RpcClient {
  constructor(
    readonly url: string,
    private readonly opts: RpcClientOptions,
  ) {}

  async call(method: string, params?: unknown[] | Record<string, unknown>): Promise<unknown> {
    const id = nextId++;
    const headers = { "Content-Type": "application/json", ...(this.opts.token ? { Authorization: `Bearer ${this.opts.token}` } : {}) };
    const payload = JSON.stringify({ jsonrpc: "2.0", method, params: params ?? [], id });
    let res: { status: number; ok: boolean };
    let text: string;
    try {
      if (this.opts.ca && this.url.startsWith("https:")) {
        const r = await postWithCa(this.url, headers, payload, this.opts.ca, this.opts.timeoutMs);
        res = { status: r.status, ok: r.status >= 200 && r.status < 300 };
        text = r.text;
      } else {
        const f = await fetch(this.url, { method: "POST", headers, body: payload, signal: AbortSignal.timeout(this.opts.timeoutMs) });
        res = f;
        text = await f.text();
      }
    } catch (e) {
      throw new CliError(`cannot reach the ${this.opts.label} at ${this.url}: ${describeFetchError(e)}`);
    }
    if (res.status === 401) throw new CliError(`${this.opts.label} at ${this.url} refused the request: unauthorized (set ${this.opts.tokenHint ?? "--token or OLELO_TOKEN"})`);
    let body: { result?: unknown; error?: { code: number; message: string } };
    try {
      body = JSON.parse(text);
    } catch {
      throw new CliError(`${this.opts.label} at ${this.url} answered HTTP ${res.status} with a non-JSON body`);
    }
    if (body.error) throw new CliError(`${method}: ${body.error.message} (code ${body.error.code})`);
    if (!res.ok) throw new CliError(`${this.opts.label} at ${this.url} answered HTTP ${res.status}`);
    return body.result;
  }
}

function describeFetchError(e: unknown): string {
  if (e instanceof Error && e.name === "TimeoutError") return "timed out";
  const code = (e as { code?: string }).code;
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) return `TLS: ${(e as Error).message} (${code}; pass the CA with --ca FILE)`;
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.message) return cause.message;
  return e instanceof Error ? e.message : String(e);
}

/** The /ws URL next to a /RPC URL (http→ws, https→wss). */
export function wsUrlFor(rpcUrl: string): string {
  const u = new URL(rpcUrl);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = "/ws";
  u.search = "";
  return u.toString();
}

export interface EventFollowOptions {
  readonly url: string;
  readonly token?: string;
  readonly kinds: readonly string[];
  readonly since?: number;
  /** Stop after this many events (default: follow until stopped). */
  readonly count?: number;
  onEvent(ev: { seq: number; kind: string; ts: string; node: string; data: unknown }): void;
  onMissed(m: { missed: number; first: number; last: number }): void;
  onInfo(msg: string): void;
}

/**
 * Follows the event stream; reconnects after a lost connection with `since` = last seq seen, so
 * nothing is skipped silently. Resolves when `count` events arrived or `stop()` was called;
 * rejects (CliError) when the first connection fails.
 */
export function followEvents(o: EventFollowOptions): { done: Promise<void>; stop(): void } {
  let stopped = false;
  let ws: WebSocket | null = null;
  let lastSeq = o.since;
  let seen = 0;
  let connectedOnce = false;
  let finish!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    finish = res;
    fail = rej;
  });
  const stop = () => {
    stopped = true;
    ws?.close();
    finish();
  };

  const connect = () => {
    if (stopped) return;
    const sock = new WebSocket(o.url, { headers: o.token ? { Authorization: `Bearer ${o.token}` } : {} });
    ws = sock;
    const server = new JSONRPCServer({ errorListener: () => {} });
    server.addMethod("event", (p: { seq: number; kind: string; ts: string; node: string; data: unknown }) => {
      lastSeq = p.seq;
      o.onEvent(p);
      if (o.count !== undefined && ++seen >= o.count) stop();
    });
    server.addMethod("events.missed", (p: { missed: number; first: number; last: number }) => {
      lastSeq = p.last;
      o.onMissed(p);
    });
    const rpc = new JSONRPCServerAndClient(
      server,
      new JSONRPCClient(async (req) => {
        sock.send(JSON.stringify(req));
      }),
      { errorListener: () => {} },
    );
    sock.on("message", (d) => {
      try {
        void rpc.receiveAndSend(JSON.parse(d.toString()), undefined, undefined).catch(() => {});
      } catch {
        // ignore malformed frames
      }
    });
    sock.on("unexpected-response", (_req, res) => {
      const msg = res.statusCode === 401 ? "unauthorized (set --token or OLELO_TOKEN)" : `HTTP ${res.statusCode}`;
      stopped = true;
      fail(new CliError(`event stream at ${o.url} refused: ${msg}`));
      sock.terminate();
    });
    sock.on("open", () => {
      connectedOnce = true;
      const params: Record<string, unknown> = {};
      if (o.kinds.length) params.kinds = o.kinds;
      if (lastSeq !== undefined) params.since = lastSeq;
      Promise.resolve(rpc.request("events.subscribe", params, undefined))
        .then((r: { missed: number; replayed: number }) => {
          if (r.missed > 0) o.onMissed({ missed: r.missed, first: (lastSeq ?? 0) + 1, last: (lastSeq ?? 0) + r.missed });
        })
        .catch((e: Error) => {
          stopped = true;
          fail(new CliError(`events.subscribe: ${e.message}`));
          sock.close();
        });
    });
    sock.on("error", (e) => {
      if (!connectedOnce) {
        stopped = true;
        fail(new CliError(`cannot reach the event stream at ${o.url}: ${e.message}`));
      }
    });
    sock.on("close", () => {
      rpc.rejectAllPendingRequests("connection closed");
      if (stopped) return;
      o.onInfo("event stream lost; reconnecting");
      setTimeout(connect, 1000);
    });
  };
  connect();
  return { done, stop };
}
