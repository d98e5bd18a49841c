/**
 * The Nack's error detail for a failed load (a TableError names table and row: INVALID_ROW), and
 * the control plane address parser of the sync client.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { NackReason, type ErrorDetailSchema } from "../../gen/olelo/control/v1/control_pb.js";
import { TableError } from "../core/tables/registry.js";

/** "host:port" from "host:port", grpc://host:port, http://… or dns://…. */
export function parseAddress(url: string): string {
  const m = /^(?:(?:grpc|http|dns):\/\/)?([^/]+)\/?$/.exec(url.trim());
  if (!m) throw new Error(`sync: bad control plane url '${url}' (want host:port)`);
  return m[1]!;
}

export function errorDetailOf(err: Error, reason: NackReason): MessageInitShape<typeof ErrorDetailSchema> {
  const te = err instanceof TableError ? err : null;
  return {
    reason: te ? NackReason.INVALID_ROW : reason,
    message: err.message,
    table: te?.table ?? "",
    row:
      te?.row === null || te?.row === undefined
        ? { case: undefined }
        : typeof te.row === "number" && Number.isInteger(te.row)
          ? { case: "rowInt", value: BigInt(te.row) }
          : { case: "rowString", value: String(te.row) },
    detail: te?.reason ?? err.message,
  };
}
