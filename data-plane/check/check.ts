/**
 * `olelo --check` (`npm start -- --check [--config FILE] …`), Kamailio's `kamailio -c`: checks a
 * configuration without binding a socket and returns one line per problem, `file:line:col:
 * message` where a position is known. Checked, in order:
 *
 * 1. every module's parameters against its declared schema (all modules, not only the first bad);
 * 2. the modules initialised as at start (list files, table kinds, module-specific rules) with a
 *    SIP client that sends nothing and a throw-away data directory; then destroyed;
 * 3. the table files (`tables`), compiled by the modules that consume them;
 * 4. the routing script, type-checked against the script API (check/script-check.ts), then loaded
 *    with the module APIs as at start;
 * 5. `script.settings` keys the script does not read.
 *
 * The configuration file itself (JSON, known keys, value types) is checked before, by the same
 * parser `npm start` uses (main.ts turns its error into a problem line).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { locateKey, problemLine } from "../../lib/check/locate.js";
import { RpcRegistry } from "../../lib/rpc/registry.js";
import type { DataPlaneConfig } from "../core/config-file.js";
import { EventBus } from "../core/events/bus.js";
import { loadModuleDefinition, loadModules, type LoadedModule } from "../core/module-loader.js";
import type { SipUac } from "../core/module.js";
import { ScriptRuntime } from "../core/script/runtime.js";
import { StatsRegistry } from "../core/stats/counters.js";
import { readTableFile } from "../core/tables/file-loader.js";
import { TableRegistry } from "../core/tables/registry.js";
import { createLogger } from "../../lib/log/logger.js";
import { checkScript } from "./script-check.js";

export interface CheckResult {
  problems: string[];
  /** Informational lines (what was checked, what was skipped). */
  notes: string[];
}

/** A SIP client that sends nothing: modules may start timers during the check, nothing leaves. */
const SILENT_SIP: SipUac = {
  request: () => new Promise(() => {}),
  sendRaw: () => {},
  addReceiveFilter: () => () => {},
};

export async function checkDataPlane(cfg: DataPlaneConfig, configFile: string | null): Promise<CheckResult> {
  const problems: string[] = [];
  const notes: string[] = [];
  const text = configFile ? safeRead(configFile) : "";
  const at = (path: string[], msg: string) => problems.push(configFile ? problemLine(configFile, locateKey(text, path), msg) : `configuration: ${msg}`);

  // 1. module parameters
  let paramsOk = true;
  for (const [name, section] of Object.entries(cfg.modules)) {
    try {
      const def = await loadModuleDefinition(name);
      def.params?.parse(section);
    } catch (e) {
      paramsOk = false;
      const msg = e instanceof Error ? e.message : String(e);
      const param = /parameter '([^']+)'/.exec(msg)?.[1];
      at(param ? ["modules", name, param] : ["modules", name], `modules.${name}: ${msg}`);
    }
  }
  if (!paramsOk) return { problems, notes };

  // 2. modules as at start, with nothing sent and state in a temporary directory
  const dataDir = mkdtempSync(join(tmpdir(), "olelo-check-"));
  const tables = new TableRegistry();
  let modules: LoadedModule[] = [];
  try {
    try {
      modules = await loadModules(cfg.modules, { stats: new StatsRegistry(), rpc: new RpcRegistry(), events: new EventBus(cfg.core.node), tables, sip: SILENT_SIP, dataDir, baseDir: cfg.baseDir });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const name = /module '([^']+)'/.exec(msg)?.[1];
      at(name ? ["modules", name] : ["modules"], msg);
      return { problems, notes };
    }
    // 3. table files
    for (const [kind, file] of Object.entries(cfg.tables)) {
      try {
        const { set, version } = readTableFile(file);
        const r = await tables.loadAsync(kind, set, version, `file:${file}`);
        if (!r.ok) problems.push(`${file}: ${kind}: ${r.error.message}`);
      } catch (e) {
        problems.push(`${file}: ${kind}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    // 4. the routing script: types, then loaded with the module APIs
    const sc = await checkScript(cfg.script.file);
    problems.push(...sc.problems);
    if (sc.skipped) notes.push(`note: ${sc.skipped}`);
    if (sc.problems.length === 0) {
      try {
        await ScriptRuntime.fromFile(cfg.script.file, { modules: Object.fromEntries(modules.map((m) => [m.name, m.api])), log: createLogger("script"), settings: cfg.script.settings });
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        problems.push(/^\S+:\d+:\d+: /.test(msg) ? msg : `${cfg.script.file}: ${msg}`);
      }
    }
    // 5. settings the script never reads
    if (sc.settings) {
      const known = [...sc.settings].sort();
      for (const k of Object.keys(cfg.script.settings)) {
        if (!sc.settings.has(k)) at(["script", "settings", k], `script.settings.${k}: unknown setting; ${cfg.script.file} reads: ${known.join(", ") || "none"}`);
      }
    } else if (!sc.skipped) notes.push("note: the script reads settings dynamically; settings keys not checked");
  } finally {
    for (const m of [...modules].reverse()) {
      try {
        await m.def.destroy?.(m.api);
      } catch {
        /* a module that fails to stop does not change the check's answer */
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { problems, notes };
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
