/**
 * Test doubles for the routing modules (lcr, drouting, carrierroute, prefix_route, mtree): a
 * ModuleHost built from the core's real registries, and the real request context of a request
 * (sip-harness.ts: a real SipCore over an in-memory transport). Not used by production code.
 */
import {
  EventBus,
  RpcRegistry,
  StatsRegistry,
  TableRegistry,
  createLogger,
  type Endpoint,
  type ModuleHost,
  type RequestContext,
  type SipUac,
  type TableSet,
} from "../core/api.js";
import { sipRequest, testRequest } from "./sip-harness.js";
import { seededRandom } from "../../lib/random/seeded.js";
export { seededRandom };

export interface FakeHost extends ModuleHost {
  readonly stats: StatsRegistry;
  readonly rpc: RpcRegistry;
  readonly events: EventBus;
  readonly tables: TableRegistry;
}

/** A ModuleHost with real stats/rpc/events/tables registries, the given config section and (optionally) a scripted SIP UAC. */
export function fakeHost(name: string, config: Record<string, unknown> = {}, modules: Record<string, unknown> = {}, uac?: SipUac): FakeHost {
  const sip: SipUac = uac ?? {
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
    dataDir: "/nonexistent",
    resolvePath: (p) => p,
    modules,
  };
}

/**
 * Gives `kind` a reloadable source, as the data plane does for a table file: every
 * `host.tables.reload(kind)` (the module's reload RPC) reads `load()` again. Versions are
 * `<describe>-1`, `<describe>-2`, ...
 */
export function setTableSource(host: FakeHost, kind: string, load: () => TableSet | Promise<TableSet>, describe = `test:${kind}`): void {
  let n = 0;
  host.tables.setSource(kind, { describe, load: async () => ({ set: await load(), version: `${describe}-${++n}` }) });
}

export interface FakeRequestInit {
  ruri?: string;
  from?: string;
  to?: string;
  callId?: string;
  source?: Endpoint;
  flags?: number;
  route?: "request" | "failure" | "branch";
  dst?: string | null;
}

export interface FakeRequest extends RequestContext {
  ruri: string;
  dst: string | null;
  flags: number;
  route: "request" | "failure" | "branch";
}

/**
 * The real request context (core/script/request-context.ts) of an INVITE to `ruri` from `from` to
 * `to`, received from `source` over the in-memory transport of sip-harness.ts, with the given
 * route, flags and dst.
 */
export function fakeRequest(init: FakeRequestInit = {}): FakeRequest {
  const ruri = init.ruri ?? "sip:bob@example.com";
  const raw = sipRequest("INVITE", ruri, { from: init.from ?? "sip:alice@example.com", to: init.to ?? "sip:bob@example.com", callId: init.callId ?? "call-1@host" });
  const { req } = testRequest(raw, { source: init.source ?? { proto: "udp", address: "192.0.2.10", port: 5060 } });
  req.route = init.route ?? "request";
  req.flags = init.flags ?? 0;
  req.dst = init.dst ?? null;
  return req;
}
