/**
 * Test doubles for the routing modules (lcr, drouting, carrierroute, prefix_route, mtree): a
 * ModuleHost built from the core's real registries, and a RequestContext carrying only the
 * members these modules use (ruri, ruriUser, ruriParsed, setRuri, dst, setDst, msg.from/to/
 * callId, vars, flags, source, route). Touching anything else throws, so a test notices when a
 * module starts depending on more of the context. Not used by production code.
 */
import {
  EventBus,
  RpcRegistry,
  StatsRegistry,
  TableRegistry,
  createLogger,
  type Endpoint,
  type ModuleHost,
  type NameAddr,
  type RequestContext,
  type SipMessageView,
  type SipUac,
  type SipUri,
  type TableSet,
} from "../core/api.js";
import { splitUriRaw } from "../core/kit/index.js";
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

function toSipUri(text: string): SipUri | null {
  const p = splitUriRaw(text);
  if (!p) return null;
  const params = new Map<string, string>();
  if (p.params) {
    for (const kv of p.params.split(";")) {
      if (!kv) continue;
      const eq = kv.indexOf("=");
      params.set((eq < 0 ? kv : kv.slice(0, eq)).toLowerCase(), eq < 0 ? "" : kv.slice(eq + 1));
    }
  }
  const ipv6 = p.host.startsWith("[");
  return {
    scheme: p.scheme,
    user: p.user,
    password: p.password,
    host: (ipv6 ? p.host.slice(1, -1) : p.host).toLowerCase(),
    ipv6,
    port: p.port,
    params,
    headers: p.headers || null,
    raw: text,
  };
}

function nameAddr(uriText: string, tag: string | null): NameAddr {
  return {
    displayName: null,
    uriText,
    uri: toSipUri(uriText),
    params: new Map(tag ? [["tag", tag]] : []),
    tag,
    angle: true,
    raw: `<${uriText}>${tag ? `;tag=${tag}` : ""}`,
  };
}

/** A RequestContext with only the members the routing modules use. */
export function fakeRequest(init: FakeRequestInit = {}): FakeRequest {
  const fromUri = init.from ?? "sip:alice@example.com";
  const toUri = init.to ?? "sip:bob@example.com";
  const msg = {
    callId: init.callId ?? "call-1@host",
    from: nameAddr(fromUri, "ftag"),
    to: nameAddr(toUri, null),
  } as unknown as SipMessageView;
  const state = {
    route: init.route ?? "request",
    ruri: init.ruri ?? "sip:bob@example.com",
    dst: init.dst ?? null,
    flags: init.flags ?? 0,
    vars: new Map<string, unknown>(),
  };
  const target = {
    get route() {
      return state.route;
    },
    set route(r: "request" | "failure" | "branch") {
      state.route = r;
    },
    msg,
    source: init.source ?? { proto: "udp", address: "192.0.2.10", port: 5060 },
    get ruri() {
      return state.ruri;
    },
    set ruri(u: string) {
      state.ruri = u;
    },
    get ruriParsed() {
      return toSipUri(state.ruri);
    },
    get ruriUser() {
      return toSipUri(state.ruri)?.user ?? null;
    },
    get ruriHost() {
      return toSipUri(state.ruri)?.host ?? "";
    },
    get dst() {
      return state.dst;
    },
    set dst(d: string | null) {
      state.dst = d;
    },
    get flags() {
      return state.flags;
    },
    set flags(f: number) {
      state.flags = f;
    },
    vars: state.vars,
    log: createLogger("test-request"),
    setRuri(u: string) {
      state.ruri = u;
    },
    setRuriUser(user: string | null) {
      const p = splitUriRaw(state.ruri);
      if (!p) return;
      const hostport = p.port !== null ? `${p.host}:${p.port}` : p.host;
      state.ruri = `${p.scheme}:${user !== null && user !== "" ? user + "@" : ""}${hostport}${p.params ? ";" + p.params : ""}`;
    },
    setDst(d: string | null) {
      state.dst = d;
    },
    isFlagSet(f: number) {
      return (state.flags & (1 << f)) !== 0;
    },
    setFlag(f: number) {
      state.flags |= 1 << f;
    },
    resetFlag(f: number) {
      state.flags &= ~(1 << f);
    },
  };
  return new Proxy(target, {
    get(t, prop, recv) {
      if (prop in t) return Reflect.get(t, prop, recv);
      if (prop === "then" || typeof prop === "symbol") return undefined;
      throw new Error(`fakeRequest: member '${String(prop)}' is not faked`);
    },
  }) as unknown as FakeRequest;
}

