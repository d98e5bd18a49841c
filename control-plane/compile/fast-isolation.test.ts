/**
 * The change-capture fast path with bad rows (fast-compile.ts), against a real MariaDB: subscriber
 * changes written in SQL next to a bad row stay on the fast path (the version carries `changes`),
 * the bad row is refused alone with the full compile's table, key and reason, a refused row is
 * checked again on every batch (fixed: it goes live), and the version equals what a whole read and compile of the same rows gives.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setLogSink } from "../../lib/log/logger.js";
import { installCdcTriggers } from "../db/cdc-triggers.js";
import type { Database } from "../db/connect.js";
import { migrateDatabase } from "../db/migrate.js";
import { dropTestDatabase, freshTestDatabase } from "../db/test-support.js";
import { createDbSnapshotSource, type DbSnapshotSource } from "./source.js";

setLogSink(() => {});
const DB = "olelo_test_fast_iso";
let d: Database;
let src: DbSnapshotSource;

const users = () => (src.current("subscriber")?.set.subscriber ?? []).map((r) => `${String(r.username)}#${String(r.id)}`);
const refused = () => src.status().kinds.find((k) => k.kind === "subscriber")!.refused.map((r) => `${r.key} ${r.reason}`);

/** Runs `sql` and waits until the subscriber version moved (or `until` holds). */
async function change(sql: string, until: () => boolean = () => true): Promise<void> {
  const before = src.current("subscriber")?.version;
  await d.pool.query(sql);
  const t0 = Date.now();
  while (!(src.current("subscriber")?.version !== before && until())) {
    if (Date.now() - t0 > 5000) throw new Error(`'${sql}' not applied within 5 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The version a whole read and compile of the database gives (a second source). */
async function fullVersion(): Promise<string | undefined> {
  const s = await createDbSnapshotSource({ db: d.db, pool: d.pool, pollIntervalMs: 0, persist: false });
  const v = s.current("subscriber")?.version;
  await s.close();
  return v;
}

beforeAll(async () => {
  d = await freshTestDatabase(DB);
  await migrateDatabase(d.db, d.pool);
  await installCdcTriggers(d.pool, ["subscriber"]);
  await d.pool.query("INSERT INTO subscriber (id, username, domain, password) VALUES (1, 'alice', 'd.test', 'a'), (2, 'bob', 'd.test', 'b'), (3, 'carol', 'd.test', 'c')");
  src = await createDbSnapshotSource({ db: d.db, pool: d.pool, pollIntervalMs: 0, persist: false, cdcIntervalMs: 30 });
}, 60_000);

afterAll(async () => {
  await src?.close();
  await d?.close();
  await dropTestDatabase(DB);
});

describe("fast path with bad rows (skip policy)", () => {
  it("a bad row next to good changes is refused alone and the kind stays on the fast path", async () => {
    expect(src.current("subscriber")!.changes).toBeUndefined(); // the start is a whole read
    await change("INSERT INTO subscriber (id, username, domain, password) VALUES (10, 'dave', 'd.test', 'x')");
    expect(src.current("subscriber")!.changes?.tables.get("subscriber")?.added).toHaveLength(1);
    expect(users()).toEqual(["alice#1", "bob#2", "carol#3", "dave#10"]);

    await change("INSERT INTO subscriber (id, username, domain, password) VALUES (11, '', 'd.test', 'x'), (12, 'erin', 'd.test', 'e')");
    expect(users()).toEqual(["alice#1", "bob#2", "carol#3", "dave#10", "erin#12"]);
    expect(refused()).toEqual(["11 username is empty"]);
    expect(src.current("subscriber")!.changes).toBeDefined();

    // kamctl rm next to the refused row: still the fast path, the refusal stays
    await change("DELETE FROM subscriber WHERE id = 1");
    expect(src.current("subscriber")!.changes).toBeDefined();
    expect(users()).toEqual(["bob#2", "carol#3", "dave#10", "erin#12"]);
    expect(refused()).toEqual(["11 username is empty"]);
    expect(src.current("subscriber")!.version).toBe(await fullVersion());

    // the bad row fixed in SQL goes live and the refusal clears
    await change("UPDATE subscriber SET username = 'frank' WHERE id = 11");
    expect(users()).toEqual(["bob#2", "carol#3", "dave#10", "frank#11", "erin#12"].sort((a, b) => Number(a.split("#")[1]) - Number(b.split("#")[1])));
    expect(refused()).toEqual([]);
    expect(src.current("subscriber")!.version).toBe(await fullVersion());
  });

  it("a good row made bad by an UPDATE is refused (and left out) alone; kamctl passwd beside it goes live", async () => {
    await change("UPDATE subscriber SET password = '', ha1 = '' WHERE id = 3", () => refused().length === 1);
    expect(refused()).toEqual(["3 subscriber carol@d.test has neither password nor ha1"]);
    expect(users()).not.toContain("carol#3");
    await change("UPDATE subscriber SET password = 'new' WHERE id = 10");
    expect(src.current("subscriber")!.changes).toBeDefined();
    expect(src.current("subscriber")!.set.subscriber!.find((r) => r.id === 10)?.password).toBe("new");
    expect(refused()).toEqual(["3 subscriber carol@d.test has neither password nor ha1"]);
    expect(src.current("subscriber")!.version).toBe(await fullVersion());
  });
});
