/**
 * dialog's typed API for other modules (Kamailio's load_dlg_api): the `DialogApi` a module gets
 * from `host.modules` after declaring `requires`/`optional: ["dialog"]`, and the payload types of
 * the `call.*` events dialog publishes (acc writes CDRs from `call.ended`). Type-only.
 */
export type { DialogApi, DialogSnapshot } from "./index.js";
export type { CallEventBase, CallStartedData, CallAnsweredData, CallEndedData } from "./call-events.js";
