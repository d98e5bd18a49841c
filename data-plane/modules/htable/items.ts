/**
 * The data-plane side of compiled htable rows: rows to live items (with autoexpire / db_expires)
 * and live items back to rows for the DB store. The pure row compile is tables/htable/table.ts.
 */
import type { HtRow } from "../../../tables/htable/table.js";
import type { HashTable, HtItem } from "./hash-table.js";

/**
 * Builds the item map for `table` from compiled rows at time `nowMs`. With `useExpires`
 * (Kamailio db_expires=1) a row's `expires` is its absolute expiry and rows already past it are
 * dropped; otherwise every item gets the table's autoexpire.
 */
export function rowsToItems(rows: readonly HtRow[], table: HashTable, nowMs: number, useExpires: boolean): Map<string, HtItem> {
  const items = new Map<string, HtItem>();
  const auto = table.def.autoexpire > 0 ? nowMs + table.def.autoexpire * 1000 : 0;
  for (const r of rows) {
    let exp = auto;
    if (useExpires && r.expires > 0) {
      exp = r.expires * 1000;
      if (exp <= nowMs) continue;
    }
    items.set(r.key, { value: r.value, expires: exp });
  }
  return items;
}

/** Rows to write back for `table` (db store): live items, key_type 0, expires in Unix seconds when asked. */
export function itemsToRows(table: HashTable, useExpires: boolean): Array<[string, number, number, string, number]> {
  const out: Array<[string, number, number, string, number]> = [];
  for (const [k, it] of table.entries()) {
    const isInt = typeof it.value === "number";
    out.push([k, 0, isInt ? 1 : 0, String(it.value), useExpires && it.expires > 0 ? Math.floor(it.expires / 1000) : 0]);
  }
  return out;
}
