/**
 * `olelo-cp --check` (`npm run start:cp -- --check …`): checks the options (the parser `start` uses),
 * that the database answers, and that every table kind compiles from its rows — without running
 * migrations, writing snapshots or binding a socket. One line per problem, exit 0/1.
 *
 * @example
 *   npm run start:cp -- --check --db-url mysql://olelo:pw@db:3306/kamailio
 *   dispatcher: table dispatcher row 7: destination 'sip:127.0.0.1:99999': bad port
 */
import { CONTROL_PLANE_USAGE, parseControlPlaneConfig } from "./config.js";
import { createDbSnapshotSource } from "./compile/source.js";
import { createDatabase } from "./db/connect.js";
import { setLogLevel } from "../lib/log/logger.js";

export async function runControlPlaneCheck(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  const out = (l: string) => process.stdout.write(l + "\n");
  let cfg;
  try {
    cfg = parseControlPlaneConfig(argv, env);
  } catch (e) {
    out(`options: ${(e as Error).message}`);
    process.stderr.write(CONTROL_PLANE_USAGE + "\n");
    return 1;
  }
  setLogLevel("error");
  const database = createDatabase(cfg.dbUrl);
  const problems: string[] = [];
  let kinds = 0;
  try {
    try {
      await database.pool.query("SELECT 1");
    } catch (e) {
      out(`${cfg.dbUrl.replace(/\/\/[^@]*@/, "//…@")}: database: ${(e as Error).message}`);
      return 1;
    }
    const source = await createDbSnapshotSource({ db: database.db, pool: database.pool, pollIntervalMs: 0, persist: false, rowPolicy: cfg.rowPolicy });
    try {
      for (const k of source.status().kinds) {
        kinds++;
        if (k.lastError) problems.push(`${k.kind}: table ${k.lastError.table}${k.lastError.row !== null ? ` row ${k.lastError.row}` : ""}: ${k.lastError.reason}`);
        // skip policy: the kind compiles without its bad rows, which would be refused at start
        for (const r of k.refused) problems.push(`${k.kind}: table ${r.table} row ${r.key}: ${r.reason} (refused; the other rows go live)`);
      }
    } finally {
      await source.close();
    }
  } catch (e) {
    problems.push(`check failed: ${(e as Error).message}`);
  } finally {
    await database.close();
  }
  for (const p of problems) out(p);
  if (problems.length) {
    out(`olelo-cp --check: ${problems.length} problem${problems.length === 1 ? "" : "s"}`);
    return 1;
  }
  out(`olelo-cp --check: OK (${kinds} table kinds compile from the database)`);
  return 0;
}
