/** The management API (JSON-RPC 2.0 over HTTP POST /RPC). */
export {
  createManagementServer,
  isLoopback,
  registerManagementMethods,
  type ApiToken,
  type ManagementServer,
  type ManagementServerOptions,
  type NodeStatus,
} from "./server.js";
export { subscriberDigests } from "./subscriber.js";
