import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ModuleDefinition, ModuleHost, SipUac } from "./module.js";
import { singleNode, type NodeShared } from "./workers/node-shared.js";
import type { StatsRegistry } from "./stats/counters.js";
import type { RpcRegistry } from "../../lib/rpc/registry.js";
import type { EventBus } from "./events/bus.js";
import type { TableRegistry } from "./tables/registry.js";
import { createLogger } from "../../lib/log/logger.js";
import { ownModuleExt } from "../../lib/pkg/package-info.js";

const MODULES_DIR = resolve(dirname(new URL(import.meta.url).pathname), "../modules");

export interface LoadedModule {
  name: string;
  def: ModuleDefinition;
  api: unknown;
}

/** Folder name of a module (`prefix_route` → `prefix-route`). */
function folderOf(name: string): string {
  return name.replace(/_/g, "-");
}

/** The definition of one module by its configuration name (`olelo --check` parses its params with it). */
export async function loadModuleDefinition(name: string): Promise<ModuleDefinition> {
  const file = join(MODULES_DIR, folderOf(name), `index${ownModuleExt()}`);
  if (!existsSync(file)) throw new Error(`module '${name}' not found (${file})`);
  const mod = (await import(pathToFileURL(file).href)) as { default?: ModuleDefinition };
  if (!mod.default || typeof mod.default.init !== "function") throw new Error(`module '${name}': index.ts must default-export defineModule(...)`);
  return mod.default;
}

/**
 * Loads the configured modules in dependency order (`requires`), giving each a ModuleHost.
 * Throws naming the module when one is missing or fails to initialise.
 */
export async function loadModules(
  configs: Record<string, Record<string, unknown>>,
  deps: {
    stats: StatsRegistry;
    rpc: RpcRegistry;
    events: EventBus;
    tables: TableRegistry;
    sip: SipUac;
    dataDir: string;
    baseDir: string;
    node?: NodeShared;
  },
): Promise<LoadedModule[]> {
  const defs = new Map<string, ModuleDefinition>();
  const pending = [...Object.keys(configs)];
  while (pending.length) {
    const name = pending.shift()!;
    if (defs.has(name)) continue;
    const def = await loadModuleDefinition(name);
    defs.set(name, def);
    for (const r of def.requires ?? []) if (!defs.has(r) && !pending.includes(r)) pending.push(r);
  }
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (n: string) => {
    if (order.includes(n)) return;
    if (visiting.has(n)) throw new Error(`module dependency cycle at '${n}'`);
    visiting.add(n);
    for (const r of defs.get(n)!.requires ?? []) visit(r);
    for (const r of defs.get(n)!.optional ?? []) if (defs.has(r)) visit(r);
    visiting.delete(n);
    order.push(n);
  };
  for (const n of defs.keys()) visit(n);
  const loaded: LoadedModule[] = [];
  const node = deps.node ?? singleNode();
  const apis: Record<string, unknown> = {};
  for (const name of order) {
    const def = defs.get(name)!;
    const dataDir = join(deps.dataDir, name);
    mkdirSync(dataDir, { recursive: true });
    const host: ModuleHost = {
      name,
      config: configs[name] ?? {},
      log: createLogger(name),
      stats: deps.stats,
      rpc: deps.rpc,
      events: deps.events,
      tables: deps.tables,
      sip: deps.sip,
      dataDir,
      resolvePath: (p: string) => resolve(deps.baseDir, p),
      node,
      modules: Object.fromEntries([...(def.requires ?? []), ...(def.optional ?? []).filter((r) => r in apis)].map((r) => [r, apis[r]])),
    };
    let api: unknown;
    try {
      api = await def.init(host);
    } catch (e) {
      throw new Error(`module '${name}' failed to initialise: ${e instanceof Error ? e.message : String(e)}`);
    }
    apis[name] = api;
    loaded.push({ name, def, api });
  }
  return loaded;
}
