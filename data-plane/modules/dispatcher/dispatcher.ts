import { createHash } from "node:crypto";
import { lookup } from "node:dns/promises";
import { readFile } from "node:fs/promises";
import type { ModuleHost } from "../../core/api.js";
import { KeyCounts, RpcCode, RpcError, replicateState } from "../../core/api.js";
import { TableError, type TableSet, type TableSink } from "../../core/api.js";
import { createDispatcherApi, type DispatcherApi } from "./api.js";
import { parseAttrs } from "../../../tables/dispatcher/attrs.js";
import { DISPATCHER_STATS, DispatcherEngine } from "./engine.js";
import { parseParams, type DispatcherParams } from "./params.js";
import { ListFileError, parseListFile } from "./parse-list-file.js";
import { Prober } from "./probe/prober.js";
import { createRpcMethods, type DispatcherRpcTarget } from "./rpc.js";
import { SerialQueue } from "./serial-queue.js";
import { compileDispatcherTables, destKey, normalizeRow, type CompiledDispatcher } from "../../../tables/dispatcher/table.js";
import { tableNamesOf } from "../../../tables/kinds.js";
import { isSkipped } from "../../../tables/dispatcher/flags.js";
import { checkSipUri } from "../../core/kit/index.js";

/**
 * The dispatcher module's wiring: parameters, the table sink shared by the list file and the
 * control plane, reloads, the keepalive prober, the alg 10 call sweeper, RPCs and the script
 * API. `createDispatcher` is what index.ts's `init` calls; tests call it with a fake host.
 */

export interface DispatcherDeps {
  /** Reads the list file (default: fs readFile utf8). */
  readonly readFile?: (path: string) => Promise<string>;
  /** Resolves destination host names for isFromList (default: DNS lookup, all addresses). */
  readonly resolve?: (host: string) => Promise<string[]>;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** Where reload() takes the sets from. */
export type DispatcherSource = { kind: "none" } | { kind: "file"; path: string } | { kind: "table"; set: TableSet; version: string };

export interface DispatcherModule extends DispatcherRpcTarget {
  readonly params: DispatcherParams;
  readonly engine: DispatcherEngine;
  readonly prober: Prober;
  readonly api: DispatcherApi;
  readonly queue: SerialQueue;
  /** The current reload source. */
  source(): DispatcherSource;
  /** Stops timers and unregisters the RPCs. */
  destroy(): void;
}

/** Destinations (set + duid) the node's alg 10 load matrix holds. */
const LOAD_SLOTS = 4096;

async function resolveAll(host: string): Promise<string[]> {
  const r = await lookup(host, { all: true });
  return r.map((a) => a.address);
}

/**
 * Sets the module up on a host. Throws (with the parameter or the list-file line named) when the
 * configuration or the initial list file is bad.
 */
export async function createDispatcher(host: ModuleHost, deps: DispatcherDeps = {}): Promise<DispatcherModule> {
  return startDispatcher(host, parseParams(host.config), deps);
}

/** Sets the module up with parameters already parsed (the descriptor's `params` did it). */
export async function startDispatcher(
  host: Omit<ModuleHost, "config">,
  params: DispatcherParams,
  deps: DispatcherDeps = {},
): Promise<DispatcherModule> {
  const stats = host.stats.group("dispatcher", DISPATCHER_STATS);
  const engine = new DispatcherEngine({
    params,
    log: host.log,
    stats,
    publish: (kind, data) => host.events.publish(kind, data),
    resolve: deps.resolve ?? resolveAll,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  });
  const read = deps.readFile ?? ((p: string) => readFile(p, "utf8"));
  const listPath = params.listFile !== null ? host.resolvePath(params.listFile) : null;
  let source: DispatcherSource = listPath !== null ? { kind: "file", path: listPath } : { kind: "none" };
  /** Set while this module applies its own load, so apply() can tell a control-plane push apart. */
  let applyingOwn = false;
  let rpcSeq = 0;

  const sink: TableSink<CompiledDispatcher> = {
    kind: "dispatcher",
    tables: tableNamesOf("dispatcher"),
    compile: compileDispatcherTables,
    apply(compiled, version) {
      if (!applyingOwn) source = { kind: "table", set: { dispatcher: compiled.rows.map((r) => ({ ...r })) }, version };
      engine.apply(compiled);
    },
  };
  host.tables.register(sink as TableSink);

  function loadOwn(set: TableSet, version: string, src: string): void {
    applyingOwn = true;
    let res: ReturnType<typeof host.tables.load>;
    try {
      res = host.tables.load("dispatcher", set, version, src);
    } finally {
      applyingOwn = false;
    }
    if (!res.ok) throw res.error;
  }

  async function doReload(): Promise<void> {
    stats.inc("reloads");
    try {
      if (source.kind === "file") {
        const path = source.path;
        let text: string;
        try {
          text = await read(path);
        } catch (e) {
          throw new Error(`cannot read list file ${path}: ${(e as Error).message}`);
        }
        // a control-plane push that landed while the file was read wins: it is the newer source
        if (source.kind === "file") {
          try {
            const set = parseListFile(text);
            loadOwn(set, "file:" + createHash("sha256").update(text).digest("hex").slice(0, 16), `file:${path}`);
          } catch (e) {
            // name the file and the line, not a "row" (a list-file row id is its line number)
            if (e instanceof TableError && e.row !== null) throw new ListFileError(path, e.row, e.reason);
            throw e;
          }
          host.log.info("dispatcher sets loaded", { file: path, sets: engine.live.sets.size, destinations: engine.live.compiled.destCount });
          return;
        }
      }
      // control-plane mode: the control plane re-reads the table; done once it is applied here
      const upstream = host.tables.sourceOf("dispatcher");
      if (upstream?.refresh) {
        await upstream.refresh();
        return;
      }
      if (source.kind === "table") {
        loadOwn(source.set, source.version, "reload");
        return;
      }
      throw new Error("no source to reload from: set list_file or push the dispatcher table");
    } catch (e) {
      stats.inc("reload_failures");
      host.log.error("dispatcher reload failed, the previous sets stay", { error: (e as Error).message });
      throw e;
    }
  }

  const queue = new SerialQueue();
  const reload = (): Promise<void> => queue.reload(doReload);

  async function addDest(group: number, address: string, flags: number, priority: number, attrs: string): Promise<void> {
    return queue.run(() => {
      if (group < 0) throw RpcError.invalidParam("group", "must be >= 0");
      let row;
      try {
        row = normalizeRow({ id: `rpc-${rpcSeq + 1}`, setid: group, destination: address, flags, priority, attrs }, 0);
      } catch (e) {
        const reason = (e as TableError).reason ?? (e as Error).message;
        throw RpcError.invalidParam(reason.startsWith("flags") ? "flags" : reason.startsWith("destination") ? "address" : "priority", reason);
      }
      const u = checkSipUri(/^sips?:/i.test(row.destination) ? row.destination : "sip:" + row.destination);
      if (typeof u === "string") throw RpcError.invalidParam("address", u);
      try {
        parseAttrs(row.attrs);
      } catch (e) {
        throw RpcError.invalidParam("attrs", (e as Error).message);
      }
      const key = destKey(group, /^sips?:/i.test(row.destination) ? row.destination : "sip:" + row.destination);
      if (engine.live.byKey.has(key)) throw new RpcError(RpcCode.Conflict, `address: '${address}' is already in set ${group}`, { param: "address" });
      rpcSeq++;
      const rows = [...engine.live.compiled.rows, row].map((r) => ({ ...r }));
      try {
        loadOwn({ dispatcher: rows }, `rpc-add-${rpcSeq}`, "rpc");
      } catch (e) {
        throw new RpcError(RpcCode.BadRequest, (e as Error).message, { param: "attrs" });
      }
    });
  }

  async function removeDest(group: number, address: string): Promise<void> {
    return queue.run(() => {
      if (!engine.live.sets.has(group)) throw new RpcError(RpcCode.NotFound, `group: destination set ${group} not found`, { param: "group" });
      const loc = engine.live.find(group, address);
      if (!loc) throw new RpcError(RpcCode.NotFound, `address: '${address}' is not in set ${group}`, { param: "address" });
      rpcSeq++;
      const rows = engine.live.compiled.rows.filter((r) => destKey(r.setid, r.destination) !== loc.dest.key).map((r) => ({ ...r }));
      loadOwn({ dispatcher: rows }, `rpc-remove-${rpcSeq}`, "rpc");
    });
  }

  if (listPath !== null) {
    try {
      await reload();
    } catch (e) {
      if (e instanceof ListFileError) throw new Error(`dispatcher: ${e.message}`);
      throw new Error(`dispatcher: cannot load ${listPath}: ${(e as Error).message}`);
    }
  }

  const prober = new Prober(engine, host.sip);
  const node = host.node;
  // workers: worker 0 probes; every state change (probe, failure route, RPC) goes to the others
  const rep = replicateState<number>(node, "dispatcher", {
    snapshot: () => [...engine.live.byKey.values()].map((l) => [l.dest.key, l.rt.flags]),
    apply: (k, f) => engine.applyRemoteState(k, f),
  });
  if (rep.shared) engine.onStateChange = (k, f) => rep.publish(k, f);
  let offLoad = (): void => {};
  if (node && node.count > 1) {
    // alg 10 load: counts in the node's shared matrix; a BYE for a call another worker routed goes to it
    engine.loads.shareWith(new KeyCounts(node.sharedInt32("dispatcher-load", KeyCounts.cells(LOAD_SLOTS, node.count)), LOAD_SLOTS, node.count, node.index));
    engine.loads.onMiss = (cid) => node.broadcast("dispatcher-unload", cid);
    offLoad = node.on("dispatcher-unload", (cid) => void engine.loads.drop(cid as string));
  }
  if (rep.prober) prober.start();
  const sweeper = setInterval(() => {
    const n = engine.loads.sweep(engine.now());
    if (n > 0) host.log.debug("expired alg 10 call entries", { count: n });
  }, params.hashCheckInterval * 1000);
  (sweeper as { unref?: () => void }).unref?.();

  const api = createDispatcherApi(engine, () => reload().then(() => true, () => false));
  host.stats.families.gauge("olelo_dispatcher_destination_up", "1 when the dispatcher destination can be selected (active or trying), 0 when inactive or disabled; per set and destination URI", () =>
    [...engine.live.byKey.values()].map((l) => ({ labels: { set: String(l.dest.setid), destination: l.dest.uri }, value: isSkipped(l.rt.flags) ? 0 : 1 })),
  );
  const mod: DispatcherModule = {
    params,
    engine,
    prober,
    api,
    queue,
    reload,
    addDest,
    removeDest,
    source: () => source,
    destroy() {
      host.stats.families.remove("olelo_dispatcher_destination_up");
      prober.stop();
      rep.close();
      offLoad();
      clearInterval(sweeper);
      for (const m of methods) host.rpc.unregister(m.name);
    },
  };
  const methods = createRpcMethods(mod);
  host.rpc.registerAll(methods);
  return mod;
}
