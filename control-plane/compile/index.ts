/** The compile step: table kinds, their validation, and the DB-backed SnapshotSource the push server reads. */
export {
  createDbSnapshotSource,
  toCompileError,
  type CompileError,
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
export { contentVersion } from "./version-hash.js";
