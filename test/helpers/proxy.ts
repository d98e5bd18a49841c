import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConfig } from "../../data-plane/core/config-file.js";
import { startDataPlane, type DataPlane } from "../../data-plane/node.js";
import { setLogLevel } from "../../lib/log/logger.js";

/**
 * Starts an in-process data plane for a test. `raw` is the same JSON shape as etc/olelo.json;
 * control is off unless given, data goes to a temp dir, logging is quiet unless OLELO_TEST_LOG.
 */
export async function startProxy(raw: Record<string, unknown>): Promise<DataPlane> {
  const dir = mkdtempSync(join(tmpdir(), "olelo-test-"));
  const cfg = buildConfig({ control: null, dataDir: dir, log: { level: (process.env.OLELO_TEST_LOG as string) ?? "warn" }, ...raw }, process.cwd());
  const dp = await startDataPlane(cfg);
  setLogLevel(cfg.log.level);
  return dp;
}

export const TEST_SCRIPTS = join(import.meta.dirname, "../scripts");
