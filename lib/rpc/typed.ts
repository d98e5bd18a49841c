import type { RpcCallInfo, RpcMethod, RpcParam, RpcParamType } from "./registry.js";

/** The value a parameter of this type has once the registry has checked and coerced it. */
export interface RpcValueOf {
  string: string;
  int: number;
  number: number;
  bool: boolean;
  object: Record<string, unknown>;
  array: unknown[];
  any: unknown;
}

type ValueOf<P extends RpcParam> = P["rest"] extends true
  ? RpcValueOf[P["type"]][]
  : P["enum"] extends readonly (infer E)[]
    ? E
    : RpcValueOf[P["type"]];

/**
 * The handler's argument object for a parameter list: required parameters typed, optional ones
 * `| undefined` — exactly what the registry's `bindParams` hands over, so handlers need no casts.
 */
export type RpcArgs<Ps extends readonly RpcParam[]> = {
  readonly [P in Ps[number] as P["name"]]: P["optional"] extends true ? ValueOf<P> | undefined : ValueOf<P>;
};

/** An RPC method whose handler sees typed parameters (see RpcArgs). */
export interface TypedRpcMethod<Ps extends readonly RpcParam[]> {
  readonly name: string;
  readonly doc: string;
  readonly params: Ps;
  readonly returns?: string;
  handler(args: RpcArgs<Ps>, call: RpcCallInfo): unknown;
}

/**
 * Declares an RPC method with typed parameters. `params` must be written `as const` (or inline,
 * which the `const` type parameter infers literally).
 *
 * @example
 *   defineRpc({ name: "pike.unban", doc: "Lifts a ban", params: [{ name: "ip", type: "string" }],
 *               handler: ({ ip }) => guard.unban(ip) }); // ip: string
 */
export function defineRpc<const Ps extends readonly RpcParam[]>(m: TypedRpcMethod<Ps>): RpcMethod {
  return m as unknown as RpcMethod;
}

export type { RpcParamType };
