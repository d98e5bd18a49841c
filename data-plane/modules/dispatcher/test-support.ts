/**
 * Test doubles for the dispatcher's unit tests: a RequestContext with only the members the
 * module uses, a fake SipUac whose replies the test controls, and a ModuleHost built from the
 * core's real registries. Not used by production code.
 */
import { EventBus, type OleloEvent } from "../../core/api.js";
import { createLogger } from "../../core/api.js";
import type { ModuleHost, SipUac, UacRequestOptions, UacResult } from "../../core/api.js";
import { RpcRegistry } from "../../core/api.js";
import type { RequestContext, SipMessageView } from "../../core/api.js";
import type { Endpoint } from "../../core/api.js";
import { StatsRegistry } from "../../core/api.js";
import { TableRegistry } from "../../core/api.js";
import { fakeHost as sharedFakeHost } from "../../testing/fake-host.js";

export interface FakeRequestInit {
  method?: string;
  callId?: string;
  from?: string;
  to?: string;
  ruri?: string;
  headers?: Record<string, string>;
  source?: Endpoint;
  localSocket?: string;
  dst?: string | null;
}

export interface FakeRequest extends RequestContext {
  readonly branches: Array<{ uri: string; dst?: string; socket?: string }>;
  readonly forcedSocket: string | null;
  /** What the routing script did: "reply 404 No destination", "relay sip:...", "onFailure X" ... */
  readonly actions: string[];
}

/** A RequestContext with the members the dispatcher uses; the rest throw when touched. */
export function fakeRequest(init: FakeRequestInit = {}): FakeRequest {
  const method = init.method ?? "INVITE";
  const headers = new Map(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const fromUri = init.from ?? "sip:alice@example.com";
  const toUri = init.to ?? "sip:bob@example.com";
  const msg = {
    isRequest: true,
    method,
    status: 0,
    reason: "",
    callId: init.callId ?? "call-1@host",
    cseq: { seq: 1, method },
    from: { displayName: null, uriText: fromUri, uri: null, params: new Map(), tag: "f1", angle: true, raw: `<${fromUri}>;tag=f1` },
    to: { displayName: null, uriText: toUri, uri: null, params: new Map(), tag: null, angle: true, raw: `<${toUri}>` },
    header: (n: string) => headers.get(n.toLowerCase()) ?? null,
    hasHeader: (n: string) => headers.has(n.toLowerCase()),
  } as unknown as SipMessageView;
  const state = {
    ruri: init.ruri ?? "sip:bob@example.com",
    dst: init.dst ?? (null as string | null),
    forcedSocket: null as string | null,
    branches: [] as Array<{ uri: string; dst?: string; socket?: string }>,
    actions: [] as string[],
  };
  const req = {
    route: "request",
    msg,
    method,
    source: init.source ?? { proto: "udp", address: "192.0.2.10", port: 5060 },
    localSocket: init.localSocket ?? "udp:127.0.0.1:5060",
    vars: new Map<string, unknown>(),
    log: createLogger("test"),
    get ruri() {
      return state.ruri;
    },
    get ruriUser() {
      const m = /^sips?:([^@;>]+)@/i.exec(state.ruri);
      return m ? m[1]! : null;
    },
    get dst() {
      return state.dst;
    },
    get forcedSocket() {
      return state.forcedSocket;
    },
    get branches() {
      return state.branches;
    },
    get actions() {
      return state.actions;
    },
    hasToTag: false,
    processMaxForwards: () => true,
    recordRoute() {
      state.actions.push("recordRoute");
    },
    looseRoute: () => false,
    checkTransaction: () => false,
    onFailure(route: string | null) {
      state.actions.push(`onFailure ${route}`);
    },
    relay() {
      state.actions.push(`relay ${state.dst ?? state.ruri}`);
      return true;
    },
    reply(code: number, reason: string) {
      state.actions.push(`reply ${code} ${reason}`);
      return true;
    },
    replyError() {
      state.actions.push("replyError");
      return true;
    },
    setDst(uri: string | null) {
      state.dst = uri;
    },
    setRuri(uri: string) {
      state.ruri = uri;
    },
    setRuriHost(host: string, port?: number | null) {
      const m = /^(sips?:)(?:([^@]*)@)?([^;?]*)(.*)$/i.exec(state.ruri)!;
      state.ruri = `${m[1]}${m[2] !== undefined ? m[2] + "@" : ""}${host}${port ? ":" + port : ""}${m[4]}`;
    },
    appendBranch(uri: string, opts?: { dst?: string; socket?: string }) {
      state.branches.push({ uri, ...opts });
    },
    forceSendSocket(s: string) {
      state.forcedSocket = s;
    },
  };
  return req as unknown as FakeRequest;
}

interface PendingProbe {
  readonly opts: UacRequestOptions;
  resolve(r: UacResult): void;
  reject(e: Error): void;
}

/** A SipUac whose keepalive replies are decided by `respond`, or held until the test answers. */
export class FakeUac implements SipUac {
  readonly sent: UacRequestOptions[] = [];
  readonly pending: PendingProbe[] = [];
  /** Immediate answer per request; return null to keep it pending. */
  respond: ((o: UacRequestOptions) => UacResult | null) | null = () => ({ code: 200, reason: "OK", latencyMs: 10 });

  request(opts: UacRequestOptions): Promise<UacResult> {
    this.sent.push(opts);
    const r = this.respond ? this.respond(opts) : null;
    if (r) return Promise.resolve(r);
    return new Promise((resolve, reject) => this.pending.push({ opts, resolve, reject }));
  }

  sendRaw(): void {}

  /** Answers every pending probe with `fn(opts)`. */
  answerAll(fn: (o: UacRequestOptions) => UacResult): void {
    for (const p of this.pending.splice(0)) p.resolve(fn(p.opts));
  }
}

export interface FakeHost extends ModuleHost {
  readonly bus: EventBus;
  readonly uac: FakeUac;
  readonly events: EventBus;
  readonly rpc: RpcRegistry;
  readonly tables: TableRegistry;
  readonly stats: StatsRegistry;
  /** Events published so far. */
  published(kinds?: string[]): OleloEvent[];
}

/** A host with the core's real registries, a fake UAC and the given module config. */
export function fakeHost(config: Record<string, unknown> = {}): FakeHost {
  const bus = new EventBus("test", 1000);
  const uac = new FakeUac();
  return {
    ...sharedFakeHost("dispatcher", config, {}, uac),
    events: bus,
    bus,
    uac,
    dataDir: "/tmp",
    published(kinds) {
      return bus.since(0, kinds ?? null).events;
    },
  };
}

/** Lets pending promise callbacks run (fake UAC replies resolve on the microtask queue). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
