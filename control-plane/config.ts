/**
 * Control-plane settings: environment variables with defaults, overridden by command-line flags.
 * Parsed and checked once at start (a bad value stops the process with a message naming it).
 *
 *   OLELO_DB_URL        --db-url URL        mysql://root@127.0.0.1:3306/olelo
 *   OLELO_CP_GRPC       --grpc HOST:PORT    127.0.0.1:8071   (table push to data planes)
 *   OLELO_CP_API        --api HOST:PORT     127.0.0.1:8070   (management JSON-RPC)
 *   OLELO_CP_TOKEN      --token TOKEN       (none; required when --api is not loopback)
 *   OLELO_CP_CDC_MS     --cdc-ms N          50               (change-log tail interval; triggers)
 *   OLELO_CP_CDC        --no-cdc            change capture on unless "0"/"false" or the flag
 *   OLELO_CP_POLL_MS    --poll-ms N         60000 (5000 with --no-cdc) (full change check; 0 = off)
 *   OLELO_CP_MIGRATE    --no-migrate        migrations run at start unless "0"/"false" or the flag
 *   OLELO_CP_HOLD       --hold              compiled changes wait for `push` (canary rollouts)
 *   OLELO_CP_SOAK_MS    --soak-ms N         60000            (default canary soak time)
 *   TLS, access and role tokens: security-config.ts (--push-tls-*, --push-access, --api-tls-*, --api-tokens, …)
 *   OLELO_CP_ROW_POLICY --row-policy K=P,.. skip for every kind (bad rows refused alone); hold = all-or-nothing
 *   OLELO_CP_CDR_WEBHOOK          --cdr-webhook URL          (none) POST every CDR there (Billing API)
 *   OLELO_CP_CDR_WEBHOOK_SECRET   --cdr-webhook-secret S     HMAC key of the X-Olelo-Signature header
 *   OLELO_CP_CDR_WEBHOOK_ATTEMPTS --cdr-webhook-attempts N   8 (then the CDR is dead-lettered)
 *   OLELO_CP_CDR_WEBHOOK_RETRY_MS --cdr-webhook-retry-ms N   500 (first retry delay, doubling up to 30 s)
 *
 * @example
 *   const cfg = parseControlPlaneConfig(["--grpc", "0.0.0.0:8071"], process.env);
 */
import { SECURITY_USAGE, applySecurityFlag, checkSecurityConfig, defaultSecurityConfig, type SecurityConfig } from "./security-config.js";
import { KINDS } from "./compile/kinds.js";
import { parseRowPolicies, type RowPolicy } from "./compile/row-isolation.js";

export interface ControlPlaneConfig {
  dbUrl: string;
  grpcHost: string;
  grpcPort: number;
  apiHost: string;
  apiPort: number;
  token: string | undefined;
  pollIntervalMs: number;
  /** Tail interval of the change log (control-plane/push/README.md, "Change capture"); 0 = off. */
  cdcIntervalMs: number;
  migrate: boolean;
  /** Compiled changes wait for `push` (or a canary) instead of going to every node at once. */
  hold: boolean;
  /** Default soak time of a canary push. */
  soakMs: number;
  security: SecurityConfig;
  /** Bad-row policy per kind (kinds not named: skip); see control-plane/compile/row-isolation.ts. */
  rowPolicy: Record<string, RowPolicy>;
  cdrWebhook: { url: string; secret: string; attempts: number; retryMs: number } | null;
  /** Web console files (undefined: dist/ui; null: --no-ui). */
  uiDir: string | null | undefined;
  /** Bearer token node.rpc sends to the data planes' control APIs. */
  nodeRpcToken: string | null;
}

/** A bad setting; the message names the flag or variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Usage text for --help. */
export const CONTROL_PLANE_USAGE = `usage: olelo-cp [options]   (the control plane; in the repository: npm run start:cp -- ARGS)
  --db-url URL        MySQL/MariaDB URL (env OLELO_DB_URL, default mysql://root@127.0.0.1:3306/olelo)
  --grpc HOST:PORT    table push listen address (env OLELO_CP_GRPC, default 127.0.0.1:8071)
  --api HOST:PORT     management API listen address (env OLELO_CP_API, default 127.0.0.1:8070)
  --token TOKEN       management API bearer token (env OLELO_CP_TOKEN)
  --cdc-ms N          change-log tail interval (triggers into olelo_changes) (env OLELO_CP_CDC_MS, default 50)
  --no-cdc            no change capture: no triggers, only the full poll (env OLELO_CP_CDC=0)
  --poll-ms N         full database change check interval, 0 = off (env OLELO_CP_POLL_MS,
                      default 60000, or 5000 with --no-cdc)
  --no-migrate        do not run migrations at start (env OLELO_CP_MIGRATE=0)
  --hold              compiled changes wait for 'push' / 'push --canary' (env OLELO_CP_HOLD=1)
  --soak-ms N         default canary soak time (env OLELO_CP_SOAK_MS, default 60000)
  --row-policy K=P,.. bad-row policy per kind, P = skip (default: refuse bad rows alone)
                      or hold (kind stays at its last good version), e.g. dispatcher=hold,lcr=hold
                      (env OLELO_CP_ROW_POLICY)
  --check             check the options, the database and that every table kind compiles from its
                      rows; binds nothing, changes nothing; one line per problem, exit 0/1
  --cdr-webhook URL   POST every CDR to URL, signed, at least once (env OLELO_CP_CDR_WEBHOOK)
  --cdr-webhook-secret S      HMAC-SHA256 key for X-Olelo-Signature (env OLELO_CP_CDR_WEBHOOK_SECRET; required with --cdr-webhook)
  --cdr-webhook-attempts N    attempts before a CDR is dead-lettered (env OLELO_CP_CDR_WEBHOOK_ATTEMPTS, default 8)
  --cdr-webhook-retry-ms N    first retry delay, doubling up to 30 s (env OLELO_CP_CDR_WEBHOOK_RETRY_MS, default 500)
  --ui-dir DIR        web console files served at /ui/ (env OLELO_CP_UI_DIR, default dist/ui of the installation)
  --no-ui             no web console
  --node-rpc-token T  bearer token node.rpc sends to the data planes' control APIs (env OLELO_CP_NODE_RPC_TOKEN)
${SECURITY_USAGE}
  --help              this text
  --version           print the version and exit`;

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

function rowPolicies(v: string, what: string): Record<string, RowPolicy> {
  try {
    return parseRowPolicies(v, KINDS.map((k) => k.kind));
  } catch (e) {
    throw new ConfigError(`${what}: ${(e as Error).message}`);
  }
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
    pollIntervalMs: -1, // default set below (depends on change capture)
    cdcIntervalMs: env.OLELO_CP_CDC_MS !== undefined ? parseInt0(env.OLELO_CP_CDC_MS, "OLELO_CP_CDC_MS") : 50,
    migrate: !["0", "false", "no"].includes((env.OLELO_CP_MIGRATE ?? "").toLowerCase()),
    hold: ["1", "true", "yes"].includes((env.OLELO_CP_HOLD ?? "").toLowerCase()),
    soakMs: env.OLELO_CP_SOAK_MS !== undefined ? parseInt0(env.OLELO_CP_SOAK_MS, "OLELO_CP_SOAK_MS") : 60_000,
    security: defaultSecurityConfig(env),
    rowPolicy: env.OLELO_CP_ROW_POLICY ? rowPolicies(env.OLELO_CP_ROW_POLICY, "OLELO_CP_ROW_POLICY") : {},
    cdrWebhook: null,
    uiDir: env.OLELO_CP_UI_DIR || undefined,
    nodeRpcToken: env.OLELO_CP_NODE_RPC_TOKEN || null,
    help: false,
  };
  if (env.OLELO_CP_POLL_MS !== undefined) cfg.pollIntervalMs = parseInt0(env.OLELO_CP_POLL_MS, "OLELO_CP_POLL_MS");
  if (["0", "false", "no"].includes((env.OLELO_CP_CDC ?? "").toLowerCase())) cfg.cdcIntervalMs = 0;
  let hookUrl = env.OLELO_CP_CDR_WEBHOOK || undefined;
  let hookSecret = env.OLELO_CP_CDR_WEBHOOK_SECRET || undefined;
  let hookAttempts = env.OLELO_CP_CDR_WEBHOOK_ATTEMPTS !== undefined ? parseInt0(env.OLELO_CP_CDR_WEBHOOK_ATTEMPTS, "OLELO_CP_CDR_WEBHOOK_ATTEMPTS") : 8;
  let hookRetry = env.OLELO_CP_CDR_WEBHOOK_RETRY_MS !== undefined ? parseInt0(env.OLELO_CP_CDR_WEBHOOK_RETRY_MS, "OLELO_CP_CDR_WEBHOOK_RETRY_MS") : 500;
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
      case "--row-policy":
        cfg.rowPolicy = { ...cfg.rowPolicy, ...rowPolicies(value(), "--row-policy") };
        break;
      case "--cdc-ms":
        cfg.cdcIntervalMs = parseInt0(value(), "--cdc-ms");
        break;
      case "--no-cdc":
        cfg.cdcIntervalMs = 0;
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
      case "--cdr-webhook":
        hookUrl = value();
        break;
      case "--cdr-webhook-secret":
        hookSecret = value();
        break;
      case "--cdr-webhook-attempts":
        hookAttempts = parseInt0(value(), "--cdr-webhook-attempts");
        break;
      case "--cdr-webhook-retry-ms":
        hookRetry = parseInt0(value(), "--cdr-webhook-retry-ms");
        break;
      case "--ui-dir":
        cfg.uiDir = value();
        break;
      case "--no-ui":
        cfg.uiDir = null;
        break;
      case "--node-rpc-token":
        cfg.nodeRpcToken = value();
        break;
      case "--help":
      case "-h":
        cfg.help = true;
        break;
      case "--check":
        break; // control-plane/check.ts (main.ts runs it instead of starting)
      default:
        if (!applySecurityFlag(cfg.security, flag, value, (m) => new ConfigError(m))) throw new ConfigError(`unknown option '${arg}'`);
    }
  }
  if (cfg.pollIntervalMs < 0) cfg.pollIntervalMs = cfg.cdcIntervalMs > 0 ? 60_000 : 5000;
  if (hookUrl !== undefined) {
    if (!/^https?:\/\//.test(hookUrl)) throw new ConfigError(`--cdr-webhook: '${hookUrl}' must be an http:// or https:// URL`);
    if (!hookSecret) throw new ConfigError("--cdr-webhook needs --cdr-webhook-secret (or OLELO_CP_CDR_WEBHOOK_SECRET)");
    if (hookAttempts < 1) throw new ConfigError("--cdr-webhook-attempts must be at least 1");
    if (hookRetry < 10) throw new ConfigError("--cdr-webhook-retry-ms must be at least 10");
    cfg.cdrWebhook = { url: hookUrl, secret: hookSecret, attempts: hookAttempts, retryMs: hookRetry };
  }
  if (!/^mysql:\/\//.test(cfg.dbUrl)) throw new ConfigError(`database url '${cfg.dbUrl}' must start with mysql://`);
  if (!cfg.help) {
    const bad = checkSecurityConfig(cfg.security, cfg.grpcHost);
    if (bad) throw new ConfigError(bad);
  }
  return cfg;
}
