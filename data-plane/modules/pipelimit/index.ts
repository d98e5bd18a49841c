import { defineModule, type RequestContext, type TableSink } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import { compilePlPipes, type PipeDefinition } from "../../../tables/pl-pipes/pl-pipes-table.js";
import { tableNamesOf } from "../../../tables/kinds.js";
import { parsePorts, startPipeEngine } from "./engine.js";
import { pipelimitParams, type PipelimitParams } from "./params.js";
import type { PipeTable, PlCheckResult } from "./pipe-table.js";
import { PL_RPCS, pipeRpcMethods } from "./rpc.js";

export type { PlCheckResult } from "./pipe-table.js";

/**
 * The pipelimit script API (Kamailio pipelimit).
 *
 * @example
 *   // per-source INVITE limit, created on demand (Kamailio's README example)
 *   if (req.method === "INVITE" && pipelimit.checkLimit(`src:${req.source.address}`, "TAILDROP", 10) < 0) {
 *     pipelimit.drop(req, 5); // 503 Server Unavailable, Retry-After: 5
 *     return;
 *   }
 */
export interface PipelimitApi {
  /** [pl_check(name)] 1 accept, -1 drop, -2 no such pipe (and no template for it), 2 NOP pipe. */
  check(name: string): PlCheckResult;
  /** [pl_check(name, algorithm, limit)] creates the pipe when missing; an existing pipe takes limit when > 0. */
  checkLimit(name: string, algorithm: string, limit: number): PlCheckResult;
  /** [pl_active(name)] 1 when the pipe exists, -1 when not. */
  active(name: string): 1 | -1;
  /**
   * Olelo: keyed pipes without a table — pipes named `<prefix>…` are created on demand by
   * check(name) with this algorithm and limit (a pl_pipes template `<prefix>*` takes precedence);
   * `pl.set_pipe <prefix>* ALG LIMIT` changes it and its pipes. False for an unknown algorithm.
   */
  defineTemplate(prefix: string, algorithm: string, limit: number): boolean;
  /**
   * [pl_drop([min[, max]])] replies reply_code/reply_reason (503 Server Unavailable); with `max`
   * only: Retry-After: max; with both: a random value in min..max. Returns whether it was sent.
   */
  drop(req: RequestContext, min?: number, max?: number): boolean;
  /** How pipes are counted now: "redis", "fallback" (Redis down) or "local" (no Redis configured). */
  fleetMode(): "redis" | "fallback" | "local";
  /** The pipes (tests, other modules through this API). */
  readonly table: PipeTable;
}

const instances = new LiveInstances<PipelimitApi>();

/** Retry-After value of pl_drop(min, max) (Kamailio: min..max inclusive). */
export function retryAfter(min?: number, max?: number, rnd: () => number = Math.random): number | null {
  if (min === undefined && max === undefined) return null;
  const lo = min ?? max!;
  const hi = max ?? lo;
  if (hi <= lo) return lo;
  return lo + Math.floor(rnd() * (hi - lo + 1));
}

/** pipelimit: Kamailio's traffic pipes (TAILDROP, RED, NETWORK, FEEDBACK), counted fleet-wide through Redis. */
export default defineModule<PipelimitApi, PipelimitParams>({
  name: "pipelimit",
  doc: "Traffic limiting pipes (Kamailio pipelimit), counted fleet-wide through Redis",
  params: pipelimitParams,
  rpc: PL_RPCS,
  stats: { group: "pipelimit", counters: ["accepted", "dropped", "redis_errors", "pipes", "fleet_shared"] },
  tables: ["pl_pipes"],
  init(host) {
    const p = host.config;
    const stats = host.stats.group("pipelimit", ["accepted", "dropped", "redis_errors"]);
    const engine = startPipeEngine({
      intervalS: p.timer_interval,
      cleanUnused: p.clean_unused,
      keyedIdle: p.keyed_idle,
      maxPipes: p.max_pipes,
      loadFetch: p.load_fetch === 1,
      networkPorts: parsePorts(p.network_ports),
      redis: p.redis_url ? { url: p.redis_url, prefix: p.redis_prefix, flushMs: p.flush_interval_ms, timeoutMs: p.redis_timeout_ms, fixedNodes: p.fleet_nodes } : null,
      nodeId: host.events.node,
      log: host.log,
      onRedisError: () => stats.inc("redis_errors"),
    });
    const table = engine.table;
    stats.gauge("pipes", () => table.pipes.size);
    stats.gauge("fleet_shared", () => (engine.fleet?.up ? 1 : 0));
    host.rpc.registerAll(pipeRpcMethods(table, "pl", () => engine.fleetStatus()));
    const sink: TableSink<PipeDefinition[]> = {
      kind: "pl_pipes",
      tables: tableNamesOf("pl_pipes"),
      compile: (set) => compilePlPipes(set, "pl_pipes"),
      apply: (defs) => table.applyDefinitions(defs),
    };
    host.tables.register(sink);
    const count = (r: PlCheckResult): PlCheckResult => {
      if (r === -1) stats.inc("dropped");
      else if (r === 1) stats.inc("accepted");
      return r;
    };
    const api: PipelimitApi = {
      check: (name) => count(table.check(name)),
      checkLimit: (name, alg, limit) => count(table.checkLimit(name, alg, limit)),
      active: (name) => table.active(name),
      defineTemplate: (prefix, alg, limit) => table.defineTemplate(prefix, alg, limit),
      drop(req, min, max) {
        const ra = retryAfter(min, max);
        return req.reply(p.reply_code, p.reply_reason, ra === null ? undefined : { headers: [["Retry-After", String(ra)]] });
      },
      fleetMode: () => engine.fleetStatus().mode,
      table,
    };
    instances.add(api, () => engine.stop());
    return api;
  },
  destroy(api) {
    return instances.destroy(api);
  },
});
