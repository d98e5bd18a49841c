import { RpcCode, RpcError, defineModule, defineRpc, type RequestContext, type RpcMethod } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import { feedbackRpcMethods, isPipeAlgorithm, startPipeEngine, type PipeTable } from "../pipelimit/api.js";
import { ratelimitParams, type RatelimitParams, type RlQueueParam } from "./params.js";

/**
 * The ratelimit script API (Kamailio ratelimit): numbered pipes (0..31) with per-second limits
 * and method queues, on pipelimit's engine (same algorithms, same fleet counting).
 *
 * @example
 *   if (ratelimit.check(req) < 0) { req.reply(503, "Limiting", { headers: [["Retry-After", "5"]] }); return; }
 */
export interface RatelimitApi {
  /** [rl_check([pipe])] 1 accept, -1 drop (or no queue matches / the pipe is not defined). */
  check(req: RequestContext, pipe?: number): 1 | -1;
  /** [rl_check_pipe(pipe_no)] */
  checkPipe(req: RequestContext, pipe: number): 1 | -1;
  /** "redis", "fallback" (Redis down) or "local". */
  fleetMode(): "redis" | "fallback" | "local";
}

const RPCS = ["rl.stats", "rl.get_pipes", "rl.set_pipe", "rl.set_queue", "rl.get_queues", "rl.set_pid", "rl.get_pid", "rl.push_load", "rl.fleet"];
const instances = new LiveInstances<RatelimitApi>();

/** Per-second limits (as configured) → per-interval limits of the engine (TAILDROP and RED). */
function scaled(algo: string, limit: number, interval: number): number {
  return algo === "TAILDROP" || algo === "RED" ? limit * interval : limit;
}

function rpcMethods(table: PipeTable, perSecond: Map<string, number>, queues: RlQueueParam[], interval: number, fleet: () => Record<string, unknown>): RpcMethod[] {
  const list = () => [...table.pipes.values()].map((p) => ({ p, no: Number(p.name), limit: perSecond.get(p.name) ?? p.limit }));
  return [
    defineRpc({ name: "rl.stats", doc: "Per pipe: last interval's counter, limit (per second) and drop rate (load)", params: [], returns: "[{pipe, last_counter, limit, load}]", handler: () => list().map(({ p, no, limit }) => ({ pipe: no, last_counter: p.lastCounter, limit, load: p.load })) }),
    defineRpc({
      name: "rl.get_pipes",
      doc: "Defined pipes: algorithm, last counter, limit, load and current counter",
      params: [],
      returns: "[{pipe, algorithm, last_counter, limit, load, counter}]",
      handler: () => list().filter(({ p }) => p.algo !== "NOP").map(({ p, no, limit }) => ({ pipe: no, algorithm: p.algo, last_counter: p.lastCounter, limit, load: p.load, counter: p.counter + p.others })),
    }),
    defineRpc({
      name: "rl.set_pipe",
      doc: "Sets a pipe's algorithm and limit (per second)",
      params: [{ name: "pipe_id", type: "int" }, { name: "pipe_algorithm", type: "string" }, { name: "pipe_limit", type: "int" }],
      returns: '"Ok"',
      handler: ({ pipe_id, pipe_algorithm, pipe_limit }) => {
        const no = Number(pipe_id);
        const algo = String(pipe_algorithm);
        const limit = Number(pipe_limit);
        if (!Number.isInteger(no) || no < 0 || no > 31) throw new RpcError(RpcCode.BadRequest, "Invalid pipe number");
        if (!isPipeAlgorithm(algo)) throw new RpcError(RpcCode.BadRequest, "Unknown algorithm");
        if (!table.pipes.has(String(no))) table.checkLimit(String(no), algo, 0), table.reset(String(no));
        const err = table.setPipe(String(no), algo, scaled(algo, limit, interval));
        if (err !== null) throw new RpcError(RpcCode.BadRequest, err);
        perSecond.set(String(no), limit);
        return "Ok";
      },
    }),
    defineRpc({
      name: "rl.set_queue",
      doc: "Sets a queue's method and pipe",
      params: [{ name: "queue_id", type: "int" }, { name: "queue_method", type: "string" }, { name: "pipe_id", type: "int" }],
      returns: '"Ok"',
      handler: ({ queue_id, queue_method, pipe_id }) => {
        const q = Number(queue_id);
        if (!Number.isInteger(q) || q < 0 || q > 31) throw new RpcError(RpcCode.BadRequest, "Invalid queue number");
        queues[q] = { method: String(queue_method).toUpperCase(), pipe: Number(pipe_id) };
        return "Ok";
      },
    }),
    defineRpc({ name: "rl.get_queues", doc: "Defined queues", params: [], returns: "[{queue, method, pipe}]", handler: () => queues.map((q, i) => (q ? { queue: i, method: q.method, pipe: q.pipe } : null)).filter((x) => x !== null) }),
    ...feedbackRpcMethods(table, "rl"),
    defineRpc({ name: "rl.fleet", doc: "Olelo: how pipes are counted (redis / fallback / local)", params: [], returns: "{mode, nodes, redis_errors}", handler: () => fleet() }),
  ];
}

/** ratelimit: Kamailio's numbered pipes and method queues (per-second limits), counted fleet-wide through Redis. */
export default defineModule<RatelimitApi, RatelimitParams>({
  name: "ratelimit",
  doc: "Rate limiting by method queues and numbered pipes (Kamailio ratelimit)",
  params: ratelimitParams,
  rpc: RPCS,
  stats: { group: "ratelimit", counters: ["accepted", "dropped", "redis_errors"] },
  init(host) {
    const p = host.config;
    const stats = host.stats.group("ratelimit", ["accepted", "dropped", "redis_errors"]);
    const engine = startPipeEngine({
      intervalS: p.timer_interval,
      cleanUnused: 0,
      keyedIdle: 1,
      maxPipes: 32,
      loadFetch: true,
      networkPorts: new Set(),
      redis: p.redis_url ? { url: p.redis_url, prefix: p.redis_prefix, flushMs: p.flush_interval_ms, timeoutMs: p.redis_timeout_ms, fixedNodes: p.fleet_nodes } : null,
      nodeId: host.events.node,
      log: host.log,
      onRedisError: () => stats.inc("redis_errors"),
    });
    const table = engine.table;
    const perSecond = new Map<string, number>();
    table.applyDefinitions(p.pipe.map((d) => ({ pipeid: String(d.no), algorithm: d.algo as never, limit: scaled(d.algo, d.limit, p.timer_interval) })));
    for (const d of p.pipe) perSecond.set(String(d.no), d.limit);
    const queues: RlQueueParam[] = [...p.queue];
    host.rpc.registerAll(rpcMethods(table, perSecond, queues, p.timer_interval, () => engine.fleetStatus()));
    const run = (name: string): 1 | -1 => {
      const r = table.check(name);
      const out = r === -1 || r === -2 ? -1 : 1;
      stats.inc(out === 1 ? "accepted" : "dropped");
      return out;
    };
    const api: RatelimitApi = {
      check(req, pipe) {
        if (pipe !== undefined) return api.checkPipe(req, pipe);
        const q = queues.find((x) => x && (x.method === "*" || x.method === req.method));
        if (q === undefined) return -1;
        return table.pipes.has(String(q.pipe)) ? run(String(q.pipe)) : -1;
      },
      checkPipe(_req, pipe) {
        const pp = table.pipes.get(String(pipe));
        if (pp === undefined || pp.algo === "NOP") return -1;
        return run(String(pipe));
      },
      fleetMode: () => engine.fleetStatus().mode,
    };
    instances.add(api, () => engine.stop());
    return api;
  },
  destroy(api) {
    return instances.destroy(api);
  },
});
