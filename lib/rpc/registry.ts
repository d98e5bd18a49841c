import { RpcCode, RpcError } from "./errors.js";
import type { RpcSession } from "./session.js";

/**
 * One RPC method, described once: name, doc, parameters and handler. system.listMethods,
 * system.methodHelp, olectl's help and the README table are all generated from these descriptors.
 *
 * Parameters arrive positionally (Kamailio style: `["1", "sip:a"]`) or by name
 * (`{ "group": 1, "address": "sip:a" }`); the registry maps both to one typed object and checks
 * types before the handler runs. Kamailio's tools send every value as a string, so "int" accepts
 * numeric strings and "bool" accepts 0/1/"yes"/"no"/"true"/"false".
 *
 * @example
 *   rpc.register({ name: "core.echo", doc: "Returns its argument", params: [{ name: "text", type: "string" }],
 *                  handler: ({ text }) => text });
 */
export type RpcParamType = "string" | "int" | "number" | "bool" | "object" | "array" | "any";

export interface RpcParam {
  readonly name: string;
  readonly type: RpcParamType;
  readonly optional?: boolean;
  readonly doc?: string;
  /** Allowed values (for strings). */
  readonly enum?: readonly string[];
  /** Collects this and every following positional value into an array (printf-style tails). */
  readonly rest?: boolean;
}

export interface RpcCallInfo {
  /** "http" | "ws" | "xmlrpc" | "fifo" | "dgram" | "internal" */
  readonly transport: string;
  readonly remote?: string;
  /**
   * The long-lived connection the call arrived on (WebSocket only): lets a handler notify or call
   * back the client and attach an event subscription. Absent on one-shot transports.
   */
  readonly session?: RpcSession;
}

export interface RpcMethod {
  readonly name: string;
  readonly doc: string;
  readonly params: readonly RpcParam[];
  /** Example result shape, shown by methodHelp (optional). */
  readonly returns?: string;
  handler(args: Record<string, unknown>, call: RpcCallInfo): unknown;
}

export class RpcRegistry {
  private readonly methods = new Map<string, RpcMethod>();

  register(m: RpcMethod): void {
    if (this.methods.has(m.name)) throw new Error(`RPC method ${m.name} registered twice`);
    this.methods.set(m.name, m);
  }

  registerAll(ms: readonly RpcMethod[]): void {
    for (const m of ms) this.register(m);
  }

  unregister(name: string): void {
    this.methods.delete(name);
  }

  get(name: string): RpcMethod | undefined {
    return this.methods.get(name);
  }

  list(): RpcMethod[] {
    return [...this.methods.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Human help text for one method (system.methodHelp). */
  help(name: string): string {
    const m = this.methods.get(name);
    if (!m) throw new RpcError(RpcCode.MethodNotFound, `method '${name}' not found`);
    return formatHelp(m);
  }

  /** Validates params and calls the handler. Always returns a promise; throws RpcError. */
  async call(name: string, params: unknown, info: RpcCallInfo): Promise<unknown> {
    const m = this.methods.get(name);
    if (!m) throw new RpcError(RpcCode.MethodNotFound, `method '${name}' not found`);
    const args = bindParams(m, params);
    try {
      return await m.handler(args, info);
    } catch (e) {
      throw RpcError.from(e);
    }
  }
}

export function formatSignature(m: RpcMethod): string {
  const ps = m.params.map((p) => {
    const s = `${p.name}:${p.type}${p.rest ? "..." : ""}`;
    return p.optional ? `[${s}]` : s;
  });
  return `${m.name}(${ps.join(", ")})`;
}

export function formatHelp(m: RpcMethod): string {
  const lines = [formatSignature(m), m.doc];
  for (const p of m.params) {
    const en = p.enum ? ` (one of: ${p.enum.join(", ")})` : "";
    lines.push(`  ${p.name}: ${p.type}${p.optional ? ", optional" : ""}${p.doc ? " — " + p.doc : ""}${en}`);
  }
  if (m.returns) lines.push(`returns: ${m.returns}`);
  return lines.join("\n");
}

/** Maps positional or named params onto the descriptor; throws RpcError naming the bad param. */
export function bindParams(m: RpcMethod, params: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (params === undefined || params === null) params = [];
  if (Array.isArray(params)) {
    const restIdx = m.params.findIndex((p) => p.rest);
    const fixed = restIdx >= 0 ? restIdx : m.params.length;
    if (restIdx < 0 && params.length > m.params.length) {
      throw new RpcError(
        RpcCode.InvalidParams,
        `too many parameters for ${m.name}: got ${params.length}, takes at most ${m.params.length}`,
      );
    }
    for (let i = 0; i < fixed; i++) {
      const p = m.params[i]!;
      if (i < params.length) out[p.name] = coerce(p, params[i]);
    }
    if (restIdx >= 0) {
      const p = m.params[restIdx]!;
      out[p.name] = params.slice(restIdx).map((v) => coerce(p, v));
    }
  } else if (typeof params === "object") {
    const obj = params as Record<string, unknown>;
    const known = new Set(m.params.map((p) => p.name));
    for (const k of Object.keys(obj)) {
      if (!known.has(k)) throw new RpcError(RpcCode.InvalidParams, `unknown parameter '${k}' for ${m.name}`, { param: k });
    }
    for (const p of m.params) {
      if (obj[p.name] === undefined) continue;
      out[p.name] = p.rest
        ? (Array.isArray(obj[p.name]) ? (obj[p.name] as unknown[]) : [obj[p.name]]).map((v) => coerce(p, v))
        : coerce(p, obj[p.name]);
    }
  } else {
    throw new RpcError(RpcCode.InvalidParams, `params must be an array or an object`);
  }
  for (const p of m.params) {
    if (!p.optional && !p.rest && out[p.name] === undefined) {
      throw new RpcError(RpcCode.InvalidParams, `missing parameter '${p.name}' for ${m.name}`, { param: p.name });
    }
  }
  return out;
}

function coerce(p: RpcParam, v: unknown): unknown {
  const bad = (why: string) => RpcError.invalidParam(p.name, why);
  switch (p.type) {
    case "string": {
      if (typeof v === "number" || typeof v === "boolean") v = String(v);
      if (typeof v !== "string") throw bad(`expected a string`);
      if (p.enum && !p.enum.includes(v)) throw bad(`expected one of ${p.enum.join(", ")}, got '${v}'`);
      return v;
    }
    case "int": {
      let n: number;
      if (typeof v === "number") n = v;
      else if (typeof v === "string" && /^\s*[-+]?(0x[0-9a-f]+|\d+)\s*$/i.test(v)) n = Number(v.trim());
      else if (typeof v === "string" && /^i:[-+]?\d+$/.test(v)) n = Number(v.slice(2));
      else throw bad(`expected an integer, got ${JSON.stringify(v)}`);
      if (!Number.isSafeInteger(n)) throw bad(`expected an integer, got ${JSON.stringify(v)}`);
      return n;
    }
    case "number": {
      const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
      if (typeof n !== "number" || !Number.isFinite(n)) throw bad(`expected a number, got ${JSON.stringify(v)}`);
      return n;
    }
    case "bool": {
      if (typeof v === "boolean") return v;
      if (v === 1 || v === "1" || v === "yes" || v === "true" || v === "on") return true;
      if (v === 0 || v === "0" || v === "no" || v === "false" || v === "off") return false;
      throw bad(`expected a boolean, got ${JSON.stringify(v)}`);
    }
    case "object":
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(`expected an object`);
      return v;
    case "array":
      if (!Array.isArray(v)) throw bad(`expected an array`);
      return v;
    default:
      return v;
  }
}
