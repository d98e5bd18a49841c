import { describe, expect, it } from "vitest";
import type { ModuleDefinition } from "../core/api.js";
import { fakeHost } from "../testing/fake-host.js";
import dialogModule from "./dialog/index.js";
import htableModule from "./htable/index.js";
import permissionsModule from "./permissions/index.js";
import pikeModule from "./pike/index.js";

const declaring: ModuleDefinition[] = [pikeModule, permissionsModule, dialogModule, htableModule];

describe("module descriptors", () => {
  it.each(declaring.map((d) => [d.name, d] as const))("%s registers exactly the RPC methods it declares", async (_name, def) => {
    const host = fakeHost(def.name, {});
    const api = await def.init(host);
    try {
      const names = host.rpc.list().map((m) => m.name).filter((n) => !n.startsWith("system."));
      expect(names.sort()).toEqual([...(def.rpc ?? [])].sort());
    } finally {
      await def.destroy?.(api);
    }
  });

  it.each(declaring.map((d) => [d.name, d] as const))("%s documents every parameter", (_name, def) => {
    const rows = def.params!.docs();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.doc, r.name).not.toBe("");
  });
});
