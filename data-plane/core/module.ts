import type { Logger } from "../../lib/log/logger.js";
import type { StatsRegistry } from "./stats/counters.js";
import type { RpcRegistry } from "../../lib/rpc/registry.js";
import type { EventBus } from "./events/bus.js";
import type { TableRegistry } from "./tables/registry.js";
import type { ParamDoc } from "./kit/params.js";
import type { SipMessageView } from "./sip/view.js";
import type { WireHook } from "./tm/wire-hook.js";
import type { NodeShared } from "./workers/node-shared.js";

/** Raw configuration section of a module, as the configuration file gives it. */
export type RawConfig = Readonly<Record<string, unknown>>;

/** A module's parameter table (built with `defineParams` in core/kit/params.ts). */
export interface ModuleParams<Cfg> {
  parse(cfg: RawConfig): Cfg;
  docs(): readonly ParamDoc[];
}

/**
 * The contract between the core and a module (Kamailio's `module_exports`, collected into one
 * typed object). A module lives in `data-plane/modules/<name>/` and reaches the core only through
 * the `ModuleHost` it receives in `init`; what `init` returns is the module's script API, which
 * routing scripts receive by the module's name (typed through `ModuleApis` in scripts/module-apis.ts).
 *
 * Declared, not only registered in `init`: `params` (the schema: types, defaults, ranges, docs —
 * `host.config` arrives parsed and typed), `rpc` (names of the RPC methods it registers, typed
 * with `defineRpc`), `stats` (its statistics group and counter names) and `tables` (the table
 * kinds it consumes). The generated docs and README checks read these.
 *
 * @example
 *   export default defineModule({
 *     name: "pike",
 *     doc: "Flood detection",
 *     params: pikeParams,
 *     rpc: ["pike.top", "pike.unban"],
 *     stats: { group: "pike", counters: ["blocked"] },
 *     init(host) { host.config.ban_time; return api; }, // host.config: PikeParams
 *   });
 */
export interface ModuleDefinition<Api = unknown, Cfg = RawConfig> {
  readonly name: string;
  readonly doc: string;
  /** Other modules this one needs initialised first (their APIs arrive in host.modules). */
  readonly requires?: readonly string[];
  /** Modules used when they are configured (initialised first, in host.modules), never loaded for this one. */
  readonly optional?: readonly string[];
  /** Parameter schema; absent = the module reads its raw section itself. */
  readonly params?: ModuleParams<Cfg>;
  /** RPC methods the module registers (full names). */
  readonly rpc?: readonly string[];
  /** Statistics the module keeps: group name and counter names (gauges included). */
  readonly stats?: { readonly group: string; readonly counters: readonly string[] };
  /** Table kinds the module consumes from the control plane / files (TableRegistry names). */
  readonly tables?: readonly string[];
  init(host: ModuleHost<Cfg>): Api | Promise<Api>;
  /**
   * Stops timers and closes pools of one instance. Receives the API `init` returned, so two data
   * planes in one process (tests) each stop their own instance.
   */
  destroy?(api?: Api): void | Promise<void>;
}

/**
 * Declares a module. With `params`, the returned definition's `init` parses the raw section
 * first (throwing the module's parameter error) and hands the module a host whose `config` is
 * the typed result; the loader and tests call `init` with the raw section as before.
 */
export function defineModule<Api, Cfg = RawConfig>(def: ModuleDefinition<Api, Cfg>): ModuleDefinition<Api> {
  const params = def.params;
  if (!params) return def as unknown as ModuleDefinition<Api>;
  const isAsync = def.init.constructor.name === "AsyncFunction";
  return {
    ...def,
    params: params as unknown as ModuleParams<RawConfig>,
    init(host: ModuleHost) {
      let config: Cfg;
      try {
        config = params.parse(host.config);
      } catch (e) {
        // an async init reports a bad parameter as a rejection, as it did when it parsed itself
        if (isAsync) return Promise.reject(e);
        throw e;
      }
      return def.init(Object.create(host, { config: { value: config, enumerable: true } }) as ModuleHost<Cfg>);
    },
  };
}

/** Result of a request sent by the proxy itself (OPTIONS probes, keep-alives). */
export interface UacResult {
  /** Final status code; 408 when no final reply came in time (tm's local 408), 477/503 on send failure. */
  readonly code: number;
  readonly reason: string;
  /** Milliseconds from sending to the final reply. */
  readonly latencyMs: number;
  /** The final reply as received (challenges, Contact/Expires of a REGISTER reply); absent for local codes. */
  readonly reply?: SipMessageView;
}

export interface UacRequestOptions {
  readonly method: string;
  /** Request-URI. */
  readonly uri: string;
  /** Where to send it (outbound proxy / $du); defaults to the R-URI. */
  readonly destination?: string;
  readonly from?: string;
  readonly to?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Local socket to send from, `proto:ip:port` or a socket name. */
  readonly socket?: string;
  /** Final-response timeout (fr_timer) in ms. */
  readonly timeoutMs?: number;
  /*
   * In-dialog requests (e.g. the dialog module's BYE on timeout, Kamailio dlg_bye): the dialog's
   * identifiers and route set replace the fresh ones a probe gets. All optional; when absent the
   * request starts a new dialog as before (random Call-ID and From-tag, CSeq 10, no To-tag).
   */
  /** Call-ID of the dialog. */
  readonly callId?: string;
  /** CSeq number (the method is `method`). */
  readonly cseq?: number;
  /** From-tag (local tag); `from` stays the URI. */
  readonly fromTag?: string;
  /** To-tag (remote tag); `to` stays the URI. */
  readonly toTag?: string;
  /**
   * Route set, one URI (or `<uri>`) per entry, sent as Route headers in this order (RFC 3261
   * §12.2.1.1, loose routing). The request still goes to `destination` (or the R-URI), so pass
   * the first route as `destination`.
   */
  readonly routes?: readonly string[];
  /**
   * Adds `Contact: <sip:user@host:port;transport=…>` naming the socket the request leaves from
   * (uac registrations); `contactHost` (host[:port]) replaces the socket's address.
   */
  readonly contactUser?: string;
  readonly contactHost?: string;
}

/** What the SIP core offers modules for traffic they originate. Filled by the core at start. */
export interface SipUac {
  request(opts: UacRequestOptions): Promise<UacResult>;
  /** Sends raw bytes (e.g. a NAT keep-alive "\r\n\r\n" or "\0\0\0\0") from a socket. */
  sendRaw(dest: { proto: string; address: string; port: number }, data: Buffer, socket?: string): void;
  /**
   * Registers a filter the core runs for every datagram / stream message (and on stream accept)
   * before parsing; returning true drops it (the ipban pattern). Returns the unregister function.
   */
  /**
   * Sets the message tap (siptrace): called for every received and sent SIP message with the local
   * socket address and the peer. Returns the unregister function. One tap at a time.
   */
  setMessageTap?(
    tap: (sent: boolean, data: Buffer, local: { proto: string; address: string; port: number }, remote: { proto: string; address: string; port: number }) => void,
  ): () => void;
  /**
   * Sets the wire hook (topos, topoh): every parsed message passes through it before transaction
   * matching and the script, and every message tm sends passes through it after routing (see
   * core/tm/wire-hook.ts). One hook at a time; returns the unregister function.
   */
  setWireHook?(hook: WireHook): () => void;
  addReceiveFilter?(filter: (src: { proto: string; address: string; port: number }) => boolean): () => void;
}

export interface ModuleHost<Cfg = RawConfig> {
  readonly name: string;
  /** The module's section of the configuration file: parsed by the module's `params` schema when it declares one. */
  readonly config: Cfg;
  readonly log: Logger;
  readonly stats: StatsRegistry;
  readonly rpc: RpcRegistry;
  readonly events: EventBus;
  readonly tables: TableRegistry;
  readonly sip: SipUac;
  /** Directory for the module's local state and caches. */
  readonly dataDir: string;
  /** Resolves a path from the configuration relative to the configuration file. */
  resolvePath(p: string): string;
  /** APIs of the modules named in `requires`. */
  readonly modules: Readonly<Record<string, unknown>>;
  /**
   * The node's workers (`workers: N`): shared memory and broadcasts, so node-wide state stays
   * node-wide. Absent in hosts built by tests; the loader always gives one (singleNode() for one worker).
   */
  readonly node?: NodeShared;
}
