/**
 * Loads a routing script file, fresh on every call. The script (a TypeScript or JavaScript module)
 * is compiled with esbuild into one ES module in a private temporary folder and imported from
 * there under a new name, so a reload always runs what is on disk now — whatever loader runs the
 * process (tsx, plain Node on the built package, vitest) and wherever the script lives. Files the
 * script imports from outside the Olelo installation (an operator's helpers beside a script in
 * /etc/olelo) are bundled with it, so editing one and reloading takes effect too. Olelo's own files
 * and npm packages stay external, imported by their absolute path, so the script shares the running
 * process' modules and their state (for a script inside the installation, only the entry file is
 * compiled afresh).
 *
 * A file that does not compile is refused with `file:line:col: reason`; nothing is swapped.
 *
 * @example
 *   const mod = await importScriptModule("/etc/olelo/route.ts"); // { default: defineScript(...) }
 */
import { build, type Message, type Plugin } from "esbuild";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep, basename } from "node:path";
import { pathToFileURL } from "node:url";
import { ownModuleExt, packageRoot, runningFromSources } from "../../../lib/pkg/package-info.js";

/** The Olelo installation (repository or package root): its files are never bundled into a script. */
const OLELO_ROOT = packageRoot();

/**
 * `import … from "olelo/script"` names the script API of the running installation, wherever the
 * script lives (package.json "exports" has the same entry for editors and tsc): the running
 * process' own module, so the script shares its state.
 */
const SCRIPT_API = pathToFileURL(resolve(import.meta.dirname, `context${ownModuleExt()}`)).href;

/** True when `file` can be imported as it is (one shared module instance) instead of compiled. */
export function importableAsIs(file: string): boolean {
  return inside(OLELO_ROOT, resolve(file)) && (runningFromSources() || /\.m?js$/.test(file));
}

let outDir: string | null = null;
let generation = 0;

function scriptOutDir(): string {
  if (outDir === null) {
    outDir = mkdtempSync(join(tmpdir(), "olelo-script-"));
    const dir = outDir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  mkdirSync(outDir, { recursive: true });
  return outDir;
}

const inside = (dir: string, p: string): boolean => {
  const r = relative(dir, p);
  return r === "" || (!r.startsWith("..") && !r.startsWith(sep) && !/^[a-zA-Z]:/.test(r));
};

/** Script-local files are bundled; Olelo's files and packages are imported where they are. */
function externalsPlugin(): Plugin {
  return {
    name: "olelo-script-externals",
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === "entry-point" || args.pluginData === "olelo-inner") return undefined;
        if (args.path.startsWith("node:")) return { path: args.path, external: true };
        if (args.path === "olelo/script") return { path: SCRIPT_API, external: true };
        if (args.path === "olelo" || args.path.startsWith("olelo/")) {
          return { errors: [{ text: `'${args.path}': the script API is imported from "olelo/script"` }] };
        }
        const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: "olelo-inner" });
        if (r.errors.length > 0) return { errors: r.errors };
        if (r.external || !r.path) return { path: args.path, external: true };
        const p = r.path;
        const local = !p.includes(`${sep}node_modules${sep}`) && !inside(OLELO_ROOT, p);
        if (local) return { path: p };
        return { path: pathToFileURL(p).href, external: true };
      });
    },
  };
}

function formatMessage(m: Message, cwd: string): string {
  const at = m.location ? `${resolve(cwd, m.location.file)}:${m.location.line}:${m.location.column + 1}: ` : "";
  return `${at}${m.text}`;
}

/**
 * Compiles `path` and imports the result as a new module. Throws an Error whose message is one
 * line per compile error (`file:line:col: reason`) when the file does not compile.
 */
export async function importScriptModule(path: string): Promise<Record<string, unknown>> {
  const file = resolve(path);
  let code: string;
  try {
    const out = await build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      target: "node24",
      sourcemap: "inline",
      logLevel: "silent",
      absWorkingDir: dirname(file),
      define: {
        "import.meta.url": JSON.stringify(pathToFileURL(file).href),
        "import.meta.filename": JSON.stringify(file),
        "import.meta.dirname": JSON.stringify(dirname(file)),
      },
      plugins: [externalsPlugin()],
    });
    code = out.outputFiles[0]!.text;
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) throw new Error(errors.map((m) => formatMessage(m, dirname(file))).join("\n"));
    throw e;
  }
  const target = join(scriptOutDir(), `${basename(file).replace(/\.[^.]+$/, "")}.${process.pid}.${++generation}.mjs`);
  writeFileSync(target, code);
  try {
    return (await import(pathToFileURL(target).href)) as Record<string, unknown>;
  } finally {
    rmSync(target, { force: true });
  }
}
