import { EventBus } from "../../core/events/bus.js";
import { createLogger } from "../../core/log/logger.js";
import type { ModuleHost, SipUac } from "../../core/module.js";
import { RpcRegistry } from "../../core/rpc/registry.js";
import { StatsRegistry } from "../../core/stats/counters.js";
import { TableRegistry } from "../../core/tables/registry.js";

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
