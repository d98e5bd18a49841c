/**
 * The rows of a table kind as both planes see them: Kamailio's table names and columns, and the
 * error that names a bad row. Part of the contract layer (imports neither plane).
 */
export type TableRow = Record<string, unknown>;
/** Table name → rows, e.g. `{ dispatcher: [{ id: 1, setid: 1, destination: "sip:10.0.0.1", ... }] }` */
export type TableSet = Record<string, TableRow[]>;

/** A bad row: names the table, the row (its id column, or the line number for files) and why. */
export class TableError extends Error {
  override readonly name = "TableError";
  constructor(
    readonly table: string,
    readonly row: string | number | null,
    readonly reason: string,
  ) {
    super(`${table}${row !== null ? ` row ${row}` : ""}: ${reason}`);
  }
}
