/**
 * `npm run build`: compiles Olelo to JavaScript in dist/, one .js file per TypeScript source (same
 * tree: dist/data-plane/…, dist/lib/…), so that modules and scripts found by path at run time are
 * still found. Tests, fixtures and test helpers are left out. The three programs get a
 * `#!/usr/bin/env node` line and the executable bit (olectl is bundled into one file, for start-up time): dist/data-plane/main.js (bin `olelo`),
 * dist/control-plane/main.js (`olelo-cp`), dist/cli/olectl.js (`olectl`). The control plane's SQL
 * migrations are copied beside its code. Type declarations of the script API (`olelo/script`) are
 * emitted by tsc (tsconfig.build.json) next to the JavaScript. The web console (ui/) is type-checked
 * (ui/tsconfig.json) and built by Vite into dist/ui/, the static files the control plane serves at /ui/.
 *
 * @example
 *   npm run build && node_modules/.bin/node dist/data-plane/main.js --version
 */
import { build, transform } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { build as viteBuild } from "vite";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "dist");
const SOURCES = ["lib", "tables", "gen", "data-plane", "control-plane", "cli"];
const PROGRAMS = ["data-plane/main.js", "control-plane/main.js", "cli/olectl.js"];
const SKIP = /(\.test\.ts$|\.d\.ts$|(^|\/)(fixtures|testing)\/)/;

function walk(dir: string, into: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, into);
    else if (p.endsWith(".ts") && !SKIP.test(relative(ROOT, p))) into.push(p);
  }
  return into;
}

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  const files = SOURCES.flatMap((d) => walk(join(ROOT, d), []));
  for (const file of files) {
    const rel = relative(ROOT, file).replace(/\.ts$/, ".js");
    const src = readFileSync(file, "utf8").replace(/^#!.*\n/, "");
    const out = await transform(src, { loader: "ts", format: "esm", platform: "node", target: "node24", sourcefile: file, sourcemap: "inline" });
    const target = join(OUT, rel);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, (PROGRAMS.includes(rel) ? "#!/usr/bin/env node\n" : "") + out.code);
    if (PROGRAMS.includes(rel)) chmodSync(target, 0o755);
  }
  // olectl starts for every command: one bundled file (npm packages still imported) loads faster.
  const cli = await build({
    entryPoints: [join(ROOT, "cli/olectl.ts")],
    outfile: join(OUT, "cli/olectl.js"),
    write: false,
    bundle: true,
    packages: "external",
    format: "esm",
    platform: "node",
    target: "node24",
    logLevel: "warning",
  });
  writeFileSync(join(OUT, "cli/olectl.js"), "#!/usr/bin/env node\n" + cli.outputFiles[0]!.text.replace(/^#!.*\n/, ""));
  cpSync(join(ROOT, "control-plane/drizzle"), join(OUT, "control-plane/drizzle"), { recursive: true });
  execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
  const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", join(ROOT, "ui/tsconfig.json")], { stdio: "inherit" });
  await viteBuild({ configFile: join(ROOT, "ui/vite.config.ts"), logLevel: "warn" });
  process.stdout.write(`build: ${files.length} files compiled to ${relative(process.cwd(), OUT) || "."}/, web console in ${relative(process.cwd(), join(OUT, "ui"))}/\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`build: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
