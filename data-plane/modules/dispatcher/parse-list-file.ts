import { TableError, type TableSet, type TableRow } from "../../core/api.js";

/**
 * Reads Kamailio's dispatcher.list text format into the same rows the database or the control
 * plane would give (`{ dispatcher: [{ id, setid, destination, flags, priority, attrs }] }`), so
 * the file and a pushed table go through one loader (compileDispatcherTables).
 *
 * One destination per line, fields separated by blanks: `setid uri [flags [priority [attrs]]]`.
 * `#` starts a comment (at line start or after a field; never inside the URI or attrs), blank
 * lines are skipped, flags and priority may be decimal or hex (`0x8`). The row `id` is the
 * 1-based line number, so errors and `dispatcher.list` point at the line.
 *
 * @example
 *   parseListFile("1 sip:10.0.0.1:5080 8 10 duid=gw1;maxload=20\n")
 *   // { dispatcher: [{ id: 1, setid: 1, destination: "sip:10.0.0.1:5080", flags: 8, priority: 10, attrs: "duid=gw1;maxload=20" }] }
 */
export function parseListFile(text: string): TableSet {
  const rows: TableRow[] = [];
  const lines = text.split(/\r?\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    line = trimmed;
    const fields = line.split(/[ \t]+/);
    // A field that starts with '#' begins a trailing comment.
    const hash = fields.findIndex((f) => f.startsWith("#"));
    const used = hash >= 0 ? fields.slice(0, hash) : fields;
    if (used.length < 2) throw new TableError("dispatcher", lineNo, `line ${lineNo}: expected 'setid uri [flags [priority [attrs]]]', got '${trimmed}'`);
    if (used.length > 5) {
      throw new TableError("dispatcher", lineNo, `line ${lineNo}: too many fields (${used.length}); attrs must not contain blanks`);
    }
    const [setid, destination, flags, priority, attrs] = used;
    rows.push({
      id: lineNo,
      setid: parseNum(setid!, "setid", lineNo),
      destination: destination!,
      flags: flags === undefined ? 0 : parseNum(flags, "flags", lineNo),
      priority: priority === undefined ? 0 : parseNum(priority, "priority", lineNo),
      attrs: attrs ?? "",
    });
  }
  return { dispatcher: rows };
}

/**
 * A bad row of a list file, named the way an operator finds it: `<file> line <n>: <reason>`
 * (the row id of a list-file row is its line number). Still a TableError for callers that only
 * know table loads.
 */
export class ListFileError extends TableError {
  constructor(
    readonly file: string,
    line: number | string | null,
    reason: string,
  ) {
    const r = reason.replace(/^line \d+: /, "");
    super("dispatcher", line, r);
    this.message = `${file} line ${String(line)}: ${r}`;
  }
}

function parseNum(text: string, field: string, lineNo: number): number {
  if (/^[-+]?\d+$/.test(text)) return Number(text);
  if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text.slice(2), 16);
  throw new TableError("dispatcher", lineNo, `line ${lineNo}: ${field} '${text}' is not a number`);
}

/**
 * Writes rows back in list-file form (used by tests and handy for `olectl dispatcher dump`).
 * Comments are not preserved.
 */
export function formatListFile(rows: readonly TableRow[]): string {
  return rows
    .map((r) => {
      const parts = [String(r.setid), String(r.destination), String(r.flags ?? 0), String(r.priority ?? 0)];
      const attrs = r.attrs === undefined || r.attrs === null ? "" : String(r.attrs);
      if (attrs !== "") parts.push(attrs);
      return parts.join(" ");
    })
    .join("\n")
    .concat("\n");
}
