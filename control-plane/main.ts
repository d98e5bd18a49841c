/**
 * The control-plane process (`npm run start:cp`): opens the database, runs the migrations, compiles
 * the Kamailio tables into versioned snapshots, serves them to data planes over the gRPC table push
 * and exposes the management API. SIGINT/SIGTERM shut it down in reverse order; a second signal
 * exits at once.
 *
 * @example
 *   OLELO_DB_URL=mysql://olelo:pw@db:3306/kamailio npx tsx control-plane/main.ts --api 0.0.0.0:8070 --token s3cret-token
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { packageVersion } from "../lib/pkg/package-info.js";
import { createLogger } from "../lib/log/logger.js";
import { createManagementServer, type ManagementServer } from "./api/server.js";
import { startCdrWebhook } from "./api/cdr-webhook.js";
import { createDbSnapshotSource, type DbSnapshotSource } from "./compile/source.js";
import { CONTROL_PLANE_USAGE, ConfigError, parseControlPlaneConfig, type ControlPlaneConfig } from "./config.js";
import { createDatabase, type Database } from "./db/connect.js";
import { migrateDatabase } from "./db/migrate.js";
import { setUpChangeCapture } from "./db/cdc-setup.js";
import { createPushServer, type PushServer } from "./push/server.js";
import { createFleetController } from "./push/fleet.js";
import { auditEvent } from "./api/write.js";
import { leastSecretSource } from "./push/least-secret.js";
import { createControlPlaneSecurity, type ControlPlaneSecurity } from "./security.js";

/** Versions per kind that keep their rows in olelo_snapshots (rollback targets, delta bases). */
export const KEEP_SNAPSHOTS = 10;

const log = createLogger("control-plane");

/** A running control plane. */
export interface ControlPlane {
  readonly database: Database;
  readonly source: DbSnapshotSource;
  readonly push: PushServer;
  readonly api: ManagementServer;
  readonly security: ControlPlaneSecurity;
  /** Stops API, push, change check and pool, in that order. */
  close(): Promise<void>;
}

/** Starts every part; on a failure part-way, stops what was started and rethrows. */
export async function startControlPlane(cfg: ControlPlaneConfig): Promise<ControlPlane> {
  const database = createDatabase(cfg.dbUrl);
  const stops: Array<() => Promise<void>> = [() => database.close()];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (e) {
        log.error("shutdown step failed", { error: e instanceof Error ? e.message : String(e) });
      }
    }
  };
  try {
    const security = createControlPlaneSecurity(cfg.security, cfg.token, log);
    stops.push(async () => security.close());
    if (cfg.migrate) {
      const report = await migrateDatabase(database.db, database.pool);
      log.info("database migrated", { applied: report.applied, created: report.created.length, existing: report.existing.length });
      for (const m of report.missingColumns) log.warn("table lacks columns Olelo knows (older Kamailio schema)", { table: m.table, columns: m.columns.join(",") });
    }
    const cdc = await setUpChangeCapture(database.pool, cfg, log);
    const source = await createDbSnapshotSource({ db: database.db, pool: database.pool, ...cdc, rowPolicy: cfg.rowPolicy, keepSnapshots: KEEP_SNAPSHOTS });
    stops.push(() => source.close());
    const pushSource = leastSecretSource(source, { passwords: cfg.security.pushPasswords });
    const fleet = createFleetController({
      source: pushSource,
      hold: cfg.hold,
      policy: { soakMs: cfg.soakMs },
      audit: (actor, action, detail) => auditEvent(database.pool, actor, action, detail),
    });
    stops.push(async () => fleet.close());
    const push = await createPushServer({
      source: pushSource,
      fleet,
      host: cfg.grpcHost,
      port: cfg.grpcPort,
      security: security.push,
      refresh: (kinds, why) => source.refreshKinds(kinds, why),
    });
    fleet.attach(() => push.nodes());
    if (!cfg.security.pushPasswords) {
      log.info("subscriber rows are pushed with ha1/ha1b only (no plaintext passwords): data planes can verify MD5 digests with realm = domain; SHA-256 / SHA-512-256 or other realms need --push-passwords");
    } else log.warn("subscriber plaintext passwords are pushed to the data planes (--push-passwords)");
    stops.push(() => push.close({ graceMs: 2000 }));
    const api = await createManagementServer({
      source,
      db: database.db,
      pool: database.pool,
      host: cfg.apiHost,
      port: cfg.apiPort,
      tokens: security.apiTokens,
      tls: security.apiTls,
      access: {
        reload: () => {
          const connected = () => new Set(push.nodes().filter((n) => n.connected).map((n) => n.nodeId));
          const before = connected();
          const r = security.reload();
          push.revalidate();
          const after = connected();
          return { ...r, cutOff: [...before].filter((n) => !after.has(n)) };
        },
        status: () => security.status(),
      },
      nodes: () => push.nodes(),
      fleet,
      pushStats: () => push.pushStats(),
      uiDir: cfg.uiDir,
      nodeRpcToken: cfg.nodeRpcToken,
    });
    stops.push(() => api.close());
    if (cfg.cdrWebhook) {
      const hook = startCdrWebhook(database.pool, { ...cfg.cdrWebhook, log: createLogger("control-plane.cdr-webhook") });
      stops.push(() => hook.stop());
      log.info("cdr webhook on", { url: cfg.cdrWebhook.url, attempts: cfg.cdrWebhook.attempts });
    }
    log.info("control plane ready", { push: push.address, api: api.url, kinds: source.kinds().join(",") });
    return { database, source, push, api, security, close: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === "--version") {
    process.stdout.write(`olelo-cp ${packageVersion()} (Node.js ${process.versions.node})\n`);
    return;
  }
  if (process.argv.includes("--check")) {
    const { runControlPlaneCheck } = await import("./check.js");
    process.exit(await runControlPlaneCheck(process.argv.slice(2), process.env));
  }
  let cfg: ReturnType<typeof parseControlPlaneConfig>;
  try {
    cfg = parseControlPlaneConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n${CONTROL_PLANE_USAGE}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (cfg.help) {
    process.stdout.write(CONTROL_PLANE_USAGE + "\n");
    return;
  }
  // Signals are handled from the start: a signal during startup stops the process once the parts
  // that did start are closed.
  let cp: ControlPlane | null = null;
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      log.warn("second signal; exiting now", { signal: sig });
      process.exit(1);
    }
    stopping = true;
    log.info("shutting down", { signal: sig });
    if (!cp) return; // startControlPlane is still running; handled below
    cp.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", () => {
    if (!cp) return;
    log.info("SIGHUP: reloading certificates, access and token files");
    cp.security.reload();
    cp.push.revalidate();
  });
  cp = await startControlPlane(cfg);
  if (stopping) {
    await cp.close();
    process.exit(0);
  }
}

// Started as a program (also through an npm bin symlink), not imported by a test.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  main().catch((e: unknown) => {
    log.error("control plane failed to start", { error: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  });
}
