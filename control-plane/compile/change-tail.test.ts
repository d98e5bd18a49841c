/**
 * Change capture against a real MariaDB: the triggers (installed twice: the second run keeps
 * them), the change-log tail with a transaction that commits out of id order (its change is not
 * skipped), a lost stream (re-read everything), and the splice of changed rows in key order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setLogSink } from "../../lib/log/logger.js";
import { installCdcTriggers } from "../db/cdc-triggers.js";
import type { Database } from "../db/connect.js";
import { migrateDatabase } from "../db/migrate.js";
import { dropTestDatabase, freshTestDatabase } from "../db/test-support.js";
import { createChangeTail, type TableChanges } from "./change-tail.js";
import { spliceRows } from "./splice.js";

setLogSink(() => {});
const DB = "olelo_test_cdc_tail";
let d: Database;

beforeAll(async () => {
  d = await freshTestDatabase(DB);
  await migrateDatabase(d.db, d.pool);
}, 60_000);

afterAll(async () => {
  await d?.close();
  await dropTestDatabase(DB);
});

describe("change-capture triggers and tail", () => {
  it("installs triggers once and keeps them on the second run", async () => {
    const first = await installCdcTriggers(d.pool, ["dispatcher", "prefix_route", "no_such_table"]);
    expect(first.created).toHaveLength(6);
    expect(first.missingTables).toEqual(["no_such_table"]);
    const second = await installCdcTriggers(d.pool, ["dispatcher", "prefix_route"]);
    expect(second).toMatchObject({ created: [], replaced: [], kept: expect.arrayContaining(["olelo_cdc_dispatcher_ai", "olelo_cdc_prefix_route_au"]) });
  });

  it("sees a transaction that commits after a later change id, and an UPDATE of the key records both keys", async () => {
    const batches: TableChanges[] = [];
    const tail = createChangeTail({ pool: d.pool, intervalMs: 1000, onChanges: async (c) => void batches.push(c), onGap: async () => {}, holeGraceMs: 60_000 });
    await tail.init();
    const slow = await d.pool.getConnection();
    try {
      await slow.query("START TRANSACTION");
      await slow.query("INSERT INTO dispatcher (id, setid, destination) VALUES (100, 1, 'sip:10.0.0.100')"); // change id N, not committed
      await d.pool.query("INSERT INTO dispatcher (id, setid, destination) VALUES (101, 1, 'sip:10.0.0.101')"); // N+1, committed
      await tail.tick();
      expect(batches.map((b) => [...(b.get("dispatcher") ?? [])])).toEqual([["101"]]);
      expect(tail.status().holes).toBe(1);
      await slow.query("COMMIT");
    } finally {
      slow.release();
    }
    await tail.tick();
    expect(batches.map((b) => [...(b.get("dispatcher") ?? [])])).toEqual([["101"], ["100"]]);
    expect(tail.status().holes).toBe(0);
    await d.pool.query("UPDATE dispatcher SET id = 102 WHERE id = 101");
    await tail.tick();
    expect([...(batches[2]!.get("dispatcher") ?? [])].sort()).toEqual(["101", "102"]);
    await tail.close();
  });

  it("a failed tick marks the stream lost; the next good tick re-reads everything", async () => {
    let gaps = 0;
    const tail = createChangeTail({ pool: d.pool, intervalMs: 1000, onChanges: async () => {}, onGap: async () => void gaps++ });
    await tail.init();
    await d.pool.query("RENAME TABLE olelo_changes TO olelo_changes_away");
    await tail.tick();
    expect(tail.status().lost).toBe(true);
    await d.pool.query("RENAME TABLE olelo_changes_away TO olelo_changes");
    await tail.tick();
    expect(gaps).toBe(1);
    expect(tail.status()).toMatchObject({ lost: false, gaps: 1 });
    await tail.close();
  });
});

describe("spliceRows", () => {
  const rows = [1, 3, 5].map((id) => ({ id, setid: 1, destination: `sip:h${id}` }));
  it("replaces, removes and inserts by key, keeping key order and sharing unchanged rows", () => {
    const out = spliceRows("dispatcher", rows, new Set(["3", "4", "5"]), [
      { id: 4, setid: 1, destination: "sip:new4" },
      { id: 5, setid: 2, destination: "sip:h5b" },
    ]);
    expect(out.map((r) => r.id)).toEqual([1, 4, 5]);
    expect(out[0]).toBe(rows[0]);
    expect(out[2]).toMatchObject({ setid: 2 });
    expect(rows.map((r) => r.id)).toEqual([1, 3, 5]); // the old snapshot is untouched
  });
  it("orders text keys (prefix_route)", () => {
    const pr = ["49", "4930", "4989"].map((prefix) => ({ prefix, route: "R", comment: "" }));
    const out = spliceRows("prefix_route", pr, new Set(["4940", "49"]), [{ prefix: "4940", route: "X", comment: "" }]);
    expect(out.map((r) => r.prefix)).toEqual(["4930", "4940", "4989"]);
  });
});
