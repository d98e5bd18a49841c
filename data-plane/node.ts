import { mkdirSync } from "node:fs";
import { StatsRegistry } from "./core/stats/counters.js";
import { EventBus } from "./core/events/bus.js";
import { TableRegistry } from "./core/tables/registry.js";
import { RpcRegistry } from "../lib/rpc/registry.js";
import { SipCore } from "./core/tm/engine.js";
import { TransportGateway } from "./core/gateway/gateway.js";
import { ScriptRuntime } from "./core/script/runtime.js";
import { sipCoreMethods } from "./core/tm/rpc-methods.js";
import { loadModules, type LoadedModule } from "./core/module-loader.js";
import { readTableFile, readTableFileAsync } from "./core/tables/file-loader.js";
import { observability } from "./observability.js";
import { createLogger, setLogLevel, setLogSink } from "../lib/log/logger.js";
import type { DataPlaneConfig } from "./core/config-file.js";
import type { ControlServer } from "./core/rpc/server.js";
import type { SipUac } from "./core/module.js";
import type { SyncClient } from "./sync/client.js";
import type { RpcMethod } from "../lib/rpc/registry.js";
import type { NodeShared } from "./core/workers/node-shared.js";
import { ConnShare, workerBranchPrefix, workerOfBranch } from "./core/transport/conn-share.js";
import { join } from "node:path";

const log = createLogger("olelo");
export const VERSION = "0.1.0";

/** A running data plane: the SIP core, its modules, script and control API. */
export interface DataPlane {
  readonly config: DataPlaneConfig;
  readonly core: SipCore;
  /** TLS/WS/WSS transports, RFC 3263 resolver and dst blocklist, composed around the core's dispatcher. */
  readonly gateway: TransportGateway;
  readonly stats: StatsRegistry;
  readonly events: EventBus;
  readonly tables: TableRegistry;
  readonly rpc: RpcRegistry;
  readonly script: ScriptRuntime;
  readonly modules: LoadedModule[];
  readonly control: ControlServer | null;
  /** Control-plane sync client (null in standalone mode). */
  readonly sync: SyncClient | null;
  stop(): Promise<void>;
}

/**
 * Starts a data plane from a configuration: sockets, modules, tables from files, the routing
 * script, and the control API. Used by `npm start` (data-plane/main.ts) and by the tests.
 */
export async function startDataPlane(cfg: DataPlaneConfig, worker: { node: NodeShared; sharedSockets: boolean; tablesFromPrimary?: boolean } | null = null): Promise<DataPlane> {
  setLogLevel(cfg.log.level);
  if (cfg.log.format === "json") setLogSink(null, "json");
  mkdirSync(cfg.dataDir, { recursive: true });
  const stats = new StatsRegistry();
  const events = new EventBus(cfg.core.node);
  const tables = new TableRegistry();
  const rpc = new RpcRegistry();
  const core = new SipCore(cfg.core, stats, events);
  // the transport gateway plugs in as an interceptor around the core's dispatcher
  const gateway = new TransportGateway({ config: cfg.core, transport: core.transport, stats, onConnectFailed: (d) => core.connectionFailed(d) });
  core.use(gateway.interceptor());
  if (worker && worker.node.count > 1) shareConnections(core, worker.node);
  const filters: Array<(src: { proto: string; address: string; port: number }) => boolean> = [];
  const sip: SipUac = {
    request: (o) => core.uacRequest(o),
    sendRaw: (d, data, s) => core.sendRaw(d, data, s),
    setMessageTap(t) {
      const tap = (sent: boolean, data: Buffer, l: { proto: string; address: string; boundPort: number }, r: { proto: string; address: string; port: number }): void =>
        t(sent, data, { proto: l.proto, address: l.address, port: l.boundPort }, r);
      core.transport.tap = tap;
      return () => {
        if (core.transport.tap === tap) core.transport.tap = null;
      };
    },
    setWireHook(h) {
      if (core.hooks.wire !== null) throw new Error("a wire hook is already set (topos and topoh exclude each other)");
      core.hooks.wire = h;
      return () => {
        if (core.hooks.wire === h) core.hooks.wire = null;
      };
    },
    addReceiveFilter(f) {
      filters.push(f);
      core.hooks.preParse =
        filters.length === 1
          ? filters[0]!
          : (src) => {
              for (const g of filters) if (g(src)) return true;
              return false;
            };
      return () => {
        const i = filters.indexOf(f);
        if (i >= 0) filters.splice(i, 1);
        core.hooks.preParse = filters.length === 0 ? null : filters.length === 1 ? filters[0]! : core.hooks.preParse;
      };
    },
  };
  let modules: LoadedModule[] = [];
  let script: ScriptRuntime | null = null;
  let control: ControlServer | null = null;
  let sync: SyncClient | null = null;
  let stopRefresher = (): void => {};
  try {
    modules = await loadModules(cfg.modules, { stats, rpc, events, tables, sip, dataDir: cfg.dataDir, baseDir: cfg.baseDir, node: worker?.node });
    for (const [kind, file] of Object.entries(cfg.tables)) {
      // reloads re-read the file off the main thread (a 1M-row file would otherwise stop SIP processing for ~1 s)
      tables.setSource(kind, { describe: `file:${file}`, load: () => readTableFileAsync(file) });
      const { set, version } = readTableFile(file);
      const r = await tables.loadAsync(kind, set, version, `file:${file}`);
      if (!r.ok) throw new Error(`table file ${file} (${kind}): ${r.error.message}`);
    }
    if (cfg.controlPlane) {
      const cpUrl = cfg.controlPlane.url;
      // reload RPCs ask the control plane to re-read the kind and wait until it is applied here
      const { createRefresher } = await import("./sync/refresh.js");
      const refresher = createRefresher({ url: cpUrl, nodeId: cfg.core.node, tables });
      stopRefresher = () => refresher.close();
      for (const kind of tables.kinds()) {
        if (cfg.tables[kind]) continue;
        tables.setSource(kind, {
          describe: "control-plane",
          load: async () => {
            throw new Error(`table kind '${kind}' is pushed by the control plane (${cpUrl}): change the rows there and run 'olectl push'`);
          },
          refresh: () => refresher.refresh(kind),
        });
      }
    }
    // tables pushed by the control plane (after the modules registered their kinds); the local
    // cache gives the last good tables at once, even when the control plane is down. With
    // workers the primary runs the one sync client and hands every version to each worker.
    if (cfg.controlPlane && !worker?.tablesFromPrimary) {
      const { createSyncClient } = await import("./sync/client.js");
      const { healthCounters } = await import("./sync/health-stats.js");
      sync = await createSyncClient({
        url: cfg.controlPlane.url,
        nodeId: cfg.core.node,
        tables,
        cacheDir: cfg.controlPlane.cacheDir ?? join(cfg.dataDir, "table-cache"),
        buildVersion: `olelo-dp/${VERSION}`,
        backoff: cfg.controlPlane.backoff,
        deltaBase: cfg.controlPlane.deltaBase,
        labels: cfg.controlPlane.labels,
        controlUrl: cfg.control ? `http://${cfg.control.host.includes(":") && !cfg.control.host.startsWith("[") ? `[${cfg.control.host}]` : cfg.control.host}:${cfg.control.port}/RPC` : null,
        health: healthCounters(stats, core.counters.health),
        statsIntervalMs: cfg.controlPlane.statsIntervalMs,
        tls: cfg.controlPlane.tls,
        token: cfg.controlPlane.token,
      });
      const s = sync;
      rpc.register({
        name: "core.sync_status",
        doc: "Connection to the control plane: state, versions per kind, ACK/NACK counts, cache",
        params: [],
        handler: () => s.status(),
      } satisfies RpcMethod);
    }
    const apis = Object.fromEntries(modules.map((m) => [m.name, m.api]));
    script = await ScriptRuntime.fromFile(cfg.script.file, { modules: apis, log: createLogger("script"), settings: cfg.script.settings });
    core.runner = script;
    rpc.registerAll(sipCoreMethods(core, () => script));
    const { gatewayRpcMethods } = await import("./core/gateway/rpc-methods.js");
    rpc.registerAll(gatewayRpcMethods({ gateway }));
    const { registerCoreMethods } = await import("./core/rpc/core-methods.js");
    registerCoreMethods(rpc, {
      startTime: new Date(core.startedAt),
      version: VERSION,
      node: cfg.core.node,
      stats,
      tables,
      events,
      modules: () => modules.map((m) => m.name),
    });
    // workers (core/workers/): the listeners are shared with the node's other workers (SO_REUSEPORT)
    core.transport.sharedSockets = worker?.sharedSockets ?? false;
    await core.start();
    if (cfg.control) {
      const { createControlServer, listenOptionsOf } = await import("./core/rpc/server.js");
      control = await createControlServer({
        registry: rpc,
        events,
        ...listenOptionsOf(cfg.control),
        ...observability({ node: cfg.core.node, stats, core, tables, sync: () => sync }),
      });
    }
  } catch (e) {
    await sync?.close().catch(() => {});
    stopRefresher();
    await core.stop().catch(() => {});
    await gateway.close().catch(() => {});
    for (const m of modules.reverse()) await m.def.destroy?.(m.api);
    throw e;
  }
  const dp: DataPlane = {
    config: cfg,
    core,
    gateway,
    stats,
    events,
    tables,
    rpc,
    script: script!,
    modules,
    control,
    sync,
    async stop() {
      if (control) await control.close();
      if (sync) await sync.close();
      stopRefresher();
      for (const m of [...modules].reverse()) {
        try {
          await m.def.destroy?.(m.api);
        } catch (e) {
          log.warn("module destroy failed", { module: m.name, error: String(e) });
        }
      }
      await core.stop();
      await gateway.close();
    },
  };
  return dp;
}

/**
 * Workers (core/workers/README.md "Connections across workers"): this worker's stream connections
 * go into the node's connection directory and sends to another worker's connection are relayed;
 * the Via branch names the worker, so a reply arriving on a connection held here for another
 * worker's transaction is handed to that worker.
 */
function shareConnections(core: SipCore, node: NodeShared): void {
  const share = new ConnShare(core.transport, node, core.config.tcp.maxConnections);
  core.transport.share = share;
  // one token for the node's workers (the first to start draws it), kept across restarts
  const cell = node.sharedInt32("core.branch-token", 1);
  Atomics.compareExchange(cell, 0, 0, (Math.random() * 0x7ffffffe + 1) | 0);
  const token = (Atomics.load(cell, 0) >>> 0).toString(36);
  core.branchPrefix = workerBranchPrefix(token, node.index);
  core.hooks.strayReply = (branch, msg, src, sock) => {
    const w = workerOfBranch(token, branch);
    return w >= 0 && msg.buf !== null && share.forwardReply(w, msg.buf, src, sock);
  };
}
