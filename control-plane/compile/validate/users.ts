/**
 * Control-plane validator for kind "subscriber" (auth_db; kamailio-reference.md §8.3).
 * TODO(subscriber): switch to the pure compile of data-plane/modules/auth/table.ts once it exists.
 */
import { TableError, type TableSet } from "../../../data-plane/core/tables/registry.js";
import { idOf, required, rowsOf, str, unique } from "./common.js";

/** subscriber: username, credentials (plain password or an MD5/SHA-256 ha1), unique user@domain. */
export function validateSubscriber(set: TableSet): { subscribers: number } {
  const rows = rowsOf(set, "subscriber");
  rows.forEach((r, i) => {
    const id = idOf(r, "id", i);
    required("subscriber", id, r, "username");
    const pw = str(r, "password");
    const ha1 = str(r, "ha1");
    if (pw === "" && ha1 === "") throw new TableError("subscriber", id, "neither password nor ha1 is set");
    for (const col of ["ha1", "ha1b"]) {
      const h = str(r, col);
      if (h !== "" && !/^([0-9a-f]{32}|[0-9a-f]{64})$/i.test(h)) throw new TableError("subscriber", id, `${col} is not a hex MD5 or SHA-256 digest`);
    }
  });
  unique("subscriber", rows, "id", (r) => `${str(r, "username")}@${str(r, "domain")}`, "username/domain");
  return { subscribers: rows.length };
}
