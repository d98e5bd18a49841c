/**
 * Tails `olelo_changes` (filled by the triggers of control-plane/db/cdc-triggers.ts) every
 * `intervalMs` and hands the new change rows, grouped by table, to `onChanges`.
 *
 * Ids are AUTO_INCREMENT values taken at INSERT time, so two concurrent transactions can commit
 * out of id order: id 8 may become visible after id 9. The tail therefore keeps a `floor` (every
 * id at or below it is handled) and the set of handled ids above it; an id missing below a handled
 * one (a hole) is asked for again on every tick for `holeGraceMs`, after which it is taken to be a
 * rolled-back transaction (ids of rolled-back inserts are never reused). A tick that fails (the
 * database went away) marks the stream lost; the next good tick calls `onGap`, which re-reads
 * everything, and restarts from the newest id. So does a change log that was emptied or recreated
 * (newest id below the floor) and a burst larger than `maxBatch` (a bulk INSERT ... SELECT).
 * Old change rows are pruned (`pruneAfterMs`), by age, so several control planes can tail one log.
 *
 * @example
 *   const tail = createChangeTail({ pool, intervalMs: 50, onChanges: async (byTable) => {...}, onGap: () => source.refresh("cdc gap") });
 *   await tail.init();  // before the initial full read: changes after it are tailed
 *   tail.start();
 */
import type { Pool, RowDataPacket } from "mysql2/promise";
import { createLogger, type Logger } from "../../lib/log/logger.js";

/** Changed keys per table; a `null` key means "re-read the whole table". */
export type TableChanges = Map<string, Set<string> | null>;

export interface ChangeTailOptions {
  pool: Pool;
  intervalMs: number;
  /** Applies one batch (called one at a time; a throw keeps the batch for the next tick). */
  onChanges(changes: TableChanges, info: { ids: number; lastId: number }): Promise<void>;
  /** Called after a lost stream / emptied log / oversized burst: re-read every kind. */
  onGap(reason: string): Promise<void>;
  /** Rows read per tick; a fuller batch is handled as a gap (default 5000). */
  maxBatch?: number;
  holeGraceMs?: number;
  pruneAfterMs?: number;
  pruneEveryMs?: number;
  log?: Logger;
}

/** Counters shown by the `status` management method. */
export interface ChangeTailStatus {
  intervalMs: number;
  floor: number;
  ticks: number;
  changes: number;
  batches: number;
  gaps: number;
  lastGap: string | null;
  holes: number;
  lost: boolean;
  lastError: string | null;
  lastChangeAt: string | null;
  pruned: number;
}

export interface ChangeTail {
  /** Reads the newest id: changes committed after this are tailed. */
  init(): Promise<void>;
  start(): void;
  /** One tick now (tests). */
  tick(): Promise<void>;
  status(): ChangeTailStatus;
  close(): Promise<void>;
}

export function createChangeTail(opts: ChangeTailOptions): ChangeTail {
  const { pool } = opts;
  const log = opts.log ?? createLogger("control-plane.cdc");
  const maxBatch = opts.maxBatch ?? 5000;
  const holeGraceMs = opts.holeGraceMs ?? 3000;
  const pruneAfterMs = opts.pruneAfterMs ?? 10 * 60_000;
  const pruneEveryMs = opts.pruneEveryMs ?? 30_000;
  let floor = 0;
  const done = new Set<number>();
  const holes = new Map<number, number>(); // id → first seen missing (ms)
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  let running: Promise<void> = Promise.resolve();
  let lastPrune = Date.now();
  const st: ChangeTailStatus = {
    intervalMs: opts.intervalMs,
    floor: 0,
    ticks: 0,
    changes: 0,
    batches: 0,
    gaps: 0,
    lastGap: null,
    holes: 0,
    lost: false,
    lastError: null,
    lastChangeAt: null,
    pruned: 0,
  };

  async function maxId(): Promise<number> {
    const [rows] = await pool.query<RowDataPacket[]>("SELECT COALESCE(MAX(`id`), 0) AS m FROM `olelo_changes`");
    return Number(rows[0]!.m);
  }

  async function gap(reason: string): Promise<void> {
    const m = await maxId(); // before the re-read: everything up to m is in it
    await opts.onGap(reason);
    floor = m;
    done.clear();
    holes.clear();
    st.gaps++;
    st.lastGap = `${new Date().toISOString()} ${reason}`;
    log.info("change log gap: re-read every kind", { reason, floor });
  }

  async function tickOnce(): Promise<void> {
    st.ticks++;
    if (st.lost) {
      await gap(`change stream lost (${st.lastError ?? "error"})`);
      st.lost = false;
      st.lastError = null;
      return;
    }
    const [rows] = await pool.query<RowDataPacket[]>({
      sql: "SELECT `id`, `tbl`, `pk` FROM `olelo_changes` WHERE `id` > ? ORDER BY `id` LIMIT ?",
      values: [floor, maxBatch],
    });
    if (rows.length >= maxBatch) return gap(`burst of ${rows.length}+ changes`);
    if (rows.length === 0 && done.size === 0 && holes.size === 0 && floor > 0 && (await maxId()) < floor) {
      return gap("change log emptied or recreated");
    }
    const fresh = rows.filter((r) => !done.has(Number(r.id)));
    if (fresh.length) {
      const changes: TableChanges = new Map();
      for (const r of fresh) {
        const t = String(r.tbl);
        if (changes.has(t) && changes.get(t) === null) continue;
        if (r.pk === null) changes.set(t, null);
        else {
          let s = changes.get(t);
          if (!s) changes.set(t, (s = new Set()));
          s.add(String(r.pk));
        }
      }
      const lastId = Number(fresh[fresh.length - 1]!.id);
      await opts.onChanges(changes, { ids: fresh.length, lastId });
      for (const r of fresh) done.add(Number(r.id));
      st.changes += fresh.length;
      st.batches++;
      st.lastChangeAt = new Date().toISOString();
    }
    // advance the floor over handled ids; wait a while for holes (out-of-order commits)
    const top = done.size ? Math.max(...done) : floor;
    const now = Date.now();
    while (floor < top) {
      const next = floor + 1;
      if (done.delete(next)) {
        holes.delete(next);
        floor = next;
        continue;
      }
      const seen = holes.get(next);
      if (seen === undefined) holes.set(next, now);
      if (seen !== undefined && now - seen >= holeGraceMs) {
        holes.delete(next);
        floor = next;
        continue;
      }
      break;
    }
    // record every hole between floor and top (so their grace runs from when they were first seen)
    for (let id = floor + 1; id < top && holes.size < 10_000; id++) if (!done.has(id) && !holes.has(id)) holes.set(id, now);
    st.floor = floor;
    st.holes = holes.size;
    if (now - lastPrune >= pruneEveryMs) {
      lastPrune = now;
      const [res] = await pool.query({
        sql: "DELETE FROM `olelo_changes` WHERE `at` < NOW(3) - INTERVAL ? SECOND ORDER BY `id` LIMIT 100000",
        values: [Math.ceil(pruneAfterMs / 1000)],
      });
      st.pruned += Number((res as { affectedRows?: number }).affectedRows ?? 0);
    }
  }

  function tick(): Promise<void> {
    running = running.then(() =>
      tickOnce().catch((e: Error) => {
        if (!st.lost) log.error("change log tail failed; will re-read everything when it works again", { error: e.message });
        st.lost = true;
        st.lastError = e.message;
      }),
    );
    return running;
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      void tick().finally(schedule);
    }, opts.intervalMs);
    timer.unref();
  }

  return {
    async init() {
      floor = await maxId();
      st.floor = floor;
    },
    start: schedule,
    tick,
    status: () => ({ ...st }),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
