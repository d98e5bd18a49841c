import {
  JSONRPCServer,
  createJSONRPCErrorResponse,
  createJSONRPCSuccessResponse,
  type JSONRPCID,
  type JSONRPCRequest,
  type JSONRPCResponse,
} from "json-rpc-2.0";
import { createLogger, type Logger } from "../log/logger.js";
import { RpcCode, RpcError } from "./errors.js";
import type { RpcCallInfo, RpcRegistry } from "./registry.js";

/**
 * JSON-RPC 2.0 dispatch shared by every transport (HTTP /RPC, /ws, the jsonrpcs FIFO and the
 * unix datagram socket): one `JSONRPCServer` (json-rpc-2.0) whose middleware sends every method to
 * the RpcRegistry, so methods registered later by the core or modules are served without touching
 * the servers. Envelopes are checked here first (the library trusts them), batches are handled
 * per the spec (always an array back, notifications omitted, empty batch = Invalid Request), and
 * every failure becomes an error object with the RpcError's stable code and message.
 *
 * @example
 *   const d = new JsonRpcDispatcher({ registry });
 *   const reply = await d.handleText('{"jsonrpc":"2.0","method":"core.uptime","id":1}', { info: { transport: "http" } });
 */
export interface CallContext {
  readonly info: RpcCallInfo;
}

export type JsonRpcReply = JSONRPCResponse | JSONRPCResponse[] | null;

export interface JsonRpcDispatcherOptions {
  readonly registry: RpcRegistry;
  readonly log?: Logger;
  /** Most requests accepted in one batch (default 100). */
  readonly maxBatch?: number;
}

export class JsonRpcDispatcher {
  readonly server: JSONRPCServer<CallContext>;
  private readonly log: Logger;
  private readonly maxBatch: number;

  constructor(opts: JsonRpcDispatcherOptions) {
    this.log = opts.log ?? createLogger("rpc");
    this.maxBatch = opts.maxBatch ?? 100;
    const log = this.log;
    this.server = new JSONRPCServer<CallContext>({
      // the library would console.warn every thrown error; ours never reach it, but be safe
      errorListener: (message, data) => log.warn(message, { error: data instanceof Error ? data.message : String(data) }),
    });
    const registry = opts.registry;
    this.server.applyMiddleware(async (_next, request, ctx) => {
      try {
        const result = await registry.call(request.method, request.params, ctx.info);
        return request.id === undefined ? null : createJSONRPCSuccessResponse(request.id, result === undefined ? null : result);
      } catch (e) {
        const err = RpcError.from(e);
        if (err.code === RpcCode.ServerError || err.code === RpcCode.InternalError) {
          log.warn("rpc method failed", { method: request.method, transport: ctx.info.transport, error: err.message });
        } else {
          log.debug("rpc error", { method: request.method, code: err.code, error: err.message });
        }
        if (request.id === undefined) return null;
        return createJSONRPCErrorResponse(request.id, err.code, err.message, err.data);
      }
    });
  }

  /** Parses and dispatches one request text (single or batch). */
  handleText(text: string, ctx: CallContext): Promise<JsonRpcReply> {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (e) {
      return Promise.resolve(parseError(e));
    }
    return this.handleParsed(payload, ctx);
  }

  /** Dispatches an already parsed payload. Never rejects. */
  async handleParsed(payload: unknown, ctx: CallContext): Promise<JsonRpcReply> {
    if (!Array.isArray(payload)) return this.handleOne(payload, ctx);
    if (payload.length === 0) return invalidRequest(null, "empty batch");
    if (payload.length > this.maxBatch) {
      return invalidRequest(null, `batch of ${payload.length} requests exceeds the limit of ${this.maxBatch}`);
    }
    const replies = await Promise.all(payload.map((p) => this.handleOne(p, ctx)));
    const out = replies.filter((r): r is JSONRPCResponse => r !== null);
    return out.length ? out : null;
  }

  private async handleOne(p: unknown, ctx: CallContext): Promise<JSONRPCResponse | null> {
    const bad = checkEnvelope(p);
    if (bad) return bad;
    try {
      return await this.server.receive(p as JSONRPCRequest, ctx);
    } catch (e) {
      // the middleware never throws; this guards against library surprises
      const id = (p as { id?: JSONRPCID }).id;
      return id === undefined ? null : createJSONRPCErrorResponse(id, RpcCode.InternalError, e instanceof Error ? e.message : String(e));
    }
  }
}

/** The JSON-RPC "Parse error" reply (id null) for text that is not JSON. */
export function parseError(e: unknown): JSONRPCResponse {
  const why = e instanceof Error ? e.message : String(e);
  return createJSONRPCErrorResponse(null, RpcCode.ParseError, `Parse error: ${why}`);
}

/** A JSON-RPC "Invalid Request" reply. */
export function invalidRequest(id: JSONRPCID, why: string): JSONRPCResponse {
  return createJSONRPCErrorResponse(id, RpcCode.InvalidRequest, `Invalid Request: ${why}`);
}

function checkEnvelope(p: unknown): JSONRPCResponse | null {
  if (typeof p !== "object" || p === null || Array.isArray(p)) return invalidRequest(null, "expected a request object");
  const r = p as Record<string, unknown>;
  const idOk = r.id === undefined || r.id === null || typeof r.id === "string" || typeof r.id === "number";
  if (!idOk) return invalidRequest(null, "id must be a string, a number or null");
  const id = (r.id ?? null) as JSONRPCID;
  if (r.jsonrpc !== "2.0") return invalidRequest(id, `"jsonrpc" must be "2.0"`);
  if (typeof r.method !== "string" || r.method === "") return invalidRequest(id, `"method" must be a non-empty string`);
  if ("result" in r || "error" in r) return invalidRequest(id, "a request carries no result or error");
  return null;
}
