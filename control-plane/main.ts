/**
 * The control-plane process (`npm run start:cp`): opens the database, runs the migrations, compiles
 * the Kamailio tables into versioned snapshots, serves them to data planes over the gRPC table push
 * and exposes the management API. SIGINT/SIGTERM shut it down in reverse order; a second signal
 * exits at once.
 *
 * @example
 *   OLELO_DB_URL=mysql://olelo:pw@db:3306/kamailio npx tsx control-plane/main.ts --api 0.0.0.0:8070 --token s3cret-token
 */
import { pathToFileURL } from "node:url";
import { createLogger } from "../lib/log/logger.js";
import { createManagementServer, type ManagementServer } from "./api/server.js";
import { createDbSnapshotSource, type DbSnapshotSource } from "./compile/source.js";
import { CONTROL_PLANE_USAGE, ConfigError, parseControlPlaneConfig, type ControlPlaneConfig } from "./config.js";
import { createDatabase, type Database } from "./db/connect.js";
import { migrateDatabase } from "./db/migrate.js";
import { createPushServer, type PushServer } from "./push/server.js";
import { createFleetController } from "./push/fleet.js";
import { auditEvent } from "./api/write.js";

/** Versions per kind that keep their rows in olelo_snapshots (rollback targets, delta bases). */
export const KEEP_SNAPSHOTS = 10;

const log = createLogger("control-plane");

/** A running control plane. */
export interface ControlPlane {
  readonly database: Database;
  readonly source: DbSnapshotSource;
  readonly push: PushServer;
  readonly api: ManagementServer;
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
    if (cfg.migrate) {
      const report = await migrateDatabase(database.db, database.pool);
      log.info("database migrated", { applied: report.applied, created: report.created.length, existing: report.existing.length });
      for (const m of report.missingColumns) log.warn("table lacks columns Olelo knows (older Kamailio schema)", { table: m.table, columns: m.columns.join(",") });
    }
    const source = await createDbSnapshotSource({ db: database.db, pool: database.pool, pollIntervalMs: cfg.pollIntervalMs, keepSnapshots: KEEP_SNAPSHOTS });
    stops.push(() => source.close());
    const fleet = createFleetController({
      source,
      hold: cfg.hold,
      policy: { soakMs: cfg.soakMs },
      audit: (actor, action, detail) => auditEvent(database.pool, actor, action, detail),
    });
    stops.push(async () => fleet.close());
    const push = await createPushServer({ source, fleet, host: cfg.grpcHost, port: cfg.grpcPort });
    fleet.attach(() => push.nodes());
    stops.push(() => push.close({ graceMs: 2000 }));
    const api = await createManagementServer({
      source,
      db: database.db,
      pool: database.pool,
      host: cfg.apiHost,
      port: cfg.apiPort,
      token: cfg.token,
      nodes: () => push.nodes(),
      fleet,
    });
    stops.push(() => api.close());
    log.info("control plane ready", { push: push.address, api: api.url, kinds: source.kinds().join(",") });
    return { database, source, push, api, close: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

async function main(): Promise<void> {
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
  cp = await startControlPlane(cfg);
  if (stopping) {
    await cp.close();
    process.exit(0);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    log.error("control plane failed to start", { error: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  });
}
