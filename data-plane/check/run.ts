/**
 * The `--check` command of data-plane/main.ts: parses the configuration as `npm start` does, runs
 * check.ts, prints one line per problem to stdout and returns the exit code (0 no problem, 1
 * problems).
 *
 * @example
 *   npm start -- --check --config /etc/olelo/olelo.json
 *   /etc/olelo/olelo.json:12:7: modules.dispatcher: dispatcher: parameter 'ping_interval' expected an integer, got "x"
 */
import { readFileSync } from "node:fs";
import { jsonErrorPosition, locateKey, problemLine } from "../../lib/check/locate.js";
import { setLogLevel } from "../../lib/log/logger.js";
import type { DataPlaneConfig } from "../core/config-file.js";
import { checkDataPlane } from "./check.js";

export async function runCheck(parse: () => Promise<DataPlaneConfig>, configFile: () => string | null): Promise<number> {
  const out = (l: string) => process.stdout.write(l + "\n");
  let cfg: DataPlaneConfig;
  try {
    cfg = await parse();
  } catch (e) {
    out(configProblem(configFile(), e instanceof Error ? e.message : String(e)));
    return 1;
  }
  setLogLevel(process.argv.includes("--log-level") ? cfg.log.level : "error");
  const file = configFile();
  let r;
  try {
    r = await checkDataPlane(cfg, file);
  } catch (e) {
    out(`${file ?? "configuration"}: check failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  for (const p of r.problems) out(p);
  for (const n of r.notes) process.stderr.write(n + "\n");
  if (r.problems.length) {
    out(`olelo --check: ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}`);
    return 1;
  }
  out(`olelo --check: ${file ?? "built-in defaults"} OK (modules: ${Object.keys(cfg.modules).join(", ") || "none"}; tables: ${Object.keys(cfg.tables).join(", ") || "none"}; script: ${cfg.script.file})`);
  return 0;
}

/** A configuration error as `file:line:col: message`, placed at the key it names when found. */
function configProblem(file: string | null, msg: string): string {
  if (!file) return `configuration: ${msg}`;
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return `${file}: ${msg}`;
  }
  const body = msg.startsWith(`${file}: `) ? msg.slice(file.length + 2) : msg;
  if (/invalid JSON/.test(msg)) return problemLine(file, jsonErrorPosition(text, msg), body);
  const path = /'([A-Za-z0-9_$.[\]-]+)'/.exec(body)?.[1] ?? /^([A-Za-z0-9_$.[\]-]+):/.exec(body)?.[1];
  const segs = path ? path.replace(/\[\d+\]/g, "").split(".").filter(Boolean) : [];
  return problemLine(file, segs.length ? locateKey(text, segs) : null, body);
}
