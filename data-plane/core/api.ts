/**
 * The one typed API modules use to reach the core (Kamailio's sr_module.h / rpc.h / counters.h
 * collected in one place). Modules in data-plane/modules/<name>/ import from this file only; the
 * core never imports from modules.
 *
 * @example
 *   import { defineModule, RpcError, TableError, type RequestContext } from "../../core/api.js";
 */
export { defineModule } from "./module.js";
export type { ModuleDefinition, ModuleHost, ModuleParams, RawConfig, SipUac, UacRequestOptions, UacResult } from "./module.js";
export { defineScript } from "./script/context.js";
export type * from "./script/context.js";
export { TableError, TableRegistry } from "./tables/registry.js";
export type { TableSink, TableSource, TableStatus, TableListener, TableRow, TableSet, TableDeltaChange, TableRowChanges } from "./tables/registry.js";
export { RpcError, RpcCode } from "../../lib/rpc/errors.js";
export { RpcRegistry, bindParams, formatHelp, formatSignature } from "../../lib/rpc/registry.js";
export type { RpcCallInfo, RpcMethod, RpcParam, RpcParamType } from "../../lib/rpc/registry.js";
export { defineRpc } from "../../lib/rpc/typed.js";
export type { RpcArgs, TypedRpcMethod } from "../../lib/rpc/typed.js";
export { Logger, createLogger, getLogLevel, isLogLevel, setLogLevel, setLogSink } from "../../lib/log/logger.js";
export type { LogLevel, LogRecord, LogSink } from "../../lib/log/logger.js";
export { Counter, StatGroup, StatsRegistry } from "./stats/counters.js";
export { EventBus, matchesKinds } from "./events/bus.js";
export type { OleloEvent, EventListener } from "./events/bus.js";
export type { CSeq, Endpoint, NameAddr, SipUri, TransportProto, Via } from "../../lib/sip/types.js";
export type { WireHook } from "./tm/wire-hook.js";
export type { ListenSocket } from "./transport/listen-socket.js";
/** Raw message access for wire hooks (topology hiding): parse, patch, serialize. */
export { SipMessage, HeaderField, Patch, serializeBuffer } from "./sip/message.js";
export { parseMessage } from "./sip/parse.js";
export { splitList } from "./sip/header-values.js";
/** Workers of one node: shared memory, broadcasts between workers (core/workers/README.md). */
export type { NodeShared } from "./workers/node-shared.js";
export { singleNode } from "./workers/node-shared.js";
export { WindowCounters } from "./workers/window-counters.js";
export { KeyCounts, hashHi, hashLo } from "./workers/key-counts.js";
export { replicateState, type ReplicatedState, type StateTable } from "./workers/replicated-state.js";
