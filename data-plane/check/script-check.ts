/**
 * `olelo --check` for the routing script: type-checks it (and the files it imports) against the
 * script API with the TypeScript compiler API, with the repository's compiler options, and finds
 * the `script.settings` keys it reads, so unknown keys in the configuration can be reported.
 *
 * Settings are not declared by a schema: a script reads them as `settings.name`,
 * `settings["name"]` or `const { name } = settings` (data-plane/scripts/default.ts documents its
 * list in its header). The scan reads those forms in the script's own files (its folder and
 * below); a script that reads settings dynamically (`settings[key]`, `Object.keys(settings)`,
 * `...settings`) has no known list and no key is reported as unknown.
 *
 * `typescript` is a devDependency: where it is not installed (a production install with
 * --omit=dev) the type check is skipped and said so; the script is still loaded.
 */
import { dirname, resolve, sep } from "node:path";

export interface ScriptCheck {
  /** `file:line:col: message` per type error. */
  problems: string[];
  /** Setting names the script reads; null when unknown (dynamic access, or no type checker). */
  settings: Set<string> | null;
  /** Why the type check did not run (typescript missing), else null. */
  skipped: string | null;
}

type Ts = typeof import("typescript");

export async function checkScript(file: string): Promise<ScriptCheck> {
  let ts: Ts;
  try {
    ts = ((await import("typescript")) as unknown as { default: Ts }).default;
  } catch {
    return { problems: [], settings: null, skipped: "typescript is not installed (a devDependency): the routing script was loaded but not type-checked" };
  }
  const path = resolve(file);
  const program = ts.createProgram([path], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node"],
    lib: ["lib.es2023.d.ts"],
    resolveJsonModule: true,
  });
  const problems: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n").split("\n")[0]!;
    if (d.file && d.start !== undefined) {
      if (d.file.fileName.includes(`${sep}node_modules${sep}`) || d.file.fileName.includes("/node_modules/")) continue;
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      problems.push(`${d.file.fileName}:${line + 1}:${character + 1}: ${text}`);
    } else {
      problems.push(`${path}: ${text}`);
    }
  }
  const dir = dirname(path);
  const keys = new Set<string>();
  let dynamic = false;
  const isSettings = (n: import("typescript").Node): boolean =>
    (ts.isIdentifier(n) && n.text === "settings") || (ts.isPropertyAccessExpression(n) && n.name.text === "settings");
  for (const sf of program.getSourceFiles()) {
    if (!sf.fileName.startsWith(dir + "/") && sf.fileName !== path) continue;
    if (sf.fileName.includes("/node_modules/") || sf.isDeclarationFile) continue;
    const visit = (n: import("typescript").Node): void => {
      if (ts.isPropertyAccessExpression(n) && isSettings(n.expression)) keys.add(n.name.text);
      else if (ts.isElementAccessExpression(n) && isSettings(n.expression)) {
        if (ts.isStringLiteralLike(n.argumentExpression)) keys.add(n.argumentExpression.text);
        else dynamic = true;
      } else if (ts.isVariableDeclaration(n) && n.initializer && isSettings(n.initializer) && ts.isObjectBindingPattern(n.name)) {
        for (const el of n.name.elements) {
          if (el.dotDotDotToken) dynamic = true;
          const prop = el.propertyName ?? el.name;
          if (ts.isIdentifier(prop) || ts.isStringLiteral(prop)) keys.add(prop.text);
        }
      } else if (ts.isSpreadAssignment(n) && isSettings(n.expression)) dynamic = true;
      else if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && ts.isIdentifier(n.expression.expression) && n.expression.expression.text === "Object" && n.arguments.some(isSettings)) dynamic = true;
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return { problems, settings: dynamic ? null : keys, skipped: null };
}
