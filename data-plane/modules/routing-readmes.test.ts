import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ModuleDefinition } from "../core/api.js";
import carrierroute from "./carrierroute/index.js";
import dialplan from "./dialplan/index.js";
import domain from "./domain/index.js";
import drouting from "./drouting/index.js";
import lcr from "./lcr/index.js";
import mtree from "./mtree/index.js";
import prefixRoute from "./prefix-route/index.js";
import { fakeHost } from "../testing/fake-host.js";

/**
 * The module READMEs must not drift from the code: every RPC a module registers and every
 * function of its script API is documented in its README.
 */
const here = dirname(fileURLToPath(import.meta.url));
const modules: Array<[string, ModuleDefinition, string]> = [
  ["lcr", lcr as ModuleDefinition, "lcr"],
  ["drouting", drouting as ModuleDefinition, "drouting"],
  ["carrierroute", carrierroute as ModuleDefinition, "carrierroute"],
  ["prefix_route", prefixRoute as ModuleDefinition, "prefix-route"],
  ["mtree", mtree as ModuleDefinition, "mtree"],
  ["dialplan", dialplan as ModuleDefinition, "dialplan"],
  ["domain", domain as ModuleDefinition, "domain"],
];

describe("module READMEs", () => {
  for (const [name, def, folder] of modules) {
    it(`${name}: documents every RPC and script function`, async () => {
      const readme = readFileSync(join(here, folder, "README.md"), "utf8");
      const host = fakeHost(name);
      const api = (await def.init(host)) as Record<string, unknown>;
      expect(def.name).toBe(name);
      const rpcs = host.rpc.list().map((m) => m.name);
      expect(rpcs.length).toBeGreaterThan(0);
      for (const m of rpcs) expect(readme, `${folder}/README.md lacks ${m}`).toContain(`\`${m}\``);
      for (const [k, v] of Object.entries(api)) {
        if (typeof v === "function") expect(readme, `${folder}/README.md lacks ${k}(`).toMatch(new RegExp("`" + k + "\\("));
      }
      expect(host.tables.kinds()).toEqual([name]);
    });
  }
});
