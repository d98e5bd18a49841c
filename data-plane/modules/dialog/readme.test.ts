import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EventBus, type ModuleDefinition, type ModuleHost } from "../../core/api.js";
import { fakeHost } from "../../testing/fake-host.js";
import dialogModule from "./index.js";
import accModule from "../acc/index.js";
import { parseDialogParams } from "./params.js";
import { parseAccParams } from "../../testing/module-internals.js";
import { CALL_EVENTS } from "./call-events.js";
import { fakeUac } from "../../testing/dialog-fakes.js";
import { freePort } from "../../../test/kit/ports.js";

/**
 * Keeps the dialog and acc READMEs in step with the code: every parameter, RPC, script
 * function, statistic (and for dialog every event kind) is named in the README.
 */
function host(name: string, config: Record<string, unknown>): ModuleHost {
  return { ...fakeHost(name, config, {}, fakeUac()), events: new EventBus("readme"), dataDir: "/tmp" };
}

/** A port nothing listens on (acc's database is never reached here). */
const DEAD_PORT = await freePort();

const cases: Array<[string, ModuleDefinition<unknown>, Record<string, unknown>, string[]]> = [
  ["dialog", dialogModule as ModuleDefinition<unknown>, {}, [...Object.keys(parseDialogParams({})), ...CALL_EVENTS]],
  // a db_url to a closed port: the db statistics are registered, nothing is written
  ["acc", accModule as ModuleDefinition<unknown>, { db_url: `mysql://root@127.0.0.1:${DEAD_PORT}/x`, cdr_enable: 1 }, Object.keys(parseAccParams({}))],
];

describe("module READMEs", () => {
  for (const [name, mod, cfg, names] of cases) {
    it(`${name}: README names every parameter, RPC, script function and statistic`, async () => {
      const readme = readFileSync(fileURLToPath(new URL(`../${name}/README.md`, import.meta.url)), "utf8");
      const h = host(name, cfg);
      const api = (await mod.init(h)) as Record<string, unknown>;
      try {
        for (const n of names) expect(readme, `${name}: ${n}`).toContain(`\`${n}\``);
        for (const m of h.rpc.list()) expect(readme, `RPC ${m.name}`).toContain(`\`${m.name}\``);
        for (const [k, v] of Object.entries(api)) {
          if (typeof v === "function") expect(readme, `function ${k}`).toMatch(new RegExp(`\`${k}\\(`));
        }
        const stats = h.stats.select("all").map(([s]) => s);
        expect(stats.length).toBeGreaterThan(0);
        for (const s of stats) expect(readme, `statistic ${s}`).toContain(s);
      } finally {
        await mod.destroy?.();
      }
    });
  }
});
