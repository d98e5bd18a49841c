/**
 * TablePushService/Refresh on the control plane: a data plane's `*.reload` RPC (dispatcher.reload,
 * permissions.addressReload, lcr.reload, ...) asks for its kinds to be re-read from the database
 * now. The answer carries, per kind, the version served afterwards (pushed on the streams as
 * usual when it changed) or why the rows do not compile; the data plane then waits until it runs
 * that version (data-plane/sync/refresh.ts), so "reloaded" means the rows are live on that node.
 *
 * @example
 *   server.addService(def, { ..., refresh: createRefreshHandler(source, (kinds, why) => source.refreshKinds(kinds, why), log) });
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { KindRefreshSchema, NackReason, RefreshResponseSchema, type RefreshRequest, type RefreshResponse } from "../../gen/olelo/control/v1/control_pb.js";
import type { Logger } from "../../lib/log/logger.js";
import type { PushSource } from "./push-source.js";

/** Why a kind did not compile (control-plane/compile/source.ts CompileError). */
export interface RefreshError {
  kind: string;
  table: string;
  row: string | number | null;
  reason: string;
}

/** Re-reads kinds from the database (DbSnapshotSource.refreshKinds). */
export type RefreshFn = (kinds: readonly string[], reason: string) => Promise<{ changed: string[]; errors: RefreshError[] }>;

/** Most kinds one request may name. */
const MAX_KINDS = 64;

/** The grpc-js unary handler; without `refresh` it answers UNIMPLEMENTED. */
export function createRefreshHandler(source: PushSource, refresh: RefreshFn | undefined, log: Logger): grpc.handleUnaryCall<RefreshRequest, RefreshResponse> {
  return (call, callback) => {
    if (!refresh) return callback({ code: grpc.status.UNIMPLEMENTED, details: "this control plane has no database to re-read" });
    const req = call.request;
    const node = req.nodeId.slice(0, 256) || call.getPeer();
    const asked = [...new Set(req.kinds)];
    if (asked.length === 0 || asked.length > MAX_KINDS) return callback({ code: grpc.status.INVALID_ARGUMENT, details: `kinds: 1..${MAX_KINDS} kind names` });
    const known = new Set(source.kinds());
    const kinds = asked.filter((k) => known.has(k));
    const answer = (errors: RefreshError[], changed: string[]) =>
      create(RefreshResponseSchema, {
        kinds: asked.map((kind): MessageInitShape<typeof KindRefreshSchema> => {
          if (!known.has(kind)) return { kind, error: { reason: NackReason.UNKNOWN_KIND, message: `unknown table kind '${kind}'` } };
          const err = errors.find((e) => e.kind === kind);
          const version = source.current(kind)?.version ?? "";
          if (!err) return { kind, version, changed: changed.includes(kind) };
          const row = err.row === null ? undefined : typeof err.row === "number" ? { case: "rowInt" as const, value: BigInt(err.row) } : { case: "rowString" as const, value: err.row };
          return {
            kind,
            version,
            error: {
              reason: NackReason.INVALID_ROW,
              message: `${err.table}${err.row !== null ? ` row ${err.row}` : ""}: ${err.reason}`,
              table: err.table,
              detail: err.reason,
              ...(row ? { row } : {}),
            },
          };
        }),
      });
    if (kinds.length === 0) return callback(null, answer([], []));
    refresh(kinds, `reload from data plane ${node}`).then(
      (r) => {
        log.info("kinds re-read for a data plane's reload", { node, kinds: kinds.join(","), changed: r.changed.join(","), errors: r.errors.length });
        callback(null, answer(r.errors, r.changed));
      },
      (e: Error) => {
        log.error("re-read for a data plane's reload failed", { node, kinds: kinds.join(","), error: e.message });
        callback({ code: grpc.status.UNAVAILABLE, details: `control plane could not read the database: ${e.message}` });
      },
    );
  };
}
