import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Where the Olelo installation is — the repository, or an installed package whose JavaScript runs
 * from dist/ — and its version, found from this file's own location (never from the working
 * directory), so the commands work from any directory.
 *
 * @example
 *   packageRoot(); // "/usr/lib/node_modules/olelo"
 *   packageVersion(); // "0.1.0"
 *   runningFromSources(); // true under tsx / vitest, false in the built package
 */
let root: string | null = null;

export function packageRoot(): string {
  if (root !== null) return root;
  let dir = import.meta.dirname;
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file) && (JSON.parse(readFileSync(file, "utf8")) as { name?: string }).name === "olelo") return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`olelo: no package.json of olelo above ${import.meta.dirname}`);
    dir = up;
  }
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}

/** True when this code runs as TypeScript sources (tsx, vitest), false from the built dist/. */
export function runningFromSources(): boolean {
  return import.meta.url.endsWith(".ts");
}

/** The extension Olelo's own modules have in this installation: ".ts" from sources, ".js" built. */
export function ownModuleExt(): ".ts" | ".js" {
  return runningFromSources() ? ".ts" : ".js";
}
