import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ModuleDefinition } from "../../core/api.js";
import authModule from "../auth/index.js";
import htableModule from "../htable/index.js";
import pikeModule from "../pike/index.js";
import sanityModule from "../sanity/index.js";
import permissionsModule from "./index.js";
import { createTestHost } from "../../testing/test-host.js";

/** Keeps the five firewall READMEs in step with what the modules register and return. */
const modules: Array<[string, ModuleDefinition<unknown>, Record<string, unknown>]> = [
  ["htable", htableModule as ModuleDefinition<unknown>, { htable: ["t=>size=4"] }],
  ["pike", pikeModule as ModuleDefinition<unknown>, {}],
  ["permissions", permissionsModule as ModuleDefinition<unknown>, {}],
  ["auth", authModule as ModuleDefinition<unknown>, { secret: "readme-check-secret-1" }],
  ["sanity", sanityModule as ModuleDefinition<unknown>, {}],
];

describe("module READMEs", () => {
  for (const [name, mod, cfg] of modules) {
    it(`${name}: README names every RPC, script function and statistic`, async () => {
      const readme = readFileSync(fileURLToPath(new URL(`../${name}/README.md`, import.meta.url)), "utf8");
      const host = createTestHost(name, cfg);
      const api = (await mod.init(host)) as Record<string, unknown>;
      try {
        for (const m of host.rpc.list()) expect(readme, `RPC ${m.name}`).toContain(`\`${m.name}\``);
        for (const [k, v] of Object.entries(api)) {
          if (typeof v === "function") expect(readme, `function ${k}`).toMatch(new RegExp(`\\b${k}\\(`));
        }
        for (const [stat] of host.stats.select("all")) expect(readme, `statistic ${stat}`).toContain(stat);
      } finally {
        await mod.destroy?.();
      }
    });
  }
});
