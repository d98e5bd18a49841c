/**
 * Structured logger with a level that can change at runtime (Kamailio's `debug` / corex.debug).
 * Disabled levels cost one integer comparison: callers pass fields lazily, never pre-built strings.
 *
 * @example
 *   const log = createLogger("dispatcher");
 *   log.info("destination down", { uri: "sip:10.0.0.1" });
 */
export type LogLevel = "error" | "warn" | "info" | "debug";

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Where log lines go; tests replace it to capture lines. */
export type LogSink = (line: LogRecord) => void;

export interface LogRecord {
  readonly ts: string;
  readonly level: LogLevel;
  readonly component: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

interface LogState {
  level: number;
  sink: LogSink;
  format: "json" | "text";
}

const state: LogState = {
  level: LEVELS[(process.env.OLELO_LOG_LEVEL as LogLevel) ?? "info"] ?? LEVELS.info,
  sink: defaultSink,
  format: process.env.OLELO_LOG_FORMAT === "json" ? "json" : "text",
};

function defaultSink(rec: LogRecord): void {
  let line: string;
  if (state.format === "json") {
    line = JSON.stringify(rec);
  } else {
    const { ts, level, component, msg, ...rest } = rec;
    const extra = Object.keys(rest).length ? " " + JSON.stringify(rest) : "";
    line = `${ts} ${level.toUpperCase().padEnd(5)} [${component}] ${msg}${extra}`;
  }
  process.stderr.write(line + "\n");
}

/** Sets the global level; returns the previous one. */
export function setLogLevel(level: LogLevel): LogLevel {
  const prev = getLogLevel();
  if (!(level in LEVELS)) throw new Error(`unknown log level '${level}'`);
  state.level = LEVELS[level];
  return prev;
}

export function getLogLevel(): LogLevel {
  return (Object.keys(LEVELS) as LogLevel[]).find((k) => LEVELS[k] === state.level) ?? "info";
}

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === "string" && v in LEVELS;
}

/** Replaces the sink (tests) and the output format. */
export function setLogSink(sink: LogSink | null, format?: "json" | "text"): void {
  state.sink = sink ?? defaultSink;
  if (format) state.format = format;
}

export class Logger {
  constructor(readonly component: string) {}

  enabled(level: LogLevel): boolean {
    return LEVELS[level] <= state.level;
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    if (state.level >= 0) this.emit("error", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    if (state.level >= 1) this.emit("warn", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    if (state.level >= 2) this.emit("info", msg, fields);
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    if (state.level >= 3) this.emit("debug", msg, fields);
  }

  child(component: string): Logger {
    return new Logger(`${this.component}.${component}`);
  }

  private emit(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    state.sink({ ts: new Date().toISOString(), level, component: this.component, msg, ...fields });
  }
}

export function createLogger(component: string): Logger {
  return new Logger(component);
}
