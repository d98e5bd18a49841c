/**
 * Helpers for the `workers: N` end-to-end tests: a node started as users start it (`npm start`)
 * and waited for until every worker runs, and one statistic read per worker.
 *
 * @example
 *   const n = await startWorkersNode("a", configFile, controlPort);
 *   const invites = await workerStat(n.rpc, "core:rcv_requests_invite"); // [worker 0, worker 1]
 */
import { rpcResult, spawnCommand, waitForPort, type TestProcess } from "./processes.js";
import { waitUntil } from "../kit/wait.js";

/** A started node and its control API URL. */
export type WorkersNode = TestProcess & { rpc: string };

/** `npm start -- --config file`, then waits for the control API and for every worker running. */
export async function startWorkersNode(name: string, file: string, control: number): Promise<WorkersNode> {
  const p = spawnCommand(`olelo ${name}`, "npm", ["start", "--silent", "--", "--config", file]);
  await waitForPort(control, "127.0.0.1", 60_000, [p]);
  const rpc = `http://127.0.0.1:${control}/RPC`;
  await waitUntil(async () => (await rpcResult(rpc, "core.workers")).workers.every((w: { state: string }) => w.state === "running"), { timeoutMs: 30_000, what: `${name}: 2 workers running` });
  return Object.assign(p, { rpc });
}

/** One statistic per worker, in worker order (core.worker_stats over stats.get_statistics). */
export async function workerStat(rpc: string, stat: string): Promise<number[]> {
  const r = await rpcResult<Array<{ worker: number; result: string[] }>>(rpc, "core.worker_stats", ["stats.get_statistics", [stat]]);
  return r.sort((a, b) => a.worker - b.worker).map((w) => Number(w.result.find((l) => l.startsWith(`${stat} = `))?.split(" = ")[1] ?? 0));
}
