/**
 * Human output for olectl: aligned tables for lists of records, `key: value` lines for objects,
 * one line per item for lists of scalars. `--json` bypasses all of this.
 *
 * @example
 *   renderTable([{ id: 1, uri: "sip:a" }]);   // "ID  URI\n1   sip:a"
 */
export function renderHuman(v: unknown): string {
  if (v === null || v === undefined) return "ok";
  if (typeof v !== "object") return String(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return "(none)";
    if (v.every((x) => x === null || typeof x !== "object")) return v.map((x) => String(x)).join("\n");
    if (v.every((x) => x !== null && typeof x === "object" && !Array.isArray(x))) return renderTable(v as Record<string, unknown>[]);
    return JSON.stringify(v, null, 2);
  }
  return renderObject(v as Record<string, unknown>);
}

/** A table over the union of the records' keys (in first-seen order). */
export function renderTable(rows: readonly Record<string, unknown>[], columns?: readonly string[]): string {
  if (rows.length === 0) return "(none)";
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const head = cols.map((c) => c.toUpperCase());
  const width = cols.map((_, i) => Math.max(head[i]!.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((s, i) => (i === vals.length - 1 ? s : s.padEnd(width[i]!)))
      .join("  ")
      .trimEnd();
  return [line(head), ...cells.map(line)].join("\n");
}

/** `key: value` lines; nested objects are indented. */
export function renderObject(o: Record<string, unknown>, indent = ""): string {
  const keys = Object.keys(o);
  if (keys.length === 0) return `${indent}(empty)`;
  const w = Math.max(...keys.map((k) => k.length));
  return keys
    .map((k) => {
      const v = o[k];
      if (v !== null && typeof v === "object" && !Array.isArray(v)) return `${indent}${k}:\n${renderObject(v as Record<string, unknown>, indent + "  ")}`;
      return `${indent}${(k + ":").padEnd(w + 1)} ${cell(v)}`;
    })
    .join("\n");
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** "1d 2h 3m 4s" */
export function formatDuration(secs: number): string {
  const d = Math.floor(secs / 86400);
  const h = Math.floor((secs % 86400) / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = Math.floor(secs % 60);
  return `${d ? d + "d " : ""}${d || h ? h + "h " : ""}${d || h || m ? m + "m " : ""}${s}s`;
}
