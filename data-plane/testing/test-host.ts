import type { ModuleHost } from "../core/api.js";
import { fakeHost } from "./fake-host.js";

/**
 * Test support shared by the firewall modules' tests (htable, pike, permissions, auth, sanity):
 * fake-host.ts's ModuleHost over the real core registries (a SIP UAC that refuses to send), with
 * /tmp as its data directory.
 */
export function createTestHost(name: string, config: Record<string, unknown> = {}, modules: Record<string, unknown> = {}): ModuleHost {
  return { ...fakeHost(name, config, modules), dataDir: "/tmp" };
}
