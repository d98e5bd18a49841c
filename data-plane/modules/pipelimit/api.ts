/**
 * What other modules take from pipelimit: the script API type and the pipe engine (algorithms,
 * fleet counter, timers) that the ratelimit module runs with its own numbered pipes.
 */
export type { PipelimitApi, PlCheckResult } from "./index.js";
export { startPipeEngine, parsePorts, type PipeEngine, type PipeEngineOptions } from "./engine.js";
export type { PipeTable } from "./pipe-table.js";
export { feedbackRpcMethods } from "./rpc.js";
export type { PipeState } from "./algorithms.js";
export { isPipeAlgorithm, type PipeAlgorithm } from "../../../tables/pl-pipes/pl-pipes-table.js";
