/**
 * Real module parts that tests of another module build on (a real hash table for auth's and pike's
 * htable-backed counters, a real permissions state for pike's trusted-source check). Tests import
 * them from here, never from the other module's files; production code gets them only through
 * `host.modules` and the module's exported API.
 */
export { HashTable } from "../modules/htable/hash-table.js";
export { parseHtableDefinition } from "../modules/htable/index.js";
export { createPermissionsApi, PermissionsState } from "../modules/permissions/permissions-api.js";
export { compileAddressRows, compileTrustedRows } from "../modules/permissions/index.js";
export { parseAccParams } from "../modules/acc/index.js";
