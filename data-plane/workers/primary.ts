/**
 * The node's primary thread with `workers: N` (N > 1): starts N worker threads (worker-main.ts),
 * each a whole data plane on the shared listen sockets, serves the control API for the node
 * (RPCs fanned out to the workers and merged, /metrics summed, events of every worker), relays
 * broadcasts between workers and restarts a worker that dies. See core/workers/README.md.
 */
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import { EventBus } from "../core/events/bus.js";
import { RpcRegistry } from "../../lib/rpc/registry.js";
import { RpcError } from "../../lib/rpc/errors.js";
import { createLogger } from "../../lib/log/logger.js";
import { ownModuleExt } from "../../lib/pkg/package-info.js";
import { answeredByOne, isCounterMethod, mergePrometheus, mergeResults } from "../core/workers/merge.js";
import type { DataPlaneConfig } from "../core/config-file.js";
import type { ControlServer } from "../core/rpc/server.js";
import type { FromWorker, MethodInfo, ToWorker, WorkerData } from "./protocol.js";
import { createWorkerTables } from "./table-fanout.js";
import { sharedKinds } from "./shared-kinds.js";
import { startPrimarySync, versionsOf } from "./primary-sync.js";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const log = createLogger("olelo");
/** Shared memory of a node (pike counts etc.); pages are only committed when touched. */
const ARENA_BYTES = 64 << 20;
const CALL_TIMEOUT_MS = 30_000;

interface Slot {
  readonly index: number;
  worker: Worker | null;
  state: "starting" | "running" | "dead";
  restarts: number;
  startedAt: number;
  threadId: number;
  readonly pending: Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>;
}

export interface WorkerNode {
  readonly count: number;
  readonly control: ControlServer | null;
  readonly sockets: string[];
  /** Fans a method out like an RPC (SIGHUP: script.reload). */
  call(method: string, params?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startWorkers(cfg: DataPlaneConfig, count: number): Promise<WorkerNode> {
  for (const l of cfg.core.listen) if (l.port === 0) throw new Error(`listen ${l.proto}:${l.address}:0: with workers > 1 every listener needs a fixed port`);
  const arena = new SharedArrayBuffer(ARENA_BYTES);
  const events = new EventBus(cfg.core.node);
  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({ index, worker: null, state: "starting" as const, restarts: 0, startedAt: 0, threadId: 0, pending: new Map() }));
  let stopping = false;
  let nextId = 1;
  let methods: MethodInfo[] = [];
  let sockets: string[] = [];
  const entry = new URL(`./worker-main${ownModuleExt()}`, import.meta.url);

  const spawn = (slot: Slot): Promise<void> =>
    new Promise((resolve, reject) => {
      const data: WorkerData = {
        index: slot.index,
        count,
        arena,
        config: { ...cfg, control: null, dataDir: slot.index === 0 ? cfg.dataDir : join(cfg.dataDir, `worker-${slot.index}`) },
        tablesFromPrimary: cfg.controlPlane !== null,
      };
      const w = new Worker(entry, { workerData: data, execArgv: process.execArgv });
      slot.worker = w;
      slot.state = "starting";
      slot.threadId = w.threadId;
      w.on("message", (m: FromWorker) => {
        if (m.t === "ready") {
          if (methods.length === 0) methods = m.methods;
          if (sockets.length === 0) sockets = m.sockets.map((s) => s.socket);
          if (pushed && pushed.kinds().length === 0) pushed.setKinds(m.kinds, m.options);
          // control-plane mode: the current tables first (a restarted worker), then it is running
          void (pushed?.prime(slot) ?? Promise.resolve()).then(() => {
            if (slot.worker !== w) return;
            slot.state = "running";
            slot.startedAt = Date.now();
            resolve();
          });
        } else if (m.t === "failed") reject(new Error(m.error));
        else if (m.t === "res") {
          const p = slot.pending.get(m.id);
          if (!p) return;
          slot.pending.delete(m.id);
          clearTimeout(p.timer);
          if (m.ok) p.resolve(m.result);
          else p.reject(new RpcError(m.error.code, m.error.message, m.error.data));
        } else if (m.t === "bcast") {
          for (const o of slots) if (o !== slot && o.worker) o.worker.postMessage({ t: "bcast", ch: m.ch, msg: m.msg, from: slot.index } satisfies ToWorker);
        } else if (m.t === "to") {
          // one worker (connection relay); back to the sender as undeliverable when it is not running
          const o = slots[m.to];
          if (m.undeliverable) o?.worker?.postMessage({ t: "to", ch: m.ch, msg: m.msg, from: -1 } satisfies ToWorker);
          else if (o?.worker && o.state !== "dead") o.worker.postMessage({ t: "to", ch: m.ch, msg: m.msg, from: slot.index } satisfies ToWorker);
          else w.postMessage({ t: "to", ch: m.ch, msg: m.msg, from: -1 } satisfies ToWorker);
        } else if (m.t === "event") events.publish(m.kind, { ...m.data, worker: slot.index });
      });
      w.on("error", (e: Error) => log.error("worker failed", { worker: slot.index, error: e.stack ?? e.message }));
      w.on("exit", (code) => {
        const was = slot.state;
        slot.state = "dead";
        slot.worker = null;
        for (const p of slot.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new RpcError(-32000, `worker ${slot.index} exited`));
        }
        slot.pending.clear();
        if (was === "starting") reject(new Error(`worker ${slot.index} exited during start (code ${code})`));
        if (stopping || was === "starting") return;
        // the others keep their transactions; this one comes back on the same shared sockets
        slot.restarts++;
        log.error("worker exited; restarting it", { worker: slot.index, code });
        events.publish("core.worker_exited", { worker: slot.index, code, restarts: slot.restarts });
        setTimeout(() => {
          if (stopping) return;
          spawn(slot).then(
            () => events.publish("core.worker_restarted", { worker: slot.index, restarts: slot.restarts, threadId: slot.threadId }),
            (e: unknown) => log.error("worker restart failed", { worker: slot.index, error: String(e) }),
          );
        }, 200);
      });
    });

  const call = (slot: Slot, msg: DistributiveOmit<Exclude<ToWorker, { t: "bcast" | "to" | "stop" }>, "id">): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const w = slot.worker;
      if (!w || (slot.state !== "running" && msg.t !== "tables" && msg.t !== "shared")) return reject(new RpcError(-32000, `worker ${slot.index} is not running`));
      const id = nextId++;
      const timer = setTimeout(() => {
        slot.pending.delete(id);
        reject(new RpcError(-32000, `worker ${slot.index} did not answer in ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      slot.pending.set(id, { resolve, reject, timer });
      w.postMessage({ ...msg, id } as ToWorker);
    });

  const live = (): Slot[] => slots.filter((s) => s.state === "running");
  // control-plane mode: the one sync client runs here and hands each version to every worker
  const pushed = cfg.controlPlane ? createWorkerTables<Slot>({ live, index: (s) => s.index, send: (s, m) => call(s, m) }, sharedKinds(cfg.modules)) : null;
  /** An RPC for the node: node-wide state from one worker, everything else from all, merged. */
  const fanout = async (name: string, params: unknown): Promise<unknown> => {
    const ws = live();
    if (ws.length === 0) throw new RpcError(-32000, "no worker is running");
    if (answeredByOne(name)) return call(ws[0]!, { t: "rpc", name, params });
    return mergeResults(await Promise.all(ws.map((s) => call(s, { t: "rpc", name, params }))), "", isCounterMethod(name));
  };

  try {
    // worker 0 first (it loads the tables' caches and learns the methods), then the others together
    await spawn(slots[0]!);
    await Promise.all(slots.slice(1).map((s) => spawn(s)));
  } catch (e) {
    stopping = true;
    await Promise.all(slots.map((s) => s.worker?.terminate()));
    throw e;
  }

  const sync = pushed ? await startPrimarySync(cfg, pushed, { live, call: (s, m) => call(s, m) }) : null;
  const registry = new RpcRegistry();
  for (const m of methods) {
    if (m.name.startsWith("events.") || m.name === "core.memory") continue;
    registry.register({ name: m.name, doc: m.doc, params: m.params, returns: m.returns, handler: (args) => fanout(m.name, args) });
  }
  registry.register({
    name: "core.workers",
    doc: "Worker threads of this node: index, state, thread id, restarts, start time (workers > 1)",
    params: [],
    handler: () => ({
      workers: slots.map((s) => ({ index: s.index, state: s.state, threadId: s.threadId, restarts: s.restarts, startedAt: s.startedAt ? new Date(s.startedAt).toISOString() : null })),
      count,
      restarts: slots.reduce((a, s) => a + s.restarts, 0),
    }),
  });
  registry.register({
    name: "core.worker_stats",
    doc: "One RPC answered by every worker separately (e.g. stats.get_statistics core:), as a list by worker index",
    params: [
      { name: "method", type: "string", doc: "RPC method" },
      { name: "params", type: "any", optional: true, doc: "its parameters" },
    ],
    handler: async (a) => Promise.all(live().map(async (s) => ({ worker: s.index, result: await call(s, { t: "rpc", name: String(a.method), params: a.params ?? [] }) }))),
  });
  registry.register({
    name: "core.memory",
    doc: "Memory of the node: process rss, the primary's and each worker's V8 isolate (heap, external, array buffers), and the bytes of tables compiled once in shared memory",
    params: [],
    handler: async () => {
      const m = process.memoryUsage();
      const workers = await Promise.all(live().map(async (s) => ({ worker: s.index, ...((await call(s, { t: "rpc", name: "core.memory", params: [] })) as object), rss: undefined })));
      const sharedTableBytes = Object.values(pushed?.sharedStatus() ?? {}).reduce((n, st) => n + st.bytes, 0);
      return { rss: m.rss, primary: { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers }, workers, sharedTableBytes };
    },
  });
  registry.register({
    name: "core.worker_restart",
    doc: "Stops worker N; the node restarts it as it does a worker that dies (the others keep running)",
    params: [{ name: "index", type: "int", doc: "worker index" }],
    handler: async (a) => {
      const s = slots[Number(a.index)];
      if (!s?.worker) throw new RpcError(-32602, `no running worker ${String(a.index)}`);
      s.state = "dead"; // from now on messages for it bounce (connection relay) instead of being lost
      await s.worker.terminate();
      return { worker: s.index, restarting: true };
    },
  });

  if (sync) {
    registry.register({
      name: "core.sync_status",
      doc: "Connection to the control plane (the node's one sync client): state, versions per kind, ACK/NACK counts, cache; and what each worker runs",
      params: [],
      handler: async () => ({
        ...sync.client.status(),
        shared: pushed!.sharedStatus(),
        workers: await Promise.all(slots.map(async (s) => ({ worker: s.index, state: s.state, versions: s.state === "running" ? versionsOf(await call(s, { t: "rpc", name: "core.config_status", params: [] }).catch(() => [])) : {} }))),
      }),
    });
  }
  let control: ControlServer | null = null;
  if (cfg.control) {
    const { createControlServer, listenOptionsOf } = await import("../core/rpc/server.js");
    control = await createControlServer({
      registry,
      events,
      ...listenOptionsOf(cfg.control),
      metrics: async () => {
        const texts = (await Promise.all(live().map((s) => call(s, { t: "metrics" }).catch(() => "")))) as string[];
        const node = `node="${cfg.core.node}"`;
        let extra = `# HELP olelo_workers Worker threads configured\n# TYPE olelo_workers gauge\nolelo_workers{${node}} ${count}\n`;
        extra += `# HELP olelo_workers_running Worker threads running\n# TYPE olelo_workers_running gauge\nolelo_workers_running{${node}} ${live().length}\n`;
        if (sync) extra += `# HELP olelo_control_plane_connected 1 while the stream to the control plane is up, 0 otherwise (only with a controlPlane section)\n# TYPE olelo_control_plane_connected gauge\nolelo_control_plane_connected{${node}} ${sync.client.status().connected ? 1 : 0}\n`;
        extra += `# HELP olelo_worker_restarts_total Workers that died and were restarted\n# TYPE olelo_worker_restarts_total counter\nolelo_worker_restarts_total{${node}} ${slots.reduce((a, s) => a + s.restarts, 0)}\n`;
        return mergePrometheus(texts, extra);
      },
      ready: () => ({ ready: live().length === count, checks: { workers: { running: live().length, count } } }),
    });
  }

  return {
    count,
    control,
    sockets,
    call: (method, params = []) => fanout(method, params),
    async stop() {
      stopping = true;
      if (control) await control.close();
      await sync?.close();
      await Promise.all(
        slots.map(
          (s) =>
            new Promise<void>((resolve) => {
              const w = s.worker;
              if (!w) return resolve();
              const t = setTimeout(() => void w.terminate(), 5000);
              w.once("exit", () => {
                clearTimeout(t);
                resolve();
              });
              w.postMessage({ t: "stop" } satisfies ToWorker);
            }),
        ),
      );
    },
  };
}
