#!/usr/bin/env -S npx tsx
/**
 * `olelo` (the package bin) / `npm start`: a standalone Olelo data plane. Reads etc/olelo.json
 * (or --config FILE); command-line
 * flags override single settings:
 *   --config FILE   --listen proto:addr:port (repeatable)   --script FILE   --control host:port|off
 *   --set script.settings.nextHop=sip:127.0.0.1:5070        --log-level debug
 *   --check         check the configuration, modules, tables and script, bind nothing, exit 0/1
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve, dirname } from "node:path";
import { buildConfig, loadConfigFile, defaultDataPlaneConfig, parseListen, parseWorkers, ConfigError, type DataPlaneConfig } from "./core/config-file.js";
import { startDataPlane } from "./node.js";
import { createLogger } from "../lib/log/logger.js";
import { packageVersion } from "../lib/pkg/package-info.js";

const log = createLogger("olelo");
const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");

function usage(): never {
  process.stdout.write(
    `usage: olelo [--config FILE] [--listen proto:addr:port]... [--script FILE] [--control host:port|off]\n` +
      `             [--set path.to.key=value]... [--log-level error|warn|info|debug] [--check] [--version]\n` +
      `       (in the repository: npm start -- ARGS)\n` +
      `  --check   check configuration, module parameters, tables and the routing script (type-checked)\n` +
      `            without binding a socket; prints one line per problem (file:line:col: message), exit 0/1\n`,
  );
  process.exit(0);
}

/** The configuration file parseArgs read (for --check messages). */
let usedConfig: string | null = null;

async function parseArgs(argv: string[]): Promise<DataPlaneConfig> {
  let configPath: string | null = null;
  const listens: string[] = [];
  const sets: string[] = [];
  let script: string | null = null;
  let control: string | null = null;
  let level: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new ConfigError(`${a} needs a value`);
      return v;
    };
    if (a === "--help" || a === "-h") usage();
    else if (a === "--version") {
      process.stdout.write(`olelo ${packageVersion()} (Node.js ${process.versions.node})\n`);
      process.exit(0);
    }
    else if (a === "--config" || a === "-c") configPath = next();
    else if (a === "--listen" || a === "-l") listens.push(next());
    else if (a === "--script") script = next();
    else if (a === "--control") control = next();
    else if (a === "--set") sets.push(next());
    else if (a === "--log-level") level = next();
    else if (a === "--check") continue;
    else throw new ConfigError(`unknown argument '${a}' (see --help)`);
  }
  if (!configPath && existsSync(resolve(ROOT, "etc/olelo.json"))) configPath = resolve(ROOT, "etc/olelo.json");
  usedConfig = configPath;
  let raw: Record<string, unknown> = {};
  let base = process.cwd();
  if (configPath) {
    loadConfigFile(configPath); // validates the file alone first, for a clear error
    raw = JSON.parse((await import("node:fs")).readFileSync(configPath, "utf8")) as Record<string, unknown>;
    base = dirname(resolve(configPath));
  }
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--set wants path=value, got '${s}'`);
    const path = s.slice(0, eq).split(".");
    let value: unknown = s.slice(eq + 1);
    try {
      value = JSON.parse(value as string);
    } catch {
      /* keep as string */
    }
    let o: Record<string, unknown> = raw;
    for (const p of path.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[path[path.length - 1]!] = value;
  }
  if (listens.length) raw.listen = listens;
  if (script) raw.script = { ...((raw.script as object) ?? {}), file: resolve(script) };
  if (control) raw.control = control === "off" ? null : { ...((raw.control as object) ?? {}), listen: control };
  if (level) raw.log = { ...((raw.log as object) ?? {}), level };
  const cfg = configPath || Object.keys(raw).length ? buildConfig(raw, base) : defaultDataPlaneConfig(base);
  for (const l of cfg.core.listen) parseListen(`${l.proto}:${l.address.includes(":") ? `[${l.address}]` : l.address}:${l.port}`, "listen");
  return cfg;
}

/**
 * Worker threads for this start: the configuration's `workers`, else OLELO_WORKERS, else "auto"
 * (one per core). With a control plane the primary runs the one sync client (workers/primary-sync.ts).
 */
function workerCount(c: DataPlaneConfig): number {
  let w: number | "auto" = c.workers ?? "auto";
  if (c.workers === null && process.env.OLELO_WORKERS) {
    try {
      w = parseWorkers(process.env.OLELO_WORKERS, "OLELO_WORKERS");
    } catch (e) {
      process.stderr.write(`olelo: ${(e as Error).message}\n`);
      process.exit(2);
    }
  }
  return w === "auto" ? availableParallelism() : w;
}

if (process.argv.includes("--check")) {
  const { runCheck } = await import("./check/run.js");
  process.exit(await runCheck(() => parseArgs(process.argv.slice(2)), () => usedConfig));
}
let cfg: DataPlaneConfig;
try {
  cfg = await parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`olelo: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
const workers = workerCount(cfg);
if (workers > 1) {
  try {
    const { startWorkers } = await import("./workers/primary.js");
    const node = await startWorkers(cfg, workers);
    log.info("olelo data plane running", { node: cfg.core.node, workers, sockets: node.sockets, script: cfg.script.file });
    let stopping = false;
    const stop = async (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.info("stopping", { signal: sig });
      await node.stop();
      process.exit(0);
    };
    process.on("SIGINT", () => void stop("SIGINT"));
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGHUP", () => {
      node.call("script.reload").catch((e: unknown) => log.error("script reload failed; old script kept", { error: String(e) }));
    });
  } catch (e) {
    process.stderr.write(`olelo: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
} else try {
  const dp = await startDataPlane(cfg);
  log.info("olelo data plane running", {
    node: cfg.core.node,
    sockets: dp.core.transport.sockets.map((s) => s.socketString),
    script: dp.script.path,
  });
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal: sig });
    await dp.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  // last line of defence: log and keep routing (the core already isolates per-message failures)
  process.on("uncaughtException", (e) => log.error("uncaught exception", { error: e.stack ?? e.message }));
  process.on("unhandledRejection", (e) => log.error("unhandled rejection", { error: e instanceof Error ? (e.stack ?? e.message) : String(e) }));
  process.on("SIGHUP", () => {
    dp.script.reload().catch((e) => log.error("script reload failed; old script kept", { error: String(e) }));
  });
} catch (e) {
  process.stderr.write(`olelo: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
