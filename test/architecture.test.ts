/**
 * The architecture rules of issue 12 as a test: .dependency-cruiser.cjs states them, dependency-cruiser's
 * API checks the tree against them. A second test proves the rules bite, on a small fixture tree with one
 * forbidden import per rule.
 * Every violation fails the test; there is no list of tolerated ones.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cruise, type ICruiseResult, type IViolation } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CONFIG = join(ROOT, ".dependency-cruiser.cjs");
/** The folders the rules speak about (test/ and bench/ import everything on purpose and are not cruised). */
const CRUISED = ["lib", "tables", "data-plane", "control-plane", "cli", "gen", "ui"];

/** One line per violation: `rule: from → to`, or `rule: a → b → … → a` for a cycle. */
export function describeViolation(v: IViolation): string {
  if (v.cycle && v.cycle.length > 0) {
    const names = v.cycle.map((c) => (typeof c === "string" ? c : c.name));
    return `${v.rule.name}: ${[v.from, ...names].join(" → ")}`;
  }
  return `${v.rule.name}: ${v.from} → ${v.to}`;
}

async function cruiseTree(baseDir: string, dirs: string[]): Promise<string[]> {
  const options = await extractDepcruiseOptions(CONFIG);
  const tsConfig = join(baseDir, "tsconfig.json");
  const result = await cruise(
    dirs,
    { ...options, validate: true, baseDir, tsConfig: { fileName: tsConfig }, outputType: "json" },
    {},
    { tsConfig: extractTSConfig(tsConfig) },
  );
  const output = typeof result.output === "string" ? (JSON.parse(result.output) as ICruiseResult) : result.output;
  return [...new Set(output.summary.violations.map(describeViolation))].sort();
}

describe("architecture (dependency-cruiser, .dependency-cruiser.cjs)", () => {
  it("the tree breaks no rule", async () => {
    const found = await cruiseTree(ROOT, CRUISED);
    expect(found, `architecture violations:\n  ${found.join("\n  ")}`).toEqual([]);
  }, 120_000);

  it("the rules bite: a fixture tree with one forbidden import per rule reports each, and only those", async () => {
    const dir = mkdtempSync(join(tmpdir(), "olelo-arch-"));
    try {
      const files: Record<string, string> = {
        "tsconfig.json": JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", strict: true } }),
        "lib/a.ts": `import { t } from "../tables/t.js";\nexport const a = t;\n`,
        "lib/ok.ts": `import { readFileSync } from "node:fs";\nexport const ok = readFileSync;\n`,
        "tables/t.ts": `export const t = 1;\n`,
        "tables/bad.ts": `import { m } from "../control-plane/m.js";\nexport const bad = m;\n`,
        "data-plane/core/c.ts": `import { x } from "../modules/alpha/index.js";\nexport const c = x;\n`,
        "data-plane/modules/alpha/index.ts": `import { y } from "../beta/internal.js";\nimport { z } from "../beta/index.js";\nimport { w } from "../beta/api.js";\nexport const x = y + z + w;\n`,
        "data-plane/modules/beta/internal.ts": `export const y = 1;\n`,
        "data-plane/modules/beta/index.ts": `import { y } from "./internal.js";\nexport const z = y;\n`,
        "data-plane/modules/beta/api.ts": `export const w = 3;\n`,
        "data-plane/node.ts": `import { m } from "../control-plane/m.js";\nimport { t } from "../tables/t.js";\nexport const n = m + t;\n`,
        "control-plane/m.ts": `import { c } from "../data-plane/core/c.js";\nexport const m = c;\n`,
        "control-plane/ok.ts": `import { t } from "../tables/t.js";\nimport { ok } from "../lib/ok.js";\nexport const cpOk = [t, ok];\n`,
        "control-plane/cycle-a.ts": `import type { B } from "./cycle-b.js";\nexport type A = { b?: B };\n`,
        "control-plane/cycle-b.ts": `import type { A } from "./cycle-a.js";\nexport type B = { a?: A };\n`,
        "control-plane/test-a.test.ts": `import { tb } from "./test-b.test.js";\nexport const ta = 1 + tb;\n`,
        "control-plane/test-b.test.ts": `import { ta } from "./test-a.test.js";\nexport const tb = 1 + ta;\n`,
        "cli/olectl.ts": `import { n } from "../data-plane/node.js";\nexport const o = n;\n`,
        "cli/gen-rpc-docs.ts": `import { n } from "../data-plane/node.js";\nexport const g = n;\n`,
        "ui/src/page.tsx": `import { m } from "../../control-plane/m.js";\nexport const p = m;\n`,
        "control-plane/ui-user.ts": `import { p } from "../ui/src/page.js";\nexport const u = p;\n`,
      };
      for (const [name, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), text);
      }
      const found = await cruiseTree(dir, ["lib", "tables", "data-plane", "control-plane", "cli", "ui"]);
      expect(found).toEqual(
        [
          "cli-only-over-json-rpc: cli/olectl.ts → data-plane/node.ts",
          "control-plane-not-to-data-plane: control-plane/m.ts → data-plane/core/c.ts",
          "core-not-to-modules: data-plane/core/c.ts → data-plane/modules/alpha/index.ts",
          "data-plane-not-to-control-plane: data-plane/node.ts → control-plane/m.ts",
          "lib-only-to-lib: lib/a.ts → tables/t.ts",
          "module-not-to-other-module-internals: data-plane/modules/alpha/index.ts → data-plane/modules/beta/internal.ts",
          // the cycle made of type-only imports; the one between two test files is not reported
          "no-circular: control-plane/cycle-a.ts → control-plane/cycle-b.ts → control-plane/cycle-a.ts",
          "tables-not-to-planes: tables/bad.ts → control-plane/m.ts",
          "ui-only-over-http: ui/src/page.tsx → control-plane/m.ts",
          "nothing-imports-ui: control-plane/ui-user.ts → ui/src/page.tsx",
        ].sort(),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

/** Production code: not tests, their helpers, generated code, test/ or bench/. */
const PRODUCTION_DIRS = ["lib", "tables", "data-plane", "control-plane", "cli", "etc", "ui"];
const MAX_LINES = 500;

function productionFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && entry.name !== "testing") productionFiles(rel, out);
    } else if ((rel.endsWith(".ts") || rel.endsWith(".tsx")) && !rel.endsWith(".test.ts") && !rel.endsWith(".d.ts") && !rel.endsWith("test-support.ts")) {
      out.push(rel);
    }
  }
  return out;
}

describe("file size", () => {
  it(`no production .ts/.tsx file is over ${MAX_LINES} lines`, () => {
    const over = PRODUCTION_DIRS.flatMap((d) => productionFiles(d))
      .map((f) => ({ f, lines: readFileSync(join(ROOT, f), "utf8").split("\n").length - 1 }))
      .filter((x) => x.lines > MAX_LINES);
    const list = over.map((x) => `${x.f} (${x.lines} lines)`);
    expect(list, `production files over ${MAX_LINES} lines:\n  ${list.join("\n  ")}`).toEqual([]);
  });
});
