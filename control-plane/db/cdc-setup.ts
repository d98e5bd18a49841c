/**
 * Control-plane start: installs the change-capture triggers (cdc-triggers.ts) on every kind table
 * when change capture is on, or removes them with `--no-cdc` (nobody would tail and prune the log).
 * When the triggers cannot be created (no TRIGGER privilege; MySQL with binary logging and without
 * SUPER or log_bin_trust_function_creators) the control plane falls back to polling and says why.
 *
 * @example
 *   const { cdcIntervalMs, pollIntervalMs } = await setUpChangeCapture(pool, cfg, log);
 */
import type { Pool } from "mysql2/promise";
import type { Logger } from "../../lib/log/logger.js";
import { KINDS } from "../compile/kinds.js";
import { dropCdcTriggers, installCdcTriggers } from "./cdc-triggers.js";

/** The intervals to run with after setting up (or failing to set up) change capture. */
export async function setUpChangeCapture(
  pool: Pool,
  cfg: { cdcIntervalMs: number; pollIntervalMs: number },
  log: Logger,
): Promise<{ cdcIntervalMs: number; pollIntervalMs: number }> {
  if (cfg.cdcIntervalMs <= 0) {
    const n = await dropCdcTriggers(pool).catch(() => 0);
    if (n) log.info("change capture off: removed the olelo_cdc_* triggers", { triggers: n });
    return { cdcIntervalMs: 0, pollIntervalMs: cfg.pollIntervalMs };
  }
  try {
    const r = await installCdcTriggers(pool, KINDS.flatMap((k) => k.tables));
    const indexed = await ensureKeyIndexes(pool);
    if (indexed.length) log.info("change capture: indexed the key columns it reads changed rows by", { indexes: indexed.join(",") });
    log.info("change capture on", {
      tailMs: cfg.cdcIntervalMs,
      created: r.created.length,
      replaced: r.replaced.length,
      kept: r.kept.length,
      ...(r.missingTables.length ? { missingTables: r.missingTables.join(",") } : {}),
    });
    return cfg;
  } catch (e) {
    const pollIntervalMs = cfg.pollIntervalMs > 0 ? Math.min(cfg.pollIntervalMs, 5000) : 5000;
    log.error("change capture off: could not install the triggers; polling instead", { error: (e as Error).message, pollMs: pollIntervalMs });
    return { cdcIntervalMs: 0, pollIntervalMs };
  }
}

/**
 * Change capture reads each changed row back by its key column (compile/splice.ts). Kamailio's
 * `prefix_route` has no index at all, so that read scanned the whole table (about a second for
 * 1M rows). A key column that is not the first column of any index gets `olelo_key_<column>`;
 * an extra index leaves Kamailio's columns and tools alone. Returns the `table.index` created.
 */
export async function ensureKeyIndexes(pool: Pool): Promise<string[]> {
  const created: string[] = [];
  for (const k of KINDS) {
    for (const table of k.tables) {
      const key = k.keys?.[table] ?? "id";
      const [have] = (await pool.query(
        "SELECT COUNT(*) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ? AND SEQ_IN_INDEX = 1",
        [table, key],
      )) as unknown as [Array<{ n: number }>];
      if (Number(have[0]?.n ?? 0) > 0) continue;
      const [exists] = (await pool.query("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", [table])) as unknown as [Array<{ n: number }>];
      if (Number(exists[0]?.n ?? 0) === 0) continue;
      const name = `olelo_key_${key}`.slice(0, 64);
      await pool.query(`CREATE INDEX \`${name}\` ON \`${table}\` (\`${key}\`)`);
      created.push(`${table}.${name}`);
    }
  }
  return created;
}
