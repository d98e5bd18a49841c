import { TableError, type TableSet } from "../rows.js";
import { readInt, readStr, rowIdOf, tableRows } from "../kit/row-values.js";

/** Kamailio pipelimit's algorithm names (case sensitive, as pl_check and pl.set_pipe take them). */
export const PIPE_ALGORITHMS = ["NOP", "RED", "TAILDROP", "FEEDBACK", "NETWORK"] as const;
export type PipeAlgorithm = (typeof PIPE_ALGORITHMS)[number];

/** Whether `s` is one of Kamailio's algorithm names. */
export function isPipeAlgorithm(s: string): s is PipeAlgorithm {
  return (PIPE_ALGORITHMS as readonly string[]).includes(s);
}

/** One pipe definition: its name (a trailing `*` makes it a template for keyed pipes), algorithm and limit. */
export interface PipeDefinition {
  readonly pipeid: string;
  readonly algorithm: PipeAlgorithm;
  readonly limit: number;
}

/**
 * The pure compile of kind pl_pipes: Kamailio's `pl_pipes(id, pipeid, algorithm, plimit)`
 * table. Refuses an empty or over-long pipeid, an unknown algorithm, a negative limit, a
 * FEEDBACK limit outside 0..100 or FEEDBACK rows with different limits (Kamailio: one CPU
 * setpoint for all FEEDBACK pipes) and a duplicate pipeid, naming the row.
 */
export function compilePlPipes(set: TableSet, table = "pl_pipes"): PipeDefinition[] {
  const rows = tableRows(set, table);
  const seen = new Set<string>();
  let feedback: number | null = null;
  return rows.map((row, i) => {
    const id = rowIdOf(row, "id", i);
    const pipeid = readStr(row, table, id, "pipeid", { nonEmpty: true, maxLength: 64 });
    const algorithm = readStr(row, table, id, "algorithm", { nonEmpty: true, maxLength: 32 });
    if (!isPipeAlgorithm(algorithm)) throw new TableError(table, id, `algorithm: unknown algorithm '${algorithm}' (one of ${PIPE_ALGORITHMS.join(", ")})`);
    const limit = readInt(row, table, id, "plimit", { min: 0, max: 2_147_483_647, def: 0 });
    if (algorithm === "FEEDBACK") {
      if (limit > 100) throw new TableError(table, id, "plimit: a FEEDBACK limit is a CPU load in percent (0..100)");
      if (feedback !== null && feedback !== limit) throw new TableError(table, id, "plimit: FEEDBACK limits must be equal for all pipes");
      feedback = limit;
    }
    if (seen.has(pipeid)) throw new TableError(table, id, `pipeid: duplicate pipe '${pipeid}'`);
    seen.add(pipeid);
    return { pipeid, algorithm, limit };
  });
}
