import type { NodeShared } from "./node-shared.js";

/**
 * Node-wide state by replication (core/workers/README.md): a small table of states that change
 * rarely (dispatcher destination flags, lcr/drouting gateway health). Every change is broadcast
 * and applied by the other workers; a (re)started worker asks the others for their snapshot; one
 * worker (0) runs the probes, so a node sends one keepalive per gateway and interval.
 *
 * @example
 *   const rep = replicateState(host.node, "lcr", { snapshot: () => [...], apply: (k, v) => set(k, v) });
 *   rep.publish("1:7", { state: 2 });   // after a local change
 *   if (rep.prober) health.start();
 */
export interface ReplicatedState<V> {
  /** True in the worker that probes (worker 0, or a single process). */
  readonly prober: boolean;
  /** Whether there are other workers to tell. */
  readonly shared: boolean;
  /** Tells the other workers that `key` is now `value` (no-op with one worker). */
  publish(key: string, value: V): void;
  /**
   * Asks the other workers for their snapshot again: after a table push, for states that came
   * before this worker had the table they refer to (a restarted worker gets tables after init).
   */
  resync(): void;
  /** Stops handling the other workers' changes. */
  close(): void;
}

export interface StateTable<V> {
  /** Every state this worker holds, for a worker that (re)starts. */
  snapshot(): Array<[string, V]>;
  /** A change made by another worker (no events: that worker published them). */
  apply(key: string, value: V): void;
}

export function replicateState<V>(node: NodeShared | undefined, channel: string, table: StateTable<V>): ReplicatedState<V> {
  if (!node || node.count <= 1) return { prober: true, shared: false, publish: () => {}, resync: () => {}, close: () => {} };
  const offs = [
    node.on(channel, (m) => {
      for (const [k, v] of m as Array<[string, V]>) table.apply(k, v);
    }),
    node.on(`${channel}-sync`, () => {
      const all = table.snapshot();
      if (all.length > 0) node.broadcast(channel, all);
    }),
  ];
  node.broadcast(`${channel}-sync`, null);
  return {
    prober: node.index === 0,
    shared: true,
    publish: (k, v) => node.broadcast(channel, [[k, v]]),
    resync: () => node.broadcast(`${channel}-sync`, null),
    close: () => {
      for (const off of offs) off();
    },
  };
}
