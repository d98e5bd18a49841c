import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { setLogSink } from "../../lib/log/logger.js";
import type { Database } from "../db/connect.js";
import { migrateDatabase } from "../db/migrate.js";
import { dropTestDatabase, freshTestDatabase } from "../db/test-support.js";
import { createDbSnapshotSource, type DbSnapshotSource, type DbSnapshotSourceOptions } from "./source.js";
import { letTimePass } from "../../test/kit/wait.js";

const DB = "olelo_test_cp1";
let d: Database;
const open: DbSnapshotSource[] = [];

async function source(pollIntervalMs = 0, more: Partial<DbSnapshotSourceOptions> = {}): Promise<DbSnapshotSource> {
  const s = await createDbSnapshotSource({ db: d.db, pool: d.pool, pollIntervalMs, ...more });
  open.push(s);
  return s;
}

function waitForChange(s: DbSnapshotSource, kind: string, timeoutMs = 5000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      reject(new Error(`no change of ${kind} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = s.onChange((kinds) => {
      if (!kinds.includes(kind)) return;
      clearTimeout(t);
      off();
      resolve(kinds);
    });
  });
}

setLogSink(() => undefined);

beforeAll(async () => {
  d = await freshTestDatabase(DB);
  await migrateDatabase(d.db, d.pool);
});

beforeEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const t of ["dispatcher", "lcr_rule_target", "lcr_rule", "lcr_gw", "prefix_route", "olelo_snapshots"]) await d.pool.query(`DELETE FROM \`${t}\``);
  await d.pool.query(
    "INSERT INTO dispatcher (id, setid, destination, priority) VALUES (1, 1, 'sip:10.0.0.1:5060', 10), (2, 1, 'sip:10.0.0.2:5060', 5)",
  );
});

afterAll(async () => {
  for (const s of open.splice(0)) await s.close();
  await d.close();
  await dropTestDatabase(DB);
  setLogSink(null);
});

describe("DB snapshot source", () => {
  it("compiles every kind at start; the version is a content hash, stable across restarts", async () => {
    const a = await source();
    expect(a.kinds()).toEqual(expect.arrayContaining(["dispatcher", "lcr", "drouting", "carrierroute", "prefix_route", "mtree", "subscriber", "address", "trusted", "htable"]));
    const snap = a.current("dispatcher")!;
    expect(snap.rows).toBe(2);
    expect(snap.version).toMatch(/^[0-9a-f]{16}$/);
    expect(snap.set.dispatcher!.map((r) => r.destination)).toEqual(["sip:10.0.0.1:5060", "sip:10.0.0.2:5060"]);
    await a.close();
    const b = await source();
    expect(b.current("dispatcher")!.version).toBe(snap.version);
    // the same rows in a fresh control plane without stored snapshots give the same version
    const c = await createDbSnapshotSource({ db: d.db, pool: d.pool, pollIntervalMs: 0, persist: false });
    open.push(c);
    expect(c.current("dispatcher")!.version).toBe(snap.version);
    // a different row changes it
    await d.pool.query("UPDATE dispatcher SET priority = 6 WHERE id = 2");
    expect((await c.refresh("test")).changed).toEqual(["dispatcher"]);
    expect(c.current("dispatcher")!.version).not.toBe(snap.version);
  });

  it("hold policy: a bad row holds its kind with {table, row, reason}; the previous snapshot stays current, deletions still go live", async () => {
    const s = await source(0, { rowPolicy: { dispatcher: "hold" } });
    const good = s.current("dispatcher")!;
    await d.pool.query("INSERT INTO dispatcher (id, setid, destination) VALUES (3, 2, 'sip:')");
    await d.pool.query("INSERT INTO dispatcher (id, setid, destination) VALUES (4, 2, 'sip:10.0.0.4')");
    const res = await s.refresh("test");
    expect(res.changed).toEqual([]);
    expect(res.errors).toEqual([{ kind: "dispatcher", table: "dispatcher", row: 3, reason: expect.stringContaining("sip:") }]);
    expect(s.current("dispatcher")).toBe(good);
    expect(s.current("dispatcher")!.set.dispatcher!.some((r) => r.id === 3 || r.id === 4)).toBe(false);
    const st = s.status().kinds.find((k) => k.kind === "dispatcher")!;
    expect(st).toMatchObject({ policy: "hold", held: true, lastError: { table: "dispatcher", row: 3 }, version: good.version });
    expect(st.refused).toEqual([expect.objectContaining({ table: "dispatcher", key: "3", since: expect.any(String) })]);
    // other kinds are unaffected
    expect(s.status().kinds.filter((k) => k.lastError !== null).map((k) => k.kind)).toEqual(["dispatcher"]);
    // a deletion goes live on the held kind
    await d.pool.query("DELETE FROM dispatcher WHERE id = 2");
    expect((await s.refresh("test")).changed).toEqual(["dispatcher"]);
    expect(s.current("dispatcher")!.set.dispatcher!.map((r) => r.id)).toEqual([1]);
    expect(s.status().kinds.find((k) => k.kind === "dispatcher")!.held).toBe(true);
    // fixing the row compiles again and clears the error
    await d.pool.query("UPDATE dispatcher SET destination = 'sip:10.0.0.3' WHERE id = 3");
    expect((await s.refresh("test")).changed).toEqual(["dispatcher"]);
    expect(s.status().kinds.find((k) => k.kind === "dispatcher")).toMatchObject({ lastError: null, held: false, refused: [] });
    expect(s.current("dispatcher")!.set.dispatcher!.map((r) => r.id)).toEqual([1, 3, 4]);
  });

  it("skip policy (default): a bad row is refused alone, the other rows go live, the refusal is counted and audited once", async () => {
    await d.pool.query("DELETE FROM olelo_audit");
    const s = await source();
    const total0 = s.status().refusalsTotal;
    await d.pool.query("INSERT INTO dispatcher (id, setid, destination) VALUES (3, 2, 'sip:')");
    await d.pool.query("INSERT INTO dispatcher (id, setid, destination) VALUES (4, 2, 'sip:10.0.0.4')");
    const res = await s.refresh("test");
    expect(res.changed).toEqual(["dispatcher"]);
    expect(res.errors).toEqual([]);
    expect(res.refused).toEqual([{ kind: "dispatcher", table: "dispatcher", key: "3", row: 3, reason: expect.stringContaining("sip:") }]);
    expect(s.current("dispatcher")!.set.dispatcher!.map((r) => r.id)).toEqual([1, 2, 4]);
    const st = s.status().kinds.find((k) => k.kind === "dispatcher")!;
    expect(st).toMatchObject({ policy: "skip", held: false, lastError: null, rows: 3 });
    expect(st.refused).toEqual([expect.objectContaining({ table: "dispatcher", key: "3", reason: expect.stringContaining("sip:") })]);
    expect(s.status()).toMatchObject({ refusalsTotal: total0 + 1, refusedRows: 1 });
    // the same rows again: the same result from the cached refusals (no recompile)
    const [raw] = await d.pool.query<RowDataPacket[]>("SELECT * FROM dispatcher ORDER BY id");
    const again = s.compileSet("dispatcher", { dispatcher: raw.map((r) => ({ ...r })) });
    expect(again).toMatchObject({ ok: true, version: s.current("dispatcher")!.version, rows: 3, refused: res.refused });
    // the same bad row again: not counted or audited again
    await d.pool.query("DELETE FROM dispatcher WHERE id = 2");
    expect((await s.refresh("test")).changed).toEqual(["dispatcher"]);
    expect(s.current("dispatcher")!.set.dispatcher!.map((r) => r.id)).toEqual([1, 4]);
    expect(s.status().refusalsTotal).toBe(total0 + 1);
    const [audit] = await d.pool.query<RowDataPacket[]>("SELECT actor, action, kind, table_name, row_id, `after` FROM olelo_audit WHERE action = 'row.refused'");
    expect(audit.map((r) => ({ ...r, after: typeof r.after === "string" ? JSON.parse(r.after) : r.after }))).toEqual([
      { actor: "control-plane", action: "row.refused", kind: "dispatcher", table_name: "dispatcher", row_id: "3", after: { reason: expect.stringContaining("sip:"), policy: "skip" } },
    ]);
    // a row that only failed through a refused row is refused in turn, with its own reason
    await d.pool.query("INSERT INTO lcr_gw (id, lcr_id, gw_name, ip_addr, port) VALUES (1, 1, 'gw1', '10.0.0.999', 5060)");
    await d.pool.query("INSERT INTO lcr_rule (id, lcr_id, prefix) VALUES (1, 1, '49')");
    await d.pool.query("INSERT INTO lcr_rule_target (id, lcr_id, rule_id, gw_id, priority, weight) VALUES (1, 1, 1, 1, 1, 1)");
    const lcr = await s.refresh("test");
    expect(lcr.refused.filter((r) => r.kind === "lcr").map((r) => `${r.table} ${r.key}`)).toEqual(["lcr_gw 1", "lcr_rule_target 1"]);
    expect(s.current("lcr")!.set.lcr_rule!.map((r) => r.id)).toEqual([1]);
    await d.pool.query("DELETE FROM lcr_rule_target");
    await d.pool.query("DELETE FROM lcr_rule");
    await d.pool.query("DELETE FROM lcr_gw");
    await d.pool.query("DELETE FROM olelo_audit");
  });

  it("rows written directly in SQL are picked up by the interval change check (insert, update in place, delete)", async () => {
    const s = await source(50);
    const v0 = s.current("lcr")!.version;
    let changed = waitForChange(s, "lcr");
    await d.pool.query("INSERT INTO lcr_gw (id, lcr_id, gw_name, ip_addr, port) VALUES (7, 1, 'gw7', '10.0.0.7', 5060)");
    expect(await changed).toEqual(["lcr"]);
    const v1 = s.current("lcr")!.version;
    expect(v1).not.toBe(v0);
    expect(s.current("lcr")!.set.lcr_gw).toEqual([expect.objectContaining({ id: 7, gw_name: "gw7", ip_addr: "10.0.0.7", hostname: null })]);
    // same row count, same max id, one value changed
    changed = waitForChange(s, "lcr");
    await d.pool.query("UPDATE lcr_gw SET port = 5070 WHERE id = 7");
    await changed;
    expect(s.current("lcr")!.set.lcr_gw![0]!.port).toBe(5070);
    // NULL vs empty string is a change too
    changed = waitForChange(s, "lcr");
    await d.pool.query("UPDATE lcr_gw SET hostname = '' WHERE id = 7");
    await changed;
    expect(s.current("lcr")!.set.lcr_gw![0]!.hostname).toBe("");
    changed = waitForChange(s, "lcr");
    await d.pool.query("DELETE FROM lcr_gw");
    await changed;
    expect(s.current("lcr")!.version).toBe(v0);
    expect(s.status().polls).toBeGreaterThan(0);
  });

  it("the change check does not recompile unchanged or still-broken kinds", async () => {
    const s = await source();
    expect(await s.checkNow()).toMatchObject({ changed: [], errors: [] });
    await d.pool.query("INSERT INTO prefix_route (prefix, route) VALUES ('4x', 'GERMANY')");
    const first = await s.checkNow();
    expect(first.errors).toEqual([]);
    expect(first.refused).toEqual([{ kind: "prefix_route", table: "prefix_route", key: "4x", row: "4x", reason: expect.stringContaining("digits only") }]);
    const checkedAt = s.status().kinds.find((k) => k.kind === "prefix_route")!.checkedAt;
    // nothing moved: no recompile, the error is still reported in status
    expect(await s.checkNow()).toMatchObject({ changed: [], errors: [] });
    const st = s.status().kinds.find((k) => k.kind === "prefix_route")!;
    expect(st.checkedAt).toBe(checkedAt);
    expect(st.refused).toEqual([expect.objectContaining({ key: "4x" })]);
  });

  it("big tables are rescanned only when information_schema UPDATE_TIME moved, and writes are still seen", async () => {
    const s = await createDbSnapshotSource({ db: d.db, pool: d.pool, pollIntervalMs: 0, bigTableRows: 0 });
    open.push(s);
    const tables = s.status().kinds.reduce((n, k) => n + k.tables.length, 0);
    await s.checkNow();
    await letTimePass(1100, "past the second of the last write");
    await s.checkNow();
    const before = s.status().scans;
    expect(await s.checkNow()).toMatchObject({ changed: [], errors: [] });
    const after = s.status().scans;
    expect(after.skipped - before.skipped).toBe(tables);
    expect(after.scanned).toBe(before.scanned);
    await d.pool.query("INSERT INTO lcr_gw (id, lcr_id, gw_name, ip_addr) VALUES (8, 1, 'gw8', '10.0.0.8')");
    expect((await s.checkNow()).changed).toEqual(["lcr"]);
    expect(s.status().scans.scanned).toBe(after.scanned + 1);
    expect(s.current("lcr")!.set.lcr_gw!.map((r) => r.id)).toEqual([8]);
  });

  it("refresh picks up direct SQL writes and notifies onChange listeners once per refresh", async () => {
    const s = await source();
    const seen: string[][] = [];
    const off = s.onChange((k) => seen.push(k));
    await d.pool.query("INSERT INTO dispatcher (setid, destination) VALUES (9, 'sip:10.9.0.1')");
    await d.pool.query("INSERT INTO prefix_route (prefix, route) VALUES ('33', 'FRANCE')");
    const res = await s.refresh("operator push");
    expect(res.changed.sort()).toEqual(["dispatcher", "prefix_route"]);
    expect(seen).toEqual([res.changed]);
    expect(s.current("prefix_route")!.set.prefix_route).toEqual([{ prefix: "33", route: "FRANCE", comment: "" }]);
    off();
    await d.pool.query("DELETE FROM prefix_route");
    await s.refresh("again");
    expect(seen.length).toBe(1);
  });

  it("stores versions and serves the last good one after a restart even when the DB now has a bad row", async () => {
    const a = await source();
    const good = a.current("dispatcher")!;
    await a.close();
    await d.pool.query("INSERT INTO dispatcher (id, setid, destination, flags) VALUES (5, 1, 'sip:10.0.0.5', 1024)");
    const b = await source();
    expect(b.current("dispatcher")!.version).toBe(good.version);
    expect(b.current("dispatcher")!.set).toEqual(good.set);
    expect(b.status().kinds.find((k) => k.kind === "dispatcher")!.refused).toEqual([expect.objectContaining({ key: "5", reason: expect.stringContaining("flags") })]);
    const [rows] = await d.pool.query<RowDataPacket[]>("SELECT kind, version, row_count FROM olelo_snapshots WHERE kind = 'dispatcher'");
    expect(rows.map((r) => ({ ...r }))).toEqual([{ kind: "dispatcher", version: good.version, row_count: 2 }]);
  });

  it("diff shows added/removed/changed rows by key between the served version and the database", async () => {
    const s = await source();
    const from = s.current("dispatcher")!.version;
    expect(await s.diff()).toEqual([]);
    await d.pool.query("INSERT INTO dispatcher (id, setid, destination) VALUES (4, 2, 'sip:10.0.0.4')");
    await d.pool.query("UPDATE dispatcher SET priority = 1 WHERE id = 1");
    await d.pool.query("DELETE FROM dispatcher WHERE id = 2");
    await d.pool.query("INSERT INTO prefix_route (prefix, route) VALUES ('1x', 'X')"); // does not compile
    const diff = await s.diff();
    const ds = diff.find((x) => x.kind === "dispatcher")!;
    expect(ds.from).toBe(from);
    expect(ds.to).toMatch(/^[0-9a-f]{16}$/);
    expect(ds.added).toEqual([{ table: "dispatcher", id: 4, row: expect.objectContaining({ destination: "sip:10.0.0.4" }) }]);
    expect(ds.removed).toEqual([{ table: "dispatcher", id: 2, row: expect.objectContaining({ destination: "sip:10.0.0.2:5060" }) }]);
    expect(ds.changed).toEqual([
      { table: "dispatcher", id: 1, columns: ["priority"], before: expect.objectContaining({ priority: 10 }), after: expect.objectContaining({ priority: 1 }) },
    ]);
    const pr = diff.find((x) => x.kind === "prefix_route")!;
    expect(pr.to).toBe(pr.from); // the bad row would be refused: nothing else changes
    expect(pr.refused).toEqual([expect.objectContaining({ table: "prefix_route", key: "1x" })]);
    expect(pr.added).toHaveLength(0);
    expect(diff.map((x) => x.kind).sort()).toEqual(["dispatcher", "prefix_route"]);
    // diff does not change what is served
    expect(s.current("dispatcher")!.version).toBe(from);
    await d.pool.query("DELETE FROM prefix_route");
    await s.refresh("apply");
    expect(await s.diff()).toEqual([]);
  });
});
