/** The compile step: table kinds, their validation, and the DB-backed SnapshotSource the push server reads. */
export {
  createDbSnapshotSource,
  toCompileError,
  type CompileError,
  type CompiledSet,
  type DbSnapshotSource,
  type DbSnapshotSourceOptions,
  type KindDiff,
  type KindSnapshot,
  type KindStatus,
  type RefreshResult,
  type SnapshotSource,
  type SourceStatus,
} from "./source.js";
export { KINDS, kindDef, kindOfTable, type KindDef } from "./kinds.js";
export { MAX_REFUSED_ROWS, ROW_POLICIES, parseRowPolicies, type RefusedRow, type RowPolicy } from "./row-isolation.js";
export type { RefusedEntry } from "./refusals.js";
export { contentVersion } from "./version-hash.js";
