import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { managementMethods, olectlControlPlaneMethods, olectlControlPlaneNames } from "./control-plane-api.js";
import { localCoreMethods, methodsMarkdown, olectlMarkdown, replaceGenerated } from "./gen-rpc-docs.js";

const ROOT = join(import.meta.dirname, "..");

function block(file: string, name: string): string {
  const text = readFileSync(join(ROOT, file), "utf8");
  const m = new RegExp(`<!-- BEGIN GENERATED: ${name} -->\\n([\\s\\S]*?)\\n<!-- END GENERATED: ${name} -->`).exec(text);
  if (!m) throw new Error(`no generated block ${name} in ${file}`);
  return m[1]!;
}

describe("generated README tables match the descriptors (regenerate with cli/gen-rpc-docs.ts --write)", () => {
  it("data-plane core methods", () => {
    const md = methodsMarkdown(localCoreMethods());
    expect(md).toContain("| `core.uptime` | – |");
    expect(md).toContain("| `stats.get_statistics` | [selectors:string...] |");
    expect(block("data-plane/core/rpc/README.md", "rpc-methods")).toBe(md);
  });
  it("olectl commands", () => {
    expect(block("cli/README.md", "olectl-commands")).toBe(olectlMarkdown());
  });
  it("control-plane methods olectl calls, read from the control plane's own registry", () => {
    const md = methodsMarkdown(olectlControlPlaneMethods());
    expect(md).toContain("| `dispatcher.create` | [id:any], [setid:any], [destination:any], [flags:any]");
    expect(md).toContain("| `push` | [canary:string], [percent:int], [soak_ms:int]");
    expect(md).toContain("| `subscriber.delete` | id:any |");
    expect(block("cli/README.md", "control-plane-api")).toBe(md);
  });
  it("every control-plane method olectl names exists in control-plane/api (and a missing one would be caught)", () => {
    const real = new Set(managementMethods().map((m) => m.name));
    expect(olectlControlPlaneNames().length).toBeGreaterThan(10);
    for (const n of olectlControlPlaneNames()) expect(real.has(n), n).toBe(true);
    // the guessed names olectl used before must not come back
    for (const gone of ["tables.push", "tables.diff", "nodes.list"]) expect(real.has(gone), gone).toBe(false);
  });
  it("replaceGenerated swaps only the named block", () => {
    const t = "a\n<!-- BEGIN GENERATED: x -->\nold\n<!-- END GENERATED: x -->\nb";
    expect(replaceGenerated(t, "x", "new")).toBe("a\n<!-- BEGIN GENERATED: x -->\nnew\n<!-- END GENERATED: x -->\nb");
    expect(() => replaceGenerated(t, "y", "z")).toThrow(/markers for 'y'/);
  });
});
