/**
 * The closed set of RPC error codes. JSON-RPC's own codes for protocol problems, and Kamailio's
 * fault codes (HTTP-like, e.g. 500 "Reload Failed", 404 "Not found") for application outcomes,
 * so that kamcli/kamctl users see the numbers they know.
 */
export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Kamailio fault codes */
  BadRequest: 400,
  Unauthorized: 401,
  /** refused by policy (e.g. a table only the data planes write) */
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  ServerError: 500,
  Unavailable: 503,
} as const;
export type RpcCode = (typeof RpcCode)[keyof typeof RpcCode];

/** An RPC failure with a stable code; `data` may name the offending parameter. */
export class RpcError extends Error {
  override readonly name = "RpcError";
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }

  static invalidParam(param: string, reason: string): RpcError {
    return new RpcError(RpcCode.InvalidParams, `invalid parameter '${param}': ${reason}`, { param });
  }

  /** Normalises anything thrown by a handler into an RpcError, keeping the cause. */
  static from(e: unknown): RpcError {
    if (e instanceof RpcError) return e;
    const err = new RpcError(RpcCode.ServerError, e instanceof Error ? e.message : String(e));
    (err as { cause?: unknown }).cause = e;
    return err;
  }
}
