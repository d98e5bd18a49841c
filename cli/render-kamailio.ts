import { renderTable } from "./format.js";

/**
 * Flatteners from Kamailio's nested RPC output shapes (kamailio-reference.md §1.9, §6, §8.2)
 * to table rows for olectl's human output. Unknown shapes fall back to JSON.
 *
 * @example
 *   renderDispatcherList(await dp.call("dispatcher.list"));
 */
type Obj = Record<string, any>;

/** dispatcher.list: {NRSETS, RECORDS:[{SET:{ID, TARGETS:[{DEST:{URI, FLAGS, PRIORITY, ATTRS, LATENCY}}]}}]} */
export function dispatcherRows(v: unknown): Obj[] | null {
  const recs = (v as Obj | null)?.RECORDS;
  if (!Array.isArray(recs)) return null;
  const rows: Obj[] = [];
  for (const r of recs) {
    const set = r?.SET;
    for (const t of set?.TARGETS ?? []) {
      const d = t?.DEST ?? {};
      rows.push({
        set: set.ID,
        uri: d.URI,
        flags: d.FLAGS,
        priority: d.PRIORITY,
        attrs: d.ATTRS?.BODY ?? (d.ATTRS ? JSON.stringify(d.ATTRS) : ""),
        latency_avg: d.LATENCY?.AVG,
      });
    }
  }
  return rows;
}

export function renderDispatcherList(v: unknown): string {
  const rows = dispatcherRows(v);
  return rows ? renderTable(rows) : JSON.stringify(v, null, 2);
}

/** ul.dump ({Domains:[{Domain:{Domain, AoRs:[{Info:{AoR, Contacts}}]}}]}) or ul.lookup ({AoR, Contacts}). */
export function locationRows(v: unknown): Obj[] | null {
  const rows: Obj[] = [];
  const addAor = (aor: string, contacts: unknown) => {
    for (const c of Array.isArray(contacts) ? contacts : []) {
      const k = c?.Contact ?? c;
      rows.push({
        aor,
        contact: k.Address,
        expires: k.Expires,
        q: k.Q,
        received: k.Received || "",
        user_agent: k["User-Agent"] ?? "",
        socket: k.Socket ?? "",
      });
    }
  };
  const o = v as Obj | null;
  if (o && Array.isArray(o.Domains)) {
    for (const d of o.Domains) for (const a of d?.Domain?.AoRs ?? []) addAor(a?.Info?.AoR, a?.Info?.Contacts);
    return rows;
  }
  if (o && typeof o.AoR === "string") {
    addAor(o.AoR, o.Contacts);
    return rows;
  }
  return null;
}

export function renderLocation(v: unknown): string {
  const rows = locationRows(v);
  return rows ? renderTable(rows) : JSON.stringify(v, null, 2);
}

/** htable.dump: [{entry, size, slot:[{name, value, type}]}] */
export function renderHtableDump(v: unknown): string {
  if (!Array.isArray(v)) return JSON.stringify(v, null, 2);
  const rows: Obj[] = [];
  for (const e of v) for (const s of Array.isArray(e?.slot) ? e.slot : []) rows.push({ name: s.name, value: s.value, type: s.type });
  return renderTable(rows);
}

/** stats.get_statistics lines → {"group:name": number}. */
export function statsObject(lines: unknown): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const l of Array.isArray(lines) ? lines : []) {
    const m = /^(.+?) = (.*)$/.exec(String(l));
    if (!m) continue;
    const n = Number(m[2]);
    out[m[1]!] = Number.isFinite(n) ? n : m[2]!;
  }
  return out;
}
