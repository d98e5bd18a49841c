import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { EventBus } from "../events/bus.js";
import { createLogger, type Logger } from "../../../lib/log/logger.js";
import { createTokenCheck, isLoopbackHost } from "./auth.js";
import { startDgramTransport, type DgramOptions, type DgramTransport } from "./dgram-transport.js";
import { RpcCode, RpcError } from "../../../lib/rpc/errors.js";
import { registerEventMethods } from "./event-methods.js";
import type { EventStreamOptions } from "./event-stream.js";
import { startFifoTransport, type FifoOptions, type FifoTransport } from "./fifo-transport.js";
import { readBody, BodyTooLargeError } from "../../../lib/rpc/http-body.js";
import { JsonRpcDispatcher } from "../../../lib/rpc/json-rpc.js";
import type { RpcRegistry } from "../../../lib/rpc/registry.js";
import { WsSession } from "./ws-session.js";
import { decodeMethodCall, encodeFault, encodeMethodResponse } from "./xml-rpc.js";

/**
 * The data plane's control API on one node:http server (Kamailio: jsonrpcs + xmlrpc, plus an
 * event stream Kamailio lacks):
 *   POST /RPC   JSON-RPC 2.0 (single, batch, notifications)
 *   POST /RPC2  XML-RPC
 *   GET  /ws    WebSocket: JSON-RPC both ways + `events.subscribe` streams
 * and, optionally, Kamailio's local transports so kamctl/kamcli work unchanged:
 *   fifo   jsonrpcs FIFO (kamctl), dgram  unix datagram socket (kamcli `transport=socket`).
 * All of them dispatch into the same RpcRegistry, so methods registered later (tm.*, modules)
 * appear everywhere at once.
 *
 * With `token`, HTTP and the WebSocket upgrade need `Authorization: Bearer <token>`; binding to a
 * non-loopback address without a token is refused. Bodies are size-limited; malformed JSON/XML
 * gets a parse error, never a crash.
 *
 * @example
 *   const srv = await createControlServer({ registry, events: bus, port: 8060 });
 *   // curl -d '{"jsonrpc":"2.0","method":"core.uptime","id":1}' http://127.0.0.1:8060/RPC
 *   await srv.close();
 */
export interface ControlServerOptions {
  readonly registry: RpcRegistry;
  readonly events?: EventBus;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 8060; 0 picks a free port. */
  readonly port?: number;
  /** Bearer token; required when `host` is not a loopback address. */
  readonly token?: string;
  /** Kamailio jsonrpcs FIFO (path or options). */
  readonly fifo?: string | FifoOptions;
  /** Kamailio jsonrpcs datagram socket: unix path or "udp:IP:PORT". */
  readonly dgram?: string | DgramOptions;
  /** Largest HTTP request body (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Largest JSON-RPC batch (default 100). */
  readonly maxBatch?: number;
  readonly ws?: WsOptions;
  readonly log?: Logger;
  /** Renders GET /metrics (Prometheus text format); absent = no /metrics endpoint. */
  readonly metrics?: () => string | Promise<string>;
  /** GET /ready (200 ready / 503 not, with the checks as JSON); GET /health answers 200 whenever the process serves HTTP. */
  readonly ready?: () => { ready: boolean; checks: Record<string, unknown> };
}

export interface WsOptions extends EventStreamOptions {
  /** Largest incoming WebSocket message (default 1 MiB). */
  readonly maxPayload?: number;
  /** Ping interval; a client that misses one pong is dropped (default 30 s, 0 = off). */
  readonly pingIntervalMs?: number;
  /** Timeout for server → client requests (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Most concurrent WebSocket clients (default 256). */
  readonly maxClients?: number;
}

export interface ControlServer {
  readonly host: string;
  readonly port: number;
  /** http://host:port/RPC */
  readonly url: string;
  readonly fifoPath: string | null;
  readonly dgramPath: string | null;
  readonly dispatcher: JsonRpcDispatcher;
  /** Open WebSocket sessions. */
  sessions(): readonly WsSession[];
  close(): Promise<void>;
}

const JSON_TYPE = "application/json";
const XML_TYPE = "text/xml";

/** The listener part of ControlServerOptions from the configuration's `control` section (null fields: not set). */
export function listenOptionsOf(c: { host: string; port: number; token: string | null; fifo: string | null; dgram: string | null }): Pick<ControlServerOptions, "host" | "port" | "token" | "fifo" | "dgram"> {
  return { host: c.host, port: c.port, token: c.token ?? undefined, fifo: c.fifo ?? undefined, dgram: c.dgram ?? undefined };
}

export async function createControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? createLogger("rpc");
  if (!isLoopbackHost(host) && !opts.token) {
    throw new Error(`control API: refusing to listen on ${host} without a token (set a token or bind to 127.0.0.1)`);
  }
  const registry = opts.registry;
  registerEventMethods(registry, opts.events);
  const dispatcher = new JsonRpcDispatcher({ registry, log, maxBatch: opts.maxBatch });
  const authorized = createTokenCheck(opts.token);
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  const wsOpts = opts.ws ?? {};
  const sessions = new Set<WsSession>();
  let nextSession = 1;

  const http: Server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    handleHttp(req, res).catch((e) => {
      log.error("control API request failed", { error: e instanceof Error ? e.message : String(e) });
      if (!res.headersSent) send(res, 500, JSON_TYPE, jsonError(RpcCode.InternalError, "internal error"));
      else res.destroy();
    });
  });
  http.maxHeadersCount = 64;

  const wss = new WebSocketServer({ noServer: true, maxPayload: wsOpts.maxPayload ?? 1 << 20 });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    const xml = path === "/RPC2";
    if ((path === "/health" || path === "/ready") && req.method === "GET") {
      // probes carry no token: they say whether the process is alive / ready, nothing more
      const r = path === "/ready" && opts.ready ? opts.ready() : { ready: true, checks: {} };
      const body = path === "/health" ? { status: "ok", uptime: Math.round(process.uptime()) } : { ready: r.ready, checks: r.checks };
      send(res, path === "/health" || r.ready ? 200 : 503, "application/json", JSON.stringify(body) + "\n");
      return;
    }
    if (path === "/metrics" && opts.metrics) {
      if (req.method !== "GET") {
        send(res, 405, "text/plain", "use GET\n", { Allow: "GET" });
        return;
      }
      if (!authorized(req)) {
        send(res, 401, "text/plain", "missing or wrong bearer token\n", { "WWW-Authenticate": 'Bearer realm="olelo"' });
        return;
      }
      send(res, 200, "text/plain; version=0.0.4", await opts.metrics()); // send() adds "; charset=utf-8" once
      return;
    }
    if (path !== "/RPC" && !xml) {
      send(res, 404, JSON_TYPE, jsonError(RpcCode.NotFound, `no such endpoint ${path}; use POST /RPC, POST /RPC2 or GET /ws`));
      return;
    }
    const fail = (status: number, code: number, msg: string, headers: Record<string, string> = {}) =>
      send(res, status, xml ? XML_TYPE : JSON_TYPE, xml ? encodeFault(code, msg) : jsonError(code, msg), headers);
    if (req.method !== "POST") {
      fail(405, RpcCode.InvalidRequest, `${req.method} not allowed; use POST`, { Allow: "POST" });
      return;
    }
    if (!authorized(req)) {
      fail(401, RpcCode.Unauthorized, "missing or wrong bearer token", { "WWW-Authenticate": 'Bearer realm="olelo"' });
      return;
    }
    let body: string;
    try {
      body = await readBody(req, maxBody);
    } catch (e) {
      if (e instanceof BodyTooLargeError) {
        fail(413, RpcCode.InvalidRequest, e.message, { Connection: "close" });
        return;
      }
      throw e;
    }
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    if (xml) {
      let out: string;
      try {
        const call = decodeMethodCall(body, { maxChars: maxBody });
        out = encodeMethodResponse(await registry.call(call.method, call.params, { transport: "xmlrpc", remote }));
      } catch (e) {
        const err = RpcError.from(e);
        out = encodeFault(err.code, err.message);
      }
      send(res, 200, XML_TYPE, out);
      return;
    }
    const reply = await dispatcher.handleText(body, { info: { transport: "http", remote } });
    if (reply === null) {
      res.writeHead(204).end();
      return;
    }
    send(res, 200, JSON_TYPE, JSON.stringify(reply));
  }

  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/ws") return rejectUpgrade(socket, 404, "Not Found");
    if (!authorized(req)) return rejectUpgrade(socket, 401, "Unauthorized", 'WWW-Authenticate: Bearer realm="olelo"\r\n');
    if (sessions.size >= (wsOpts.maxClients ?? 256)) return rejectUpgrade(socket, 503, "Service Unavailable");
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const s = new WsSession(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`, {
        id: nextSession++,
        dispatcher,
        bus: opts.events,
        stream: wsOpts,
        log,
        requestTimeoutMs: wsOpts.requestTimeoutMs ?? 10_000,
        onClose: (x) => sessions.delete(x),
      });
      sessions.add(s);
    });
  });
  http.on("clientError", (_e, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(opts.port ?? 8060, host, () => {
      http.off("error", reject);
      resolve();
    });
  });
  const port = (http.address() as { port: number }).port;

  const pingMs = wsOpts.pingIntervalMs ?? 30_000;
  const pinger = pingMs > 0 ? setInterval(() => sessions.forEach((s) => s.ping()), pingMs) : null;
  pinger?.unref();

  let fifo: FifoTransport | null = null;
  let dgram: DgramTransport | null = null;
  try {
    if (opts.fifo) fifo = await startFifoTransport(typeof opts.fifo === "string" ? { path: opts.fifo } : opts.fifo, dispatcher, log);
    if (opts.dgram) dgram = await startDgramTransport(typeof opts.dgram === "string" ? { path: opts.dgram } : opts.dgram, dispatcher, log);
  } catch (e) {
    await fifo?.close();
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
    throw e;
  }
  log.info("control API listening", { url: `http://${fmtHost(host)}:${port}/RPC`, fifo: fifo?.path, dgram: dgram?.path });

  let closing: Promise<void> | null = null;
  return {
    host,
    port,
    url: `http://${fmtHost(host)}:${port}/RPC`,
    fifoPath: fifo?.path ?? null,
    dgramPath: dgram?.path ?? null,
    dispatcher,
    sessions: () => [...sessions],
    close: () =>
      (closing ??= (async () => {
        if (pinger) clearInterval(pinger);
        for (const s of sessions) s.terminate();
        sessions.clear();
        wss.close();
        await fifo?.close();
        await dgram?.close();
        http.closeAllConnections();
        await new Promise((r) => http.close(r));
      })()),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": `${type}; charset=utf-8`, "Content-Length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

function jsonError(code: number, message: string): string {
  return JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } });
}

function rejectUpgrade(socket: Duplex, status: number, reason: string, extra = ""): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${extra}Content-Length: 0\r\n\r\n`);
}

function fmtHost(h: string): string {
  return h.includes(":") ? `[${h}]` : h;
}
