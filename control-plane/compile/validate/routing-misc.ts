/**
 * Control-plane validators for the small routing kinds: prefix_route, mtree (mtree + mtrees),
 * alias_db (dbaliases) and speeddial (speed_dial); kamailio-reference.md §5 and §11.
 * TODO(prefix_route): switch to data-plane/modules/prefix-route/table.ts once it exists.
 * TODO(mtree): switch to data-plane/modules/mtree/table.ts once it exists.
 */
import { TableError, type TableSet } from "../../../data-plane/core/tables/registry.js";
import { idOf, required, rowsOf, str, unique } from "./common.js";

/** prefix_route: digit prefixes (Kamailio's tree only takes 0-9), one route per prefix. */
export function validatePrefixRoute(set: TableSet): { prefixes: number } {
  const rows = rowsOf(set, "prefix_route");
  rows.forEach((r, i) => {
    const id = idOf(r, "prefix", i);
    const p = str(r, "prefix").trim();
    if (!/^\d+$/.test(p)) throw new TableError("prefix_route", id, `prefix '${p}' must be one or more digits`);
    required("prefix_route", id, r, "route");
    if (!/^[A-Za-z0-9_.:-]+$/.test(str(r, "route").trim())) {
      throw new TableError("prefix_route", id, `route '${str(r, "route")}' is not a route name`);
    }
  });
  unique("prefix_route", rows, "prefix", (r) => str(r, "prefix").trim(), "prefix");
  return { prefixes: rows.length };
}

/** mtree / mtrees: non-empty prefixes of at most 63 characters, tree names for mtrees. */
export function validateMtree(set: TableSet): { single: number; multi: number } {
  const single = rowsOf(set, "mtree");
  single.forEach((r, i) => {
    const id = idOf(r, "id", i);
    const p = required("mtree", id, r, "tprefix");
    if (p.length > 63) throw new TableError("mtree", id, `tprefix is longer than 63 characters`);
  });
  unique("mtree", single, "id", (r) => str(r, "tprefix"), "tprefix");
  const multi = rowsOf(set, "mtrees");
  multi.forEach((r, i) => {
    const id = idOf(r, "id", i);
    required("mtrees", id, r, "tname");
    const p = required("mtrees", id, r, "tprefix");
    if (p.length > 63) throw new TableError("mtrees", id, `tprefix is longer than 63 characters`);
  });
  unique("mtrees", multi, "id", (r) => `${str(r, "tname")}|${str(r, "tprefix")}|${str(r, "tvalue")}`, "tname/tprefix/tvalue");
  return { single: single.length, multi: multi.length };
}

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
