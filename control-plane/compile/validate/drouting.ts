/**
 * Control-plane validator for kind "drouting" (dr_gateways, dr_rules, dr_groups, dr_gw_lists;
 * kamailio-reference.md §3): gwlist references, prefix characters, timerec shape.
 * TODO(drouting): switch to the pure compile function of data-plane/modules/drouting/table.ts once it exists.
 */
import { TableError, type TableSet } from "../../../data-plane/core/tables/registry.js";
import { idOf, int, required, rowsOf, str } from "./common.js";

const FREQS = new Set(["", "daily", "weekly", "monthly", "yearly"]);

/** Checks a `gwlist` string: gateways and `#list` ids separated by , | and ;. */
function checkGwList(table: string, id: string | number, list: string, gws: Set<number>, lists: Set<number> | null): void {
  for (const raw of list.split(/[,;|]/)) {
    const item = raw.trim();
    if (item === "") continue;
    if (item.startsWith("#")) {
      if (!lists) throw new TableError(table, id, `gwlist item '${item}': a list cannot reference another list`);
      const n = Number(item.slice(1));
      if (!Number.isInteger(n) || !lists.has(n)) throw new TableError(table, id, `gwlist item '${item}' is not a dr_gw_lists id`);
    } else {
      const n = /^\d+$/.test(item) ? Number(item) : NaN;
      if (!gws.has(n)) throw new TableError(table, id, `gwlist item '${item}' is not a dr_gateways gwid`);
    }
  }
}

/** Checks the RFC 2445-style `timerec` (dtstart|duration|freq|until|interval|byday|...). */
function checkTimerec(id: string | number, t: string): void {
  if (t === "") return;
  const f = t.split("|");
  if (f.length > 10) throw new TableError("dr_rules", id, `timerec has ${f.length} fields, at most 10`);
  if (!/^\d{8}T\d{6}$/.test(f[0]!)) throw new TableError("dr_rules", id, `timerec dtstart '${f[0]}' is not YYYYMMDDTHHMMSS`);
  if (f[1] && !/^(0|P?(\d+W)?(\d+D)?(T?(\d+H)?(\d+M)?(\d+S)?)?)$/i.test(f[1])) {
    throw new TableError("dr_rules", id, `timerec duration '${f[1]}' is not a duration`);
  }
  if (!FREQS.has((f[2] ?? "").toLowerCase())) throw new TableError("dr_rules", id, `timerec freq '${f[2]}' is not daily/weekly/monthly/yearly`);
  if (f[3] && !/^\d{8}(T\d{6})?$/.test(f[3])) throw new TableError("dr_rules", id, `timerec until '${f[3]}' is not a date`);
  if (f[4] && !/^\d+$/.test(f[4])) throw new TableError("dr_rules", id, `timerec interval '${f[4]}' is not a number`);
  if (f[5] && !/^([+-]?\d*(MO|TU|WE|TH|FR|SA|SU))(,[+-]?\d*(MO|TU|WE|TH|FR|SA|SU))*$/i.test(f[5])) {
    throw new TableError("dr_rules", id, `timerec byday '${f[5]}' is not a day list`);
  }
  for (let i = 6; i < f.length; i++) {
    if (f[i] && !/^[+-]?\d+(,[+-]?\d+)*$/.test(f[i]!)) throw new TableError("dr_rules", id, `timerec field ${i + 1} '${f[i]}' is not a number list`);
  }
}

/** Validates the drouting tables; throws TableError on the first bad row. */
export function validateDrouting(set: TableSet): { gateways: number; rules: number } {
  const gwRows = rowsOf(set, "dr_gateways");
  const gws = new Set<number>();
  gwRows.forEach((r, i) => {
    const id = idOf(r, "gwid", i);
    required("dr_gateways", id, r, "address");
    int("dr_gateways", id, r, "strip", 0);
    gws.add(int("dr_gateways", id, r, "gwid", i + 1));
  });
  const listRows = rowsOf(set, "dr_gw_lists");
  const lists = new Set<number>();
  listRows.forEach((r, i) => {
    const id = idOf(r, "id", i);
    checkGwList("dr_gw_lists", id, str(r, "gwlist"), gws, null);
    lists.add(int("dr_gw_lists", id, r, "id", i + 1));
  });
  const rules = rowsOf(set, "dr_rules");
  rules.forEach((r, i) => {
    const id = idOf(r, "ruleid", i);
    const groups = str(r, "groupid").trim();
    if (!/^\d+(\s*,\s*\d+)*$/.test(groups)) throw new TableError("dr_rules", id, `groupid '${groups}' is not a comma list of group numbers`);
    const prefix = str(r, "prefix").trim();
    if (!/^[0-9+*#]*$/.test(prefix)) throw new TableError("dr_rules", id, `prefix '${prefix}' may only hold digits, +, * and #`);
    checkTimerec(id, str(r, "timerec").trim());
    int("dr_rules", id, r, "priority", 0);
    checkGwList("dr_rules", id, str(r, "gwlist"), gws, lists);
  });
  rowsOf(set, "dr_groups").forEach((r, i) => {
    const id = idOf(r, "id", i);
    required("dr_groups", id, r, "username");
    int("dr_groups", id, r, "groupid", 0);
  });
  return { gateways: gwRows.length, rules: rules.length };
}
