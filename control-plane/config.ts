/**
 * Control-plane settings: environment variables with defaults, overridden by command-line flags.
 * Parsed and checked once at start (a bad value stops the process with a message naming it).
 *
 *   OLELO_DB_URL        --db-url URL        mysql://root@127.0.0.1:3306/olelo
 *   OLELO_CP_GRPC       --grpc HOST:PORT    127.0.0.1:8071   (table push to data planes)
 *   OLELO_CP_API        --api HOST:PORT     127.0.0.1:8070   (management JSON-RPC)
 *   OLELO_CP_TOKEN      --token TOKEN       (none; required when --api is not loopback)
 *   OLELO_CP_POLL_MS    --poll-ms N         5000             (interval DB change check; 0 = off)
 *   OLELO_CP_MIGRATE    --no-migrate        migrations run at start unless "0"/"false" or the flag
 *   OLELO_CP_HOLD       --hold              compiled changes wait for `push` (canary rollouts)
 *   OLELO_CP_SOAK_MS    --soak-ms N         60000            (default canary soak time)
 *
 * @example
 *   const cfg = parseControlPlaneConfig(["--grpc", "0.0.0.0:8071"], process.env);
 */

export interface ControlPlaneConfig {
  dbUrl: string;
  grpcHost: string;
  grpcPort: number;
  apiHost: string;
  apiPort: number;
  token: string | undefined;
  pollIntervalMs: number;
  migrate: boolean;
  /** Compiled changes wait for `push` (or a canary) instead of going to every node at once. */
  hold: boolean;
  /** Default soak time of a canary push. */
  soakMs: number;
}

/** A bad setting; the message names the flag or variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Usage text for --help. */
export const CONTROL_PLANE_USAGE = `usage: olelo control plane [options]
  --db-url URL        MySQL/MariaDB URL (env OLELO_DB_URL, default mysql://root@127.0.0.1:3306/olelo)
  --grpc HOST:PORT    table push listen address (env OLELO_CP_GRPC, default 127.0.0.1:8071)
  --api HOST:PORT     management API listen address (env OLELO_CP_API, default 127.0.0.1:8070)
  --token TOKEN       management API bearer token (env OLELO_CP_TOKEN)
  --poll-ms N         database change check interval, 0 = off (env OLELO_CP_POLL_MS, default 5000)
  --no-migrate        do not run migrations at start (env OLELO_CP_MIGRATE=0)
  --hold              compiled changes wait for 'push' / 'push --canary' (env OLELO_CP_HOLD=1)
  --soak-ms N         default canary soak time (env OLELO_CP_SOAK_MS, default 60000)
  --help              this text`;

function parseHostPort(v: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(v.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${what}: '${v}' is not HOST:PORT`);
  return { host: m[1] ?? m[2]!, port };
}

function parseInt0(v: string, what: string): number {
  if (!/^\d+$/.test(v.trim())) throw new ConfigError(`${what}: '${v}' is not a non-negative integer`);
  return Number(v);
}

/** Builds the config from `argv` (without node and script) and `env`. Throws ConfigError. */
export function parseControlPlaneConfig(argv: readonly string[], env: Record<string, string | undefined>): ControlPlaneConfig & { help: boolean } {
  const grpc = parseHostPort(env.OLELO_CP_GRPC ?? "127.0.0.1:8071", "OLELO_CP_GRPC");
  const api = parseHostPort(env.OLELO_CP_API ?? "127.0.0.1:8070", "OLELO_CP_API");
  const cfg: ControlPlaneConfig & { help: boolean } = {
    dbUrl: env.OLELO_DB_URL ?? "mysql://root@127.0.0.1:3306/olelo",
    grpcHost: grpc.host,
    grpcPort: grpc.port,
    apiHost: api.host,
    apiPort: api.port,
    token: env.OLELO_CP_TOKEN || undefined,
    pollIntervalMs: env.OLELO_CP_POLL_MS !== undefined ? parseInt0(env.OLELO_CP_POLL_MS, "OLELO_CP_POLL_MS") : 5000,
    migrate: !["0", "false", "no"].includes((env.OLELO_CP_MIGRATE ?? "").toLowerCase()),
    hold: ["1", "true", "yes"].includes((env.OLELO_CP_HOLD ?? "").toLowerCase()),
    soakMs: env.OLELO_CP_SOAK_MS !== undefined ? parseInt0(env.OLELO_CP_SOAK_MS, "OLELO_CP_SOAK_MS") : 60_000,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new ConfigError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--db-url":
        cfg.dbUrl = value();
        break;
      case "--grpc": {
        const hp = parseHostPort(value(), "--grpc");
        cfg.grpcHost = hp.host;
        cfg.grpcPort = hp.port;
        break;
      }
      case "--api": {
        const hp = parseHostPort(value(), "--api");
        cfg.apiHost = hp.host;
        cfg.apiPort = hp.port;
        break;
      }
      case "--token":
        cfg.token = value();
        break;
      case "--poll-ms":
        cfg.pollIntervalMs = parseInt0(value(), "--poll-ms");
        break;
      case "--no-migrate":
        cfg.migrate = false;
        break;
      case "--hold":
        cfg.hold = true;
        break;
      case "--soak-ms":
        cfg.soakMs = parseInt0(value(), "--soak-ms");
        break;
      case "--help":
      case "-h":
        cfg.help = true;
        break;
      default:
        throw new ConfigError(`unknown option '${arg}'`);
    }
  }
  if (!/^mysql:\/\//.test(cfg.dbUrl)) throw new ConfigError(`database url '${cfg.dbUrl}' must start with mysql://`);
  return cfg;
}
