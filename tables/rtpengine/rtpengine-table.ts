import { TableError, type TableSet } from "../rows.js";
import { readInt, readStr, rowIdOf, tableRows } from "../kit/row-values.js";

/**
 * Kamailio's `rtpengine` table (rtpengine module, version 1): the media relay instances.
 *
 *   rtpengine(id, setid, url, weight, disabled, stamp)   UNIQUE (setid, url)
 *
 * `url` is `udp:host:port` (also `udp6:[addr]:port` or `host:port`); `disabled` 1 keeps the
 * instance out of selection; `weight` 0 never selects it.
 */
export interface RtpengineRow {
  readonly id: number;
  readonly setid: number;
  readonly url: string;
  readonly weight: number;
  readonly disabled: boolean;
}

const URL_RE = /^(?:udp6?:)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Validates and compiles `rtpengine` rows; throws TableError naming the table, the row and the reason. */
export function compileRtpengine(set: TableSet, table = "rtpengine"): readonly RtpengineRow[] {
  const rows = tableRows(set, table);
  const seen = new Map<string, string | number>();
  const out: RtpengineRow[] = [];
  rows.forEach((row, i) => {
    const id = rowIdOf(row, "id", i);
    const url = readStr(row, table, id, "url", { maxLength: 64, nonEmpty: true }).trim();
    const m = URL_RE.exec(url);
    if (!m) throw new TableError(table, id, `url '${url}' is not udp:host:port`);
    const port = Number(m[2]);
    if (port < 1 || port > 65535) throw new TableError(table, id, `url '${url}' has port ${port} outside 1..65535`);
    const r: RtpengineRow = {
      id: typeof id === "number" ? id : i + 1,
      setid: readInt(row, table, id, "setid", { min: 0, max: 4_294_967_295, def: 0 }),
      url,
      weight: readInt(row, table, id, "weight", { min: 0, max: 4_294_967_295, def: 1 }),
      disabled: readInt(row, table, id, "disabled", { min: 0, max: 1, def: 0 }) === 1,
    };
    const key = `${r.setid}|${url}`;
    const dup = seen.get(key);
    if (dup !== undefined) throw new TableError(table, id, `setid ${r.setid} url '${url}' is also row ${dup} (UNIQUE rtpengine_nodes)`);
    seen.set(key, id);
    out.push(r);
  });
  return out;
}
