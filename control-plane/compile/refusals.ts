/**
 * Makes a refused row loud (row-isolation.ts decides which rows are refused): per kind the rows
 * currently left out with the time each was first refused, one log line per newly refused row
 * (table, key, reason) and one when it goes live again, a counter of refusals since start
 * (`refusalsTotal` in `status`), and an audit row (action `row.refused`, actor `control-plane`) in
 * olelo_audit per newly refused row. A row refused again for the same reason on the next compile is
 * not counted, logged or audited again.
 *
 * @example
 *   const t = createRefusalTracker({ pool, log, audit: true });
 *   await t.update("subscriber", [{ kind: "subscriber", table: "subscriber", key: "7", reason: "username is empty" }], "v1");
 *   t.list("subscriber"); // [{ ..., since: "2026-..." }]
 */
import type { Pool } from "mysql2/promise";
import type { Logger } from "../../lib/log/logger.js";
import type { RefusedRow } from "./row-isolation.js";

export interface RefusedEntry extends RefusedRow {
  /** When this row was first refused for this reason. */
  since: string;
}

export interface RefusalTracker {
  /** Records the rows refused by the latest compile of `kind` (version: what goes live without them). */
  update(kind: string, refused: readonly RefusedRow[], version: string | null, policy: string): Promise<void>;
  list(kind: string): RefusedEntry[];
  /** Rows refused since start (each row counted once per distinct reason in a row). */
  total(): number;
}

const id = (r: RefusedRow) => `${r.table}\u0000${r.key}\u0000${r.reason}`;

export function createRefusalTracker(opts: { pool: Pool; log: Logger; audit: boolean }): RefusalTracker {
  const byKind = new Map<string, RefusedEntry[]>();
  let total = 0;

  async function audit(r: RefusedRow, version: string | null, policy: string): Promise<void> {
    try {
      await opts.pool.query("INSERT INTO olelo_audit (actor, action, kind, table_name, row_id, `after`, version) VALUES (?, ?, ?, ?, ?, ?, ?)", [
        "control-plane",
        "row.refused",
        r.kind,
        r.table,
        r.key.slice(0, 255),
        JSON.stringify({ reason: r.reason, policy }),
        version,
      ]);
    } catch (e) {
      opts.log.error("could not write the audit row of a refused row", { kind: r.kind, table: r.table, key: r.key, error: (e as Error).message });
    }
  }

  return {
    async update(kind, refused, version, policy) {
      const before = new Map((byKind.get(kind) ?? []).map((e) => [id(e), e]));
      const now = new Date().toISOString();
      const next: RefusedEntry[] = [];
      for (const r of refused) {
        const old = before.get(id(r));
        if (old) {
          next.push(old);
          before.delete(id(r));
          continue;
        }
        next.push({ ...r, since: now });
        total++;
        opts.log.warn("row refused", { kind, table: r.table, key: r.key, reason: r.reason, policy, version });
        if (opts.audit) await audit(r, version, policy);
      }
      for (const gone of before.values()) opts.log.info("row no longer refused", { kind, table: gone.table, key: gone.key, version });
      if (next.length) byKind.set(kind, next);
      else byKind.delete(kind);
    },
    list: (kind) => byKind.get(kind) ?? [],
    total: () => total,
  };
}
