import { RpcCode, RpcError, defineRpc } from "../../core/api.js";
import type { RpcMethod } from "../../core/api.js";
import type { PipeState } from "./algorithms.js";
import type { PipeTable } from "./pipe-table.js";

/** Kamailio's pl.* RPCs over one PipeTable (prefix "pl"), and the same set as rl.* for ratelimit. */
export function pipeRpcMethods(table: PipeTable, prefix: "pl" | "rl", fleetStatus: () => Record<string, unknown>): RpcMethod[] {
  const row = (p: PipeState) => ({ name: p.name, algorithm: p.algo, limit: p.limit, counter: p.counter + p.others, last_counter: p.lastCounter, unused_intervals: p.unusedIntervals });
  const need = (name: string, code: number = RpcCode.BadRequest) => {
    const p = table.pipes.get(name);
    if (p === undefined) throw new RpcError(code as RpcCode, `Unknown pipe id ${name}`);
    return p;
  };
  const m: RpcMethod[] = [
    defineRpc({
      name: `${prefix}.stats`,
      doc: "Per pipe: id, load and the last interval's counter (fleet-wide when shared)",
      params: [],
      returns: "[{id, load, counter}]",
      handler: () => [...table.pipes.values()].filter((p) => p.algo !== "NOP").map((p) => ({ id: p.name, load: p.load, counter: p.lastCounter })),
    }),
    defineRpc({
      name: `${prefix}.get_pipes`,
      doc: "Pipes in use: id, algorithm, limit and the current interval's counter",
      params: [],
      returns: "[{id, algorithm, limit, counter}]",
      handler: () => [...table.pipes.values()].filter((p) => p.algo !== "NOP").map((p) => ({ id: p.name, algorithm: p.algo, limit: p.limit, counter: p.counter + p.others })),
    }),
    defineRpc({
      name: `${prefix}.set_pipe`,
      doc: "Sets algorithm and limit of a pipe (or of a template `prefix*` and its keyed pipes)",
      params: [
        { name: "pipe_id", type: "string" },
        { name: "pipe_algorithm", type: "string" },
        { name: "pipe_limit", type: "int" },
      ],
      returns: '"Ok"',
      handler: ({ pipe_id, pipe_algorithm, pipe_limit }) => {
        const err = table.setPipe(String(pipe_id), String(pipe_algorithm), Number(pipe_limit));
        if (err !== null) throw new RpcError(RpcCode.BadRequest, err);
        return "Ok";
      },
    }),
    ...feedbackRpcMethods(table, prefix),
    defineRpc({ name: `${prefix}.fleet`, doc: "Olelo: how pipes are counted (redis / local fallback / local), nodes, Redis errors", params: [], returns: "{mode, nodes, redis_errors}", handler: () => fleetStatus() }),
  ];
  if (prefix === "rl") return m;
  return [
    ...m,
    defineRpc({
      name: "pl.list",
      doc: "Details of one or all pipes",
      params: [{ name: "name", type: "string", optional: true }],
      returns: "[{name, algorithm, limit, counter, last_counter, unused_intervals}]",
      handler: ({ name }) => (typeof name === "string" && name !== "" ? [row(need(name))] : [...table.pipes.values()].filter((p) => p.algo !== "NOP").map(row)),
    }),
    defineRpc({
      name: "pl.reset_pipe",
      doc: "Resets the counters and load of a pipe",
      params: [{ name: "pipe_id", type: "string" }],
      returns: '"Ok"',
      handler: ({ pipe_id }) => {
        if (!table.reset(String(pipe_id))) throw new RpcError(RpcCode.NotFound, `Unknown pipe id ${String(pipe_id)}`);
        return "Ok";
      },
    }),
    defineRpc({
      name: "pl.rm_pipe",
      doc: "Removes a pipe",
      params: [{ name: "pipe_id", type: "string" }],
      returns: '"Ok"',
      handler: ({ pipe_id }) => {
        if (!table.remove(String(pipe_id))) throw new RpcError(RpcCode.NotFound, `Pipe not removed - ${String(pipe_id)}`);
        return "Ok";
      },
    }),
  ];
}

/** The FEEDBACK controller's RPCs (set_pid, get_pid, push_load) under `prefix`: pipelimit's pl.* and ratelimit's rl.*. */
export function feedbackRpcMethods(table: PipeTable, prefix: "pl" | "rl"): RpcMethod[] {
  return [
    defineRpc({
      name: `${prefix}.set_pid`,
      doc: "Sets the FEEDBACK PID controller's parameters",
      params: [
        { name: "ki", type: "number" },
        { name: "kp", type: "number" },
        { name: "kd", type: "number" },
      ],
      returns: '"Ok"',
      handler: ({ ki, kp, kd }) => {
        table.pid.ki = Number(ki);
        table.pid.kp = Number(kp);
        table.pid.kd = Number(kd);
        return "Ok";
      },
    }),
    defineRpc({ name: `${prefix}.get_pid`, doc: "The FEEDBACK PID controller's parameters", params: [], returns: "{ki, kp, kd}", handler: () => ({ ki: table.pid.ki, kp: table.pid.kp, kd: table.pid.kd }) }),
    defineRpc({
      name: `${prefix}.push_load`,
      doc: "Forces the load the FEEDBACK controller sees (0 < load < 1), for tests",
      params: [{ name: "load", type: "number" }],
      returns: '"Ok"',
      handler: ({ load }) => {
        const l = Number(load);
        if (!(l > 0 && l < 1)) throw new RpcError(RpcCode.BadRequest, "Bad load value");
        table.pushedLoad = l;
        table.pid.update(l);
        return "Ok";
      },
    }),
  ];
}

/** Method names pipeRpcMethods registers for `prefix` (the descriptors declare them). */
export const PL_RPCS = ["pl.stats", "pl.get_pipes", "pl.set_pipe", "pl.set_pid", "pl.get_pid", "pl.push_load", "pl.fleet", "pl.list", "pl.reset_pipe", "pl.rm_pipe"];
export const RL_RPCS = ["rl.stats", "rl.get_pipes", "rl.set_pipe", "rl.set_pid", "rl.get_pid", "rl.push_load", "rl.fleet"];
