import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ModuleDefinition } from "../core/api.js";
import { fakeHost } from "../testing/fake-host.js";
import { tableKind } from "../../tables/kinds.js";
import accModule from "./acc/index.js";
import aliasDbModule from "./alias-db/index.js";
import authModule from "./auth/index.js";
import callfwdModule from "./callfwd/index.js";
import rtpengineModule from "./rtpengine/index.js";
import carrierrouteModule from "./carrierroute/index.js";
import dialogModule from "./dialog/index.js";
import dialplanModule from "./dialplan/index.js";
import dispatcherModule from "./dispatcher/index.js";
import domainModule from "./domain/index.js";
import droutingModule from "./drouting/index.js";
import htableModule from "./htable/index.js";
import lcrModule from "./lcr/index.js";
import msiloModule from "./msilo/index.js";
import mtreeModule from "./mtree/index.js";
import nathelperModule from "./nathelper/index.js";
import permissionsModule from "./permissions/index.js";
import pikeModule from "./pike/index.js";
import pipelimitModule from "./pipelimit/index.js";
import ratelimitModule from "./ratelimit/index.js";
import presenceModule from "./presence/index.js";
import prefixRouteModule from "./prefix-route/index.js";
import registrarModule from "./registrar/index.js";
import sanityModule from "./sanity/index.js";
import siptraceModule from "./siptrace/index.js";
import speedDialModule from "./speed-dial/index.js";
import stirshakenModule from "./stirshaken/index.js";
import uacModule from "./uac/index.js";
import topohModule from "./topoh/index.js";
import toposModule from "./topos/index.js";
import usrlocModule from "./usrloc/index.js";

/** A module under test and the APIs of the modules it requires (built fresh for each init). */
interface Entry {
  readonly def: ModuleDefinition;
  readonly modules?: () => Promise<Record<string, unknown>>;
}

/** Modules that require usrloc get a fresh one (not destroyed: an empty location table arms no timer). */
const withUsrloc = async (): Promise<Record<string, unknown>> => ({ usrloc: await usrlocModule.init(fakeHost("usrloc", {})) });

/** Every module whose descriptor declares `rpc`, `stats` or `tables`. */
const declaring: Entry[] = [
  { def: pikeModule },
  { def: siptraceModule },
  { def: permissionsModule },
  { def: dialogModule },
  { def: htableModule },
  { def: dispatcherModule },
  { def: lcrModule },
  { def: droutingModule },
  { def: usrlocModule },
  { def: registrarModule, modules: withUsrloc },
  { def: authModule },
  { def: accModule },
  { def: carrierrouteModule },
  { def: prefixRouteModule },
  { def: mtreeModule },
  { def: nathelperModule, modules: withUsrloc },
  { def: sanityModule },
  { def: aliasDbModule },
  { def: callfwdModule },
  { def: rtpengineModule },
  { def: speedDialModule },
  { def: dialplanModule },
  { def: domainModule },
  { def: stirshakenModule },
  { def: pipelimitModule },
  { def: ratelimitModule },
  { def: uacModule },
  { def: toposModule },
  { def: topohModule },
  { def: presenceModule },
  { def: msiloModule },
];

const cases = declaring.map((e) => [e.def.name, e] as const);

/** Inits the module with an empty section, hands its host to `check`, then destroys it. */
async function withInit(e: Entry, check: (host: ReturnType<typeof fakeHost>) => void): Promise<void> {
  const host = fakeHost(e.def.name, {}, (await e.modules?.()) ?? {});
  const api = await e.def.init(host);
  try {
    check(host);
  } finally {
    await e.def.destroy?.(api);
  }
}

describe("module descriptors", () => {
  it("covers every module folder", () => {
    const folders = readdirSync(new URL(".", import.meta.url), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    const covered = declaring.map((e) => e.def.name.replace(/_/g, "-"));
    expect(covered.sort()).toEqual(folders.sort());
  });

  it.each(cases)("%s registers exactly the RPC methods it declares", async (_name, e) => {
    await withInit(e, (host) => {
      const names = host.rpc.list().map((m) => m.name).filter((n) => !n.startsWith("system."));
      expect(names.sort()).toEqual([...(e.def.rpc ?? [])].sort());
    });
  });

  it.each(cases)("%s keeps exactly the statistics it declares", async (_name, e) => {
    await withInit(e, (host) => {
      const groups = host.stats.groupNames();
      if (!e.def.stats) return expect(groups).toEqual([]);
      expect(groups).toEqual([e.def.stats.group]);
      expect(host.stats.group(e.def.stats.group).names().sort()).toEqual([...e.def.stats.counters].sort());
    });
  });

  it.each(cases)("%s registers exactly the table kinds it declares", async (_name, e) => {
    for (const kind of e.def.tables ?? []) expect(tableKind(kind), kind).toBeDefined();
    await withInit(e, (host) => {
      expect(host.tables.kinds().sort()).toEqual([...(e.def.tables ?? [])].sort());
    });
  });

  it.each(cases.filter(([, e]) => e.def.params))("%s documents every parameter", (_name, e) => {
    const rows = e.def.params!.docs();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.doc, r.name).not.toBe("");
  });
});
