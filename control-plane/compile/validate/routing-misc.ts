/**
 * Control-plane validators for kinds alias_db (dbaliases) and speeddial (speed_dial);
 * kamailio-reference.md §11. No data-plane module loads these tables yet; when one does, switch
 * control-plane/compile/kinds.ts to its pure compile function.
 */
import { TableError, type TableSet } from "../../../data-plane/core/tables/registry.js";
import { idOf, required, rowsOf, str, unique } from "./common.js";

/** dbaliases: alias and target users present, one target per alias. */
export function validateAliasDb(set: TableSet): { aliases: number } {
  const rows = rowsOf(set, "dbaliases");
  rows.forEach((r, i) => {
    const id = idOf(r, "id", i);
    required("dbaliases", id, r, "alias_username");
    required("dbaliases", id, r, "username");
  });
  unique("dbaliases", rows, "id", (r) => `${str(r, "alias_username").toLowerCase()}@${str(r, "alias_domain").toLowerCase()}`, "alias");
  return { aliases: rows.length };
}

/** speed_dial: owner, short code and a SIP/tel URI. */
export function validateSpeedDial(set: TableSet): { entries: number } {
  const rows = rowsOf(set, "speed_dial");
  rows.forEach((r, i) => {
    const id = idOf(r, "id", i);
    required("speed_dial", id, r, "username");
    required("speed_dial", id, r, "sd_username");
    const uri = required("speed_dial", id, r, "new_uri");
    if (!/^(sips?|tel):.+/i.test(uri)) throw new TableError("speed_dial", id, `new_uri '${uri}' is not a sip:, sips: or tel: URI`);
  });
  return { entries: rows.length };
}
