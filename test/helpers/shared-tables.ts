/**
 * Readers for the "tables compiled once, shared" e2e tests (data-plane/core/workers/README.md): the
 * version the control plane says a node applied, the node's shared compile counts
 * (core.sync_status → shared.<kind>) and each worker's attachment (core.shared_tables).
 *
 * @example
 *   const r = sharedTableReaders(() => cp.rpcUrl, () => node.rpc, "w-shared", "prefix_route");
 *   await r.nodeShared(); // { version, compiles, deltaCompiles, folds, bytes }
 */
import { rpcResult } from "./processes.js";

export interface SharedStat {
  version: string | null;
  compiles: number;
  deltaCompiles: number;
  folds: number;
  bytes: number;
}

export interface AttachedStat {
  version: string | null;
  attaches: number;
  folds: number;
  shared: boolean;
  bytes: number;
  localCompiles: number;
}

export function sharedTableReaders(cpRpc: () => string, nodeRpc: () => string, nodeId: string, kind: string) {
  /** One RPC answered by every worker, in worker order. */
  const perWorker = async <T>(method: string, params: unknown[] = []): Promise<T[]> =>
    (await rpcResult<Array<{ worker: number; result: T }>>(nodeRpc(), "core.worker_stats", [method, params])).sort((a, b) => a.worker - b.worker).map((w) => w.result);
  return {
    perWorker,
    appliedOnCp: async (): Promise<string | undefined> => {
      const nodes = await rpcResult(cpRpc(), "nodes");
      return nodes.find((n: { nodeId: string }) => n.nodeId === nodeId)?.tables.find((t: { kind: string }) => t.kind === kind)?.appliedVersion;
    },
    // absent when the kind is not shared (OLELO_SHARED_TABLES=0): zeros, so the counts fail as assertions
    nodeShared: async (): Promise<SharedStat> => (await rpcResult(nodeRpc(), "core.sync_status")).shared?.[kind] ?? { version: null, compiles: 0, deltaCompiles: 0, folds: 0, bytes: 0 },
    attachedPerWorker: async (): Promise<AttachedStat[]> => (await perWorker<Record<string, AttachedStat>>("core.shared_tables")).map((r) => r[kind]!),
  };
}
