import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONTROL_PLANE_API } from "./control-plane-api.js";
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
  it("control-plane API", () => {
    const md = methodsMarkdown(CONTROL_PLANE_API);
    expect(md).toContain("| `dispatcher.create` | setid:int, destination:string, [flags:int]");
    expect(block("cli/README.md", "control-plane-api")).toBe(md);
  });
  it("replaceGenerated swaps only the named block", () => {
    const t = "a\n<!-- BEGIN GENERATED: x -->\nold\n<!-- END GENERATED: x -->\nb";
    expect(replaceGenerated(t, "x", "new")).toBe("a\n<!-- BEGIN GENERATED: x -->\nnew\n<!-- END GENERATED: x -->\nb");
    expect(() => replaceGenerated(t, "y", "z")).toThrow(/markers for 'y'/);
  });
});
