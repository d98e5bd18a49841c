import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DEFAULT_CORE_CONFIG, type CoreConfig } from "./config.js";
import type { ListenSpec } from "./transport/listen-socket.js";
import { parseSocketString } from "./transport/listen-socket.js";
import { isLogLevel, type LogLevel } from "../../lib/log/logger.js";
import { ownModuleExt } from "../../lib/pkg/package-info.js";
import { parseDns, parseTlsGlobal, parseTlsServer, parseWs, GatewayConfigError } from "./transport/gateway-config.js";

/**
 * The data plane's configuration file (JSON). Every key is optional; see etc/olelo.json for the
 * shipped defaults and README "Configuration" for each setting.
 */
export interface DataPlaneConfig {
  core: CoreConfig;
  script: { file: string; settings: Record<string, unknown> };
  control: { host: string; port: number; token: string | null; fifo: string | null; dgram: string | null } | null;
  modules: Record<string, Record<string, unknown>>;
  /** Table kind → JSON table file (`{ "table": [rows] }`) for standalone mode. */
  tables: Record<string, string>;
  controlPlane: {
    url: string;
    cacheDir: string | null;
    backoff: { initialMs?: number; maxMs?: number };
    deltaBase: "memory" | "cache" | "off";
    /** Sent in Hello; canary pushes select nodes by them (e.g. {"zone": "eu"}). */
    labels: Record<string, string>;
    /** How often health counters (StatsReport) go to the control plane; default 5000 ms. */
    statsIntervalMs: number;
    /** TLS to the control plane: fleet CA, and this node's certificate + key for mutual TLS (paths resolved). */
    tls: { ca: string; cert: string | null; key: string | null; serverName: string | null; crl?: string | null } | null;
    /** Per-node bearer token (server-only TLS). */
    token: string | null;
  } | null;
  dataDir: string;
  /**
   * Worker threads sharing the listen sockets (data-plane/core/workers/README.md): a number, "auto"
   * (one per core), or null when the file does not say (then OLELO_WORKERS, else "auto").
   */
  workers: number | "auto" | null;
  log: { level: LogLevel; format: "text" | "json" };
  /** Directory of the configuration file: relative paths resolve against it. */
  baseDir: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const HERE = dirname(new URL(import.meta.url).pathname);
export const DEFAULT_SCRIPT = resolve(HERE, `../scripts/default${ownModuleExt()}`);

export function defaultDataPlaneConfig(baseDir = process.cwd()): DataPlaneConfig {
  return {
    core: structuredClone(DEFAULT_CORE_CONFIG),
    script: { file: DEFAULT_SCRIPT, settings: {} },
    control: { host: "127.0.0.1", port: 8060, token: null, fifo: null, dgram: null },
    modules: {},
    tables: {},
    controlPlane: null,
    dataDir: resolve(baseDir, ".olelo"),
    workers: null,
    log: { level: "info", format: "text" },
    baseDir,
  };
}

/** Reads and validates a configuration file; throws ConfigError naming the bad key. */
export function loadConfigFile(path: string): DataPlaneConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read configuration ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: invalid JSON: ${(e as Error).message}`);
  }
  return buildConfig(raw, dirname(resolve(path)));
}

/** Builds a configuration from a parsed JSON object (also used by tests). */
export function buildConfig(raw: unknown, baseDir: string): DataPlaneConfig {
  const cfg = defaultDataPlaneConfig(baseDir);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError("configuration must be a JSON object");
  const r = raw as Record<string, unknown>;
  const known = new Set(["node", "listen", "aliases", "script", "control", "core", "modules", "tables", "controlPlane", "dataDir", "workers", "log", "tls", "ws", "dns", "$comment"]);
  for (const k of Object.keys(r)) if (!known.has(k)) throw new ConfigError(`unknown configuration key '${k}'`);
  if (r.node !== undefined) cfg.core.node = str(r.node, "node");
  if (r.listen !== undefined) {
    if (!Array.isArray(r.listen) || r.listen.length === 0) throw new ConfigError("'listen' must be a non-empty array");
    cfg.core.listen = r.listen.map((l, i) => parseListen(l, `listen[${i}]`));
  }
  if (r.aliases !== undefined) {
    if (!Array.isArray(r.aliases)) throw new ConfigError("'aliases' must be an array of host[:port]");
    cfg.core.aliases = r.aliases.map((a, i) => str(a, `aliases[${i}]`));
  }
  if (r.script !== undefined) {
    const s = obj(r.script, "script");
    if (s.file !== undefined) cfg.script.file = resolve(baseDir, str(s.file, "script.file"));
    if (s.settings !== undefined) cfg.script.settings = obj(s.settings, "script.settings");
  }
  if (r.control !== undefined) {
    if (r.control === null || r.control === false) cfg.control = null;
    else {
      const c = obj(r.control, "control");
      const ctl = cfg.control ?? { host: "127.0.0.1", port: 8060, token: null, fifo: null, dgram: null };
      if (c.listen !== undefined) {
        const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(str(c.listen, "control.listen"));
        if (!m) throw new ConfigError("'control.listen' must be host:port");
        ctl.host = m[1]!.replace(/^\[|\]$/g, "");
        ctl.port = Number(m[2]);
      }
      if (c.token !== undefined) ctl.token = c.token === null ? null : str(c.token, "control.token");
      if (c.fifo !== undefined) ctl.fifo = c.fifo === null ? null : str(c.fifo, "control.fifo");
      if (c.dgram !== undefined) ctl.dgram = c.dgram === null ? null : str(c.dgram, "control.dgram");
      cfg.control = ctl;
    }
  }
  if (r.core !== undefined) mergeCore(cfg.core, obj(r.core, "core"));
  gatewaySettings(cfg, r, baseDir);
  if (r.modules !== undefined) {
    const m = obj(r.modules, "modules");
    for (const [name, v] of Object.entries(m)) {
      if (!/^[a-z][a-z0-9_-]*$/.test(name)) throw new ConfigError(`modules: bad module name '${name}'`);
      cfg.modules[name] = v === true ? {} : obj(v, `modules.${name}`);
    }
  }
  if (r.tables !== undefined) {
    const t = obj(r.tables, "tables");
    for (const [kind, v] of Object.entries(t)) cfg.tables[kind] = resolve(baseDir, str(v, `tables.${kind}`));
  }
  if (r.controlPlane !== undefined && r.controlPlane !== null) {
    const c = obj(r.controlPlane, "controlPlane");
    const backoff: { initialMs?: number; maxMs?: number } = {};
    if (c.backoff !== undefined) {
      const b = obj(c.backoff, "controlPlane.backoff");
      for (const k of ["initialMs", "maxMs"] as const) {
        if (b[k] === undefined) continue;
        if (typeof b[k] !== "number" || !(b[k] as number > 0)) throw new ConfigError(`'controlPlane.backoff.${k}' must be a positive number`);
        backoff[k] = b[k] as number;
      }
    }
    let deltaBase: "memory" | "cache" | "off" = "memory";
    if (c.deltaBase !== undefined) {
      if (c.deltaBase !== "memory" && c.deltaBase !== "cache" && c.deltaBase !== "off") {
        throw new ConfigError("'controlPlane.deltaBase' must be memory, cache or off");
      }
      deltaBase = c.deltaBase;
    }
    const labels: Record<string, string> = {};
    if (c.labels !== undefined) {
      for (const [k, v] of Object.entries(obj(c.labels, "controlPlane.labels"))) {
        if (!/^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,62}$/.test(k)) throw new ConfigError(`'controlPlane.labels': bad label name '${k}' (1-63 of [A-Za-z0-9_./-])`);
        if (typeof v !== "string" || v.length > 128 || /[\s,=]/.test(v)) throw new ConfigError(`'controlPlane.labels.${k}' must be a string of at most 128 characters without spaces, ',' or '='`);
        labels[k] = v;
      }
    }
    const statsIntervalMs = c.statsIntervalMs === undefined ? 5000 : c.statsIntervalMs;
    if (typeof statsIntervalMs !== "number" || !(statsIntervalMs >= 100)) throw new ConfigError("'controlPlane.statsIntervalMs' must be a number >= 100");
    let tls: NonNullable<DataPlaneConfig["controlPlane"]>["tls"] = null;
    if (c.tls !== undefined && c.tls !== null) {
      const t = obj(c.tls, "controlPlane.tls");
      for (const k of Object.keys(t)) if (!["ca", "cert", "key", "serverName", "crl"].includes(k)) throw new ConfigError(`unknown key 'controlPlane.tls.${k}'`);
      const file = (k: string) => (t[k] === undefined || t[k] === null ? null : resolve(baseDir, str(t[k], `controlPlane.tls.${k}`)));
      const ca = file("ca");
      if (!ca) throw new ConfigError("'controlPlane.tls.ca' is required (the CA that signed the control plane's certificate)");
      tls = { ca, cert: file("cert"), key: file("key"), serverName: t.serverName === undefined ? null : str(t.serverName, "controlPlane.tls.serverName"), ...(file("crl") ? { crl: file("crl") } : {}) };
      if (!!tls.cert !== !!tls.key) throw new ConfigError("'controlPlane.tls' needs both cert and key, or neither");
    }
    let token = c.token === undefined || c.token === null ? null : str(c.token, "controlPlane.token");
    if (c.tokenFile !== undefined && c.tokenFile !== null) {
      if (token !== null) throw new ConfigError("give 'controlPlane.token' or 'controlPlane.tokenFile', not both");
      const file = resolve(baseDir, str(c.tokenFile, "controlPlane.tokenFile"));
      try {
        token = readFileSync(file, "utf8").trim();
      } catch (e) {
        throw new ConfigError(`'controlPlane.tokenFile' ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (token === "") throw new ConfigError(`'controlPlane.tokenFile' ${file} is empty`);
    }
    if (token !== null && !tls) throw new ConfigError("'controlPlane.token' needs 'controlPlane.tls' (a token is never sent in plaintext)");
    cfg.controlPlane = {
      tls,
      token,
      deltaBase,
      labels,
      statsIntervalMs,
      url: str(c.url, "controlPlane.url"),
      cacheDir: c.cacheDir === undefined ? null : resolve(baseDir, str(c.cacheDir, "controlPlane.cacheDir")),
      backoff,
    };
  }
  if (r.dataDir !== undefined) cfg.dataDir = resolve(baseDir, str(r.dataDir, "dataDir"));
  if (r.workers !== undefined) cfg.workers = parseWorkers(r.workers, "workers");
  if (r.log !== undefined) {
    const l = obj(r.log, "log");
    if (l.level !== undefined) {
      if (!isLogLevel(l.level)) throw new ConfigError("'log.level' must be error, warn, info or debug");
      cfg.log.level = l.level;
    }
    if (l.format !== undefined) {
      if (l.format !== "text" && l.format !== "json") throw new ConfigError("'log.format' must be text or json");
      cfg.log.format = l.format;
    }
  }
  return cfg;
}

/** `"udp:127.0.0.1:5060"` or `{ socket, advertise?, name?, tls?, ws? }`. */
export function parseListen(v: unknown, where: string): ListenSpec {
  let socket: string;
  let advertise: string | undefined;
  let name: string | undefined;
  let tls: Record<string, unknown> | undefined;
  let ws: Record<string, unknown> | undefined;
  if (typeof v === "string") socket = v;
  else {
    const o = obj(v, where);
    socket = str(o.socket, `${where}.socket`);
    if (o.advertise !== undefined) advertise = str(o.advertise, `${where}.advertise`);
    if (o.name !== undefined) name = str(o.name, `${where}.name`);
    if (o.tls !== undefined) tls = obj(o.tls, `${where}.tls`);
    if (o.ws !== undefined) ws = obj(o.ws, `${where}.ws`);
  }
  const p = parseSocketString(socket);
  if (!p) throw new ConfigError(`${where}: bad socket '${socket}' (want proto:address:port)`);
  let adv: { host: string; port: number } | null = null;
  if (advertise) {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(advertise);
    if (!m) throw new ConfigError(`${where}.advertise: want host[:port]`);
    adv = { host: m[1]!.replace(/^\[|\]$/g, ""), port: m[2] ? Number(m[2]) : p.port };
  }
  return { ...p, advertise: adv, name: name ?? null, tls: tls ?? null, ws: ws ?? null };
}

/**
 * Transport gateway settings (transport/gateway-config.ts): top-level `tls`, `ws`, `dns`, and each
 * tls/ws/wss listener's `tls` / `ws` block, validated here so a bad file fails at load time.
 */
function gatewaySettings(cfg: DataPlaneConfig, r: Record<string, unknown>, baseDir: string): void {
  try {
    if (r.tls !== undefined) cfg.core.tls = parseTlsGlobal(r.tls, baseDir);
    if (r.ws !== undefined) cfg.core.ws = parseWs(r.ws, "ws");
    if (r.dns !== undefined) cfg.core.dns = parseDns(r.dns);
    cfg.core.listen.forEach((l, i) => {
      const secure = l.proto === "tls" || l.proto === "wss";
      if (secure && !l.tls) throw new GatewayConfigError(`listen[${i}]: a ${l.proto} listener needs a 'tls' block with cert and key`);
      if (l.tls) l.tls = parseTlsServer(l.tls, `listen[${i}].tls`, baseDir) as unknown as Record<string, unknown>;
      if (l.ws) l.ws = parseWs(l.ws, `listen[${i}].ws`, cfg.core.ws) as unknown as Record<string, unknown>;
    });
  } catch (e) {
    if (e instanceof GatewayConfigError) throw new ConfigError(e.message);
    throw e;
  }
}

function mergeCore(core: CoreConfig, c: Record<string, unknown>): void {
  for (const [section, v] of Object.entries(c)) {
    const target = (core as unknown as Record<string, unknown>)[section];
    if (target === undefined || section === "listen" || section === "aliases" || section === "node") {
      throw new ConfigError(`unknown core setting 'core.${section}'`);
    }
    if (typeof target === "object" && target !== null) {
      const src = obj(v, `core.${section}`);
      for (const [k, val] of Object.entries(src)) {
        const cur = (target as Record<string, unknown>)[k];
        if (cur === undefined) throw new ConfigError(`unknown core setting 'core.${section}.${k}'`);
        if (typeof cur !== typeof val) throw new ConfigError(`core.${section}.${k}: expected ${typeof cur}`);
        (target as Record<string, unknown>)[k] = val;
      }
    } else {
      if (typeof target !== typeof v && !(target === null && typeof v === "string")) throw new ConfigError(`core.${section}: expected ${typeof target}`);
      (core as unknown as Record<string, unknown>)[section] = v;
    }
  }
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string" || v.length === 0) throw new ConfigError(`'${where}' must be a non-empty string`);
  return v;
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new ConfigError(`'${where}' must be an object`);
  return v as Record<string, unknown>;
}

/** `workers`: a whole number 1..1024 or "auto"; throws ConfigError naming `where`. */
export function parseWorkers(v: unknown, where: string): number | "auto" {
  if (v === "auto") return "auto";
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 1024) throw new ConfigError(`'${where}' must be "auto" or a whole number 1..1024, got ${JSON.stringify(v)}`);
  return n;
}
