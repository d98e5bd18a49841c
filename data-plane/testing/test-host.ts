import { EventBus } from "../core/api.js";
import { createLogger } from "../core/api.js";
import type { ModuleHost, SipUac } from "../core/api.js";
import { RpcRegistry } from "../core/api.js";
import { StatsRegistry } from "../core/api.js";
import { TableRegistry } from "../core/api.js";

/**
 * Test support shared by the firewall modules' tests (htable, pike, permissions, auth, sanity):
 * a ModuleHost built from the real core registries, with a SIP UAC that refuses to send.
 */
export function createTestHost(name: string, config: Record<string, unknown> = {}, modules: Record<string, unknown> = {}): ModuleHost {
  const sip: SipUac = {
    request: () => Promise.reject(new Error("no SIP in unit tests")),
    sendRaw: () => {
      throw new Error("no SIP in unit tests");
    },
  };
  return {
    name,
    config,
    log: createLogger(name),
    stats: new StatsRegistry(),
    rpc: new RpcRegistry(),
    events: new EventBus("test"),
    tables: new TableRegistry(),
    sip,
    dataDir: "/tmp",
    resolvePath: (p: string) => p,
    modules,
  };
}
