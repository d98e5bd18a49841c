import { getHeapStatistics } from "node:v8";
import type { EventBus } from "../events/bus.js";
import { getLogLevel, isLogLevel, setLogLevel, type LogLevel } from "../../../lib/log/logger.js";
import type { StatsRegistry } from "../stats/counters.js";
import type { TableRegistry } from "../tables/registry.js";
import { formatCtime } from "./ctime.js";
import { RpcCode, RpcError } from "../../../lib/rpc/errors.js";
import { registerEventMethods } from "./event-methods.js";
import { formatHelp, type RpcMethod, type RpcParamType, type RpcRegistry } from "../../../lib/rpc/registry.js";
import { statsMethods } from "./stats-methods.js";

/**
 * The core RPCs that need no SIP core, under Kamailio's names with Kamailio's output shapes
 * (src/core/core_cmd.c, kex, corex): system.*, core.version/info/runinfo/uptime/ps/psx/shmmem/
 * echo/prints/printi/modules, stats.*, corex.debug; plus Olelo's core.log_level,
 * core.config_status (per table kind: applied version, last NACK) and events.since.
 * SIP-specific RPCs (tm.*, sl.*, core.sockets_list, core.tcp_*) are registered by the SIP core.
 *
 * @example
 *   registerCoreMethods(rpc, { startTime: new Date(), version: "0.1.0", node: "p1", stats, tables, events,
 *                             modules: () => ["dispatcher", "pike"] });
 */
export interface CoreMethodsDeps {
  readonly startTime: Date;
  /** Olelo version, e.g. "0.1.0". */
  readonly version: string;
  /** This node's name (also the `node` of every event). */
  readonly node: string;
  readonly stats: StatsRegistry;
  readonly tables?: TableRegistry;
  readonly events?: EventBus;
  /** Names of the loaded modules, in load order. */
  readonly modules?: () => readonly string[];
  /** Processes/workers of this node; default: this process only. */
  readonly processes?: () => ReadonlyArray<{ readonly pid: number; readonly desc: string }>;
  /** Build/source id for core.info (e.g. git commit); default "unknown". */
  readonly buildId?: string;
  /** Register the Kamailio `shmem:` statistics group from the Node heap (default true). */
  readonly shmemStats?: boolean;
  /** Clock (tests). */
  readonly now?: () => Date;
}

/** Kamailio debug levels (dprint.h) for corex.debug. */
const KAMAILIO_LEVEL: Record<LogLevel, number> = { error: -1, warn: 0, info: 2, debug: 3 };

export function registerCoreMethods(registry: RpcRegistry, deps: CoreMethodsDeps): void {
  registry.registerAll(coreMethods(registry, deps));
  registry.registerAll(statsMethods(deps.stats));
  registerEventMethods(registry, deps.events);
  if (deps.shmemStats !== false && !deps.stats.groupNames().includes("shmem")) registerShmemStats(deps.stats);
}

export function coreMethods(registry: RpcRegistry, deps: CoreMethodsDeps): RpcMethod[] {
  const now = deps.now ?? (() => new Date());
  const fullVersion = `olelo ${deps.version} (${process.arch}/${process.platform}) node ${process.version}`;
  const uptimeSecs = () => Math.max(0, Math.floor((now().getTime() - deps.startTime.getTime()) / 1000));
  const procs = () => deps.processes?.() ?? [{ pid: process.pid, desc: "main process - olelo" }];
  const methodArg = { name: "method", type: "string", doc: "RPC method name" } as const;
  const lookup = (name: unknown) => {
    const m = registry.get(name as string);
    if (!m) throw new RpcError(RpcCode.MethodNotFound, `method '${String(name)}' not found`, { param: "method" });
    return m;
  };

  return [
    {
      name: "system.listMethods",
      doc: "Lists all RPC methods supported by the server.",
      params: [],
      returns: '["core.uptime", …]',
      handler: () => registry.list().map((m) => m.name),
    },
    {
      name: "system.describeMethods",
      doc: "Olelo extension: the full descriptors of all (or the named) methods — name, doc, params with types, returns — for generated docs and UIs.",
      params: [{ name: "methods", type: "string", rest: true, doc: "only these methods" }],
      returns: "[{name, doc, params: [{name, type, optional, rest, doc, enum}], returns}]",
      handler: ({ methods }) => {
        const names = methods as string[];
        const list = names.length ? names.map((n) => lookup(n)) : registry.list();
        return list.map((m) => ({
          name: m.name,
          doc: m.doc,
          params: m.params.map((p) => ({ name: p.name, type: p.type, optional: !!p.optional, rest: !!p.rest, doc: p.doc ?? "", enum: p.enum ?? null })),
          returns: m.returns ?? null,
        }));
      },
    },
    {
      name: "system.methodHelp",
      doc: "Returns the help text of a method: signature, description, parameters.",
      params: [methodArg],
      returns: "string",
      handler: ({ method }) => formatHelp(lookup(method)),
    },
    {
      name: "system.methodSignature",
      doc: "Returns the XML-RPC introspection signatures of a method: one [return, param…] type list per accepted arity.",
      params: [methodArg],
      returns: '[["struct", "string"], …]',
      handler: ({ method }) => signatures(lookup(method)),
    },
    {
      name: "core.version",
      doc: "Returns the version string of the server.",
      params: [],
      returns: '"olelo 0.1.0 (x64/linux) node v20.20.2"',
      handler: () => fullVersion,
    },
    {
      name: "core.info",
      doc: "Verbose version info: version, build id, runtime, platform, node name.",
      params: [],
      returns: "{version, id, compiler, compiled, flags, node}",
      handler: () => ({
        version: `olelo ${deps.version}`,
        id: deps.buildId ?? "unknown",
        compiler: `node ${process.version} (v8 ${process.versions.v8})`,
        compiled: "n/a (TypeScript run by Node)",
        flags: `${process.arch}, ${process.platform}`,
        node: deps.node,
      }),
    },
    {
      name: "core.runinfo",
      doc: "Runtime info: name, version, start time, uptime.",
      params: [],
      returns: "{name, version, sourceid, compiler, compiled, time_now, time_started, uptime_secs, utime_days}",
      handler: () => {
        const up = uptimeSecs();
        return {
          name: "olelo",
          version: deps.version,
          sourceid: deps.buildId ?? "unknown",
          compiler: `node ${process.version}`,
          compiled: "n/a",
          time_now: formatCtime(now()),
          time_started: formatCtime(deps.startTime),
          uptime_secs: up,
          utime_days: `${Math.floor(up / 86400)}d ${Math.floor((up % 86400) / 3600)}h ${Math.floor((up % 3600) / 60)}m ${up % 60}s`,
        };
      },
    },
    {
      name: "core.memory",
      doc: "Memory of this process (rss) and of this thread's V8 isolate: heap used/total, external, array buffers (bytes). With workers: the node's view (primary and every worker).",
      params: [],
      returns: "{rss, heapUsed, heapTotal, external, arrayBuffers}",
      handler: () => {
        const m = process.memoryUsage();
        return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
      },
    },
    {
      name: "core.uptime",
      doc: "Returns uptime of the SIP server.",
      params: [],
      returns: '{now: "Tue Mar  4 10:02:11 2025", up_since: "…", uptime: 3600}',
      handler: () => ({ now: formatCtime(now()), up_since: formatCtime(deps.startTime), uptime: uptimeSecs() }),
    },
    {
      name: "core.ps",
      doc: "Returns the description of running processes: pid, description, pid, description, ...",
      params: [],
      returns: "[pid, desc, …]",
      handler: () => procs().flatMap((p) => [p.pid, p.desc]),
    },
    {
      name: "core.psx",
      doc: "Returns the detailed description of running processes.",
      params: [],
      returns: "[{IDX, PID, DSC}]",
      handler: () => procs().map((p, i) => ({ IDX: i, PID: p.pid, DSC: p.desc })),
    },
    {
      name: "core.shmmem",
      doc: "Memory info, reported from the Node (V8) heap: total = heap limit, real_used = allocated heap, used = live objects, max_used = largest real_used seen. Optional unit: b (default), k, m, g (also kb, mb, gb); values are truncated.",
      params: [{ name: "unit", type: "string", optional: true, doc: "b|k|m|g" }],
      returns: "{total, free, used, real_used, max_used, fragments}",
      handler: ({ unit }) => {
        const shift = unitShift(unit as string | undefined);
        const h = heapInfo();
        const d = (n: number) => Math.floor(n / 2 ** shift);
        return { total: d(h.total), free: d(h.free), used: d(h.used), real_used: d(h.realUsed), max_used: d(h.maxUsed), fragments: 0 };
      },
    },
    {
      name: "core.echo",
      doc: "Returns back its parameters.",
      params: [{ name: "values", type: "any", rest: true }],
      returns: "[…]",
      handler: ({ values }) => values as unknown[],
    },
    {
      name: "core.prints",
      doc: "Returns the strings given as parameters.",
      params: [{ name: "strings", type: "string", rest: true }],
      returns: '["a", …]',
      handler: ({ strings }) => strings as string[],
    },
    {
      name: "core.printi",
      doc: "Returns the integers given as parameters.",
      params: [{ name: "ints", type: "int", rest: true }],
      returns: "[1, …]",
      handler: ({ ints }) => ints as number[],
    },
    {
      name: "core.modules",
      doc: "List loaded modules.",
      params: [],
      returns: '["dispatcher", …]',
      handler: () => [...(deps.modules?.() ?? [])],
    },
    {
      name: "core.config_status",
      doc: "Per table kind: the applied version (and when, from which source, how many rows) and the last rejected (NACKed) version with its error.",
      params: [{ name: "kind", type: "string", optional: true, doc: "only this kind (dispatcher, lcr, ...)" }],
      returns: "[{kind, version, appliedAt, rows, source, lastError, lastErrorVersion, lastErrorAt}]",
      handler: ({ kind }) => {
        const all = deps.tables?.allStatus() ?? [];
        if (kind === undefined) return all;
        const one = all.filter((s) => s.kind === kind);
        if (one.length === 0) throw RpcError.invalidParam("kind", `unknown table kind '${String(kind)}'`);
        return one;
      },
    },
    {
      name: "corex.debug",
      doc: "Gets or sets the global log level as a Kamailio debug number (-1 error, 0 warning, 1 notice, 2 info, 3 debug). Without a level: {debug}; with one: {old, new}.",
      params: [{ name: "level", type: "int", optional: true, doc: "Kamailio debug level, -5..7" }],
      returns: "{debug} | {old, new}",
      handler: ({ level }) => {
        const old = KAMAILIO_LEVEL[getLogLevel()];
        if (level === undefined) return { debug: old };
        const n = level as number;
        if (n < -5 || n > 7) throw RpcError.invalidParam("level", `expected -5..7, got ${n}`);
        setLogLevel(n <= -1 ? "error" : n === 0 ? "warn" : n <= 2 ? "info" : "debug");
        return { old, new: n };
      },
    },
    {
      name: "core.log_level",
      doc: "Gets or sets the global log level by name.",
      params: [{ name: "level", type: "string", optional: true, enum: ["error", "warn", "info", "debug"] }],
      returns: "{level} | {level, previous}",
      handler: ({ level }) => {
        if (level === undefined) return { level: getLogLevel() };
        if (!isLogLevel(level)) throw RpcError.invalidParam("level", "expected error, warn, info or debug");
        const previous = setLogLevel(level);
        return { level, previous };
      },
    },
  ];
}

const XMLRPC_TYPE: Record<RpcParamType, string> = {
  string: "string",
  int: "int",
  number: "double",
  bool: "boolean",
  object: "struct",
  array: "array",
  any: "any",
};

/** XML-RPC introspection: one signature per accepted number of positional params. */
function signatures(m: RpcMethod): string[][] {
  const ret = "any";
  const out: string[][] = [];
  const fixed = m.params.filter((p) => !p.rest);
  const required = fixed.filter((p) => !p.optional).length;
  for (let n = required; n <= fixed.length; n++) out.push([ret, ...fixed.slice(0, n).map((p) => XMLRPC_TYPE[p.type])]);
  const rest = m.params.find((p) => p.rest);
  if (rest) out.push([ret, ...fixed.map((p) => XMLRPC_TYPE[p.type]), `${XMLRPC_TYPE[rest.type]}...`]);
  return out;
}

function unitShift(unit: string | undefined): number {
  if (unit === undefined) return 0;
  const m = /^([bkmg])b?$/i.exec(unit);
  if (!m) throw RpcError.invalidParam("unit", "use b|k|m|g");
  return { b: 0, k: 10, m: 20, g: 30 }[m[1]!.toLowerCase() as "b" | "k" | "m" | "g"];
}

let maxRealUsed = 0;

/** The Node heap in Kamailio's shm terms; max_used is the largest allocation seen by a read. */
function heapInfo(): { total: number; free: number; used: number; realUsed: number; maxUsed: number } {
  const h = getHeapStatistics();
  const realUsed = h.total_heap_size;
  if (realUsed > maxRealUsed) maxRealUsed = realUsed;
  return { total: h.heap_size_limit, free: Math.max(0, h.heap_size_limit - realUsed), used: h.used_heap_size, realUsed, maxUsed: maxRealUsed };
}

/** Kamailio's `shmem:` statistics group (total_size, used_size, …) as gauges over the Node heap. */
function registerShmemStats(stats: StatsRegistry): void {
  const g = stats.group("shmem");
  g.gauge("total_size", () => heapInfo().total);
  g.gauge("used_size", () => heapInfo().used);
  g.gauge("real_used_size", () => heapInfo().realUsed);
  g.gauge("max_used_size", () => heapInfo().maxUsed);
  g.gauge("free_size", () => heapInfo().free);
  g.gauge("fragments", () => 0);
}
