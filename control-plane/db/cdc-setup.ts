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
