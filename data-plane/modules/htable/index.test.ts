import mysql from "mysql2/promise";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { OleloEvent } from "../../core/api.js";
import { createTestHost } from "../../testing/test-host.js";
import htableModule, { HTABLE_EXPIRED_EVENT, type HtableApi } from "./index.js";

const call = (host: ReturnType<typeof createTestHost>, m: string, p: unknown) => host.rpc.call(m, p, { transport: "internal" });

describe("htable module", () => {
  afterEach(async () => {
    await htableModule.destroy?.();
    vi.useRealTimers();
  });

  it("sweeps expired items on the timer, publishes htable.expired, and destroy stops the timer", async () => {
    vi.useFakeTimers();
    const host = createTestHost("htable", { htable: ["ipban=>size=8;autoexpire=310", "a=>size=4"], timer_interval: 20 });
    const api = (await htableModule.init(host)) as HtableApi;
    const seen: OleloEvent[] = [];
    host.events.subscribe([HTABLE_EXPIRED_EVENT], (e) => seen.push(e));
    const local: string[] = [];
    api.onExpired("ipban", (it, t) => local.push(`${t}:${it.key}=${String(it.value)}`));

    api.set("ipban", "192.0.2.1", 1);
    api.setxs("a", "short", "x", 30);
    vi.advanceTimersByTime(309_000);
    expect(api.get("ipban", "192.0.2.1")).toBe(1);
    expect(seen).toHaveLength(1); // "short" expired at 30 s, swept at 40 s
    expect(seen[0]!.data).toEqual({ table: "a", key: "short", value: "x" });
    vi.advanceTimersByTime(1_000);
    expect(api.get("ipban", "192.0.2.1")).toBeNull(); // invisible at once
    expect(seen).toHaveLength(1); // not swept yet (sweeps run every 20 s: 300, 320, ...)
    vi.advanceTimersByTime(10_000);
    expect(seen.map((e) => e.data)).toEqual([
      { table: "a", key: "short", value: "x" },
      { table: "ipban", key: "192.0.2.1", value: 1 },
    ]);
    expect(local).toEqual(["ipban:192.0.2.1=1"]);

    await htableModule.destroy?.();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("RPCs behave and answer like Kamailio", async () => {
    const host = createTestHost("htable", { htable: ["t=>size=3;autoexpire=0", "u=>size=2;autoexpire=100;updateexpire=0"] });
    const api = (await htableModule.init(host)) as HtableApi;
    await expect(call(host, "htable.sets", ["t", "k1", "v1"])).resolves.toBe("Ok. Key set to new value.");
    await expect(call(host, "htable.seti", ["t", "k2", "i:41"])).resolves.toBe("Ok. Key set to new value.");
    await expect(call(host, "htable.seti", { htable: "t", key: "k3", value: "7" })).resolves.toBe("Ok. Key set to new value.");
    expect(api.inc("t", "k2")).toBe(42);
    await expect(call(host, "htable.get", ["t", "k2"])).resolves.toEqual({ item: { name: "k2", value: 42, flags: 0, expire: "NEVER" } });
    await expect(call(host, "htable.get", ["t", "k1"])).resolves.toEqual({ item: { name: "k1", value: "v1", flags: 2, expire: "NEVER" } });
    const withExp = (await call(host, "htable.setxs", ["u", "e", "ev", "50"]).then(() => call(host, "htable.get", ["u", "e"]))) as {
      item: { expire: string };
    };
    expect(withExp.item.expire).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await expect(call(host, "htable.setex", ["u", "e", 0])).resolves.toBe("Ok");
    await expect(call(host, "htable.setex", ["u", "missing", 5])).rejects.toMatchObject({ code: 500, message: "Failed to set the item" });
    await expect(call(host, "htable.setxi", ["u", "n", 5, 10])).resolves.toBe("Ok. Key set to new value.");
    expect(api.getex("u", "n")).toBe(10);
    await expect(call(host, "htable.get", ["t", "nope"])).rejects.toMatchObject({ code: 500, message: "Key name doesn't exist in htable." });
    await expect(call(host, "htable.get", ["zz", "k"])).rejects.toMatchObject({ code: 500, message: "No such htable" });
    await expect(call(host, "htable.seti", ["t", "k", "abc"])).rejects.toMatchObject({ code: -32602 });

    const dump = (await call(host, "htable.dump", ["t"])) as Array<{ entry: number; size: number; slot: Array<Record<string, unknown>> }>;
    const flat = dump.flatMap((b) => b.slot).sort((a, b) => String(a.name).localeCompare(String(b.name)));
    expect(flat).toEqual([
      { name: "k1", value: "v1", type: "str" },
      { name: "k2", value: 42, type: "int" },
      { name: "k3", value: 7, type: "int" },
    ]);
    for (const b of dump) {
      expect(b.size).toBe(b.slot.length);
      expect(b.entry).toBeGreaterThanOrEqual(0);
      expect(b.entry).toBeLessThan(8);
    }
    await expect(call(host, "htable.listTables", [])).resolves.toEqual([
      { name: "t", dbtable: "", dbmode: 0, expire: 0, updateexpire: 1, size: 8, dmqreplicate: 0 },
      { name: "u", dbtable: "", dbmode: 0, expire: 100, updateexpire: 0, size: 8, dmqreplicate: 0 },
    ]);
    const stats = (await call(host, "htable.stats", [])) as Array<Record<string, number | string>>;
    expect(stats[0]).toMatchObject({ name: "t", slots: 8, all: 3 });
    expect(Number(stats[0]!.max)).toBeGreaterThanOrEqual(1);
    await expect(call(host, "htable.delete", ["t", "k1"])).resolves.toBe("Ok. Key deleted.");
    await expect(call(host, "htable.delete", ["t", "k1"])).rejects.toMatchObject({ code: 404, message: "Key not found in htable." });
    await expect(call(host, "htable.flush", ["t"])).resolves.toBe("Ok. Htable flushed.");
    expect(api.get("t", "k2")).toBeNull();
    await expect(call(host, "htable.reload", ["t"])).rejects.toMatchObject({ message: /Htable reload failed: No database htable/ });
    await expect(call(host, "htable.store", ["t"])).rejects.toMatchObject({ message: "No htable db_url" });
    expect(host.stats.select("htable:tables")).toEqual([["htable:tables", 2]]);
  });

  it("the table sink replaces the content of htables bound to the pushed dbtable, and rejects bad rows", async () => {
    const host = createTestHost("htable", { htable: ["gw=>size=4;dbtable=gateways", "other=>size=4"] });
    const api = (await htableModule.init(host)) as HtableApi;
    api.set("gw", "stale", "x");
    api.set("other", "keep", 1);
    const ok = host.tables.load("htable", { gateways: [{ id: 1, key_name: "gw1", key_type: 0, value_type: 0, key_value: "10.0.0.1", expires: 0 }] }, "v1", "test");
    expect(ok.ok).toBe(true);
    expect(api.get("gw", "gw1")).toBe("10.0.0.1");
    expect(api.get("gw", "stale")).toBeNull();
    expect(api.get("other", "keep")).toBe(1);
    const bad = host.tables.load("htable", { gateways: [{ id: 5, key_name: "n", value_type: 1, key_value: "ten" }] }, "v2", "test");
    expect(bad.ok).toBe(false);
    expect(host.tables.statusOf("htable")?.lastError).toMatch(/gateways row 5: key_value 'ten' is not an integer/);
    expect(api.get("gw", "gw1")).toBe("10.0.0.1");
  });
});

describe("htable with MariaDB (olelo_test_fw)", () => {
  const url = "mysql://root@127.0.0.1:3306/olelo_test_fw";
  let admin: mysql.Connection;

  beforeAll(async () => {
    admin = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root", multipleStatements: true });
    await admin.query(`CREATE DATABASE IF NOT EXISTS olelo_test_fw; USE olelo_test_fw;
      DROP TABLE IF EXISTS ht_roundtrip;
      CREATE TABLE ht_roundtrip (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL, key_name VARCHAR(256) DEFAULT '' NOT NULL,
        key_type INT DEFAULT 0 NOT NULL, value_type INT DEFAULT 0 NOT NULL, key_value VARCHAR(512) DEFAULT '' NOT NULL, expires INT DEFAULT 0 NOT NULL);`);
  });
  afterAll(async () => {
    await admin.query("DROP TABLE IF EXISTS olelo_test_fw.ht_roundtrip");
    await admin.end();
  });

  it("loads at start, writes back on shutdown (dbmode=1) with per-item expiry (db_expires), and reloads", async () => {
    const nowS = Math.floor(Date.now() / 1000);
    await admin.query("DELETE FROM olelo_test_fw.ht_roundtrip");
    await admin.query(
      `INSERT INTO olelo_test_fw.ht_roundtrip (key_name, key_type, value_type, key_value, expires) VALUES
       ('route', 1, 0, 'a', 0), ('route', 1, 0, 'b', 0), ('count', 0, 1, '12', 0),
       ('gone', 0, 0, 'old', ?), ('later', 0, 0, 'soon', ?)`,
      [nowS - 100, nowS + 3600],
    );
    const cfg = { htable: ["rt=>size=4;autoexpire=7200;dbtable=ht_roundtrip;dbmode=1"], db_url: url, db_expires: 1 };
    const host = createTestHost("htable", cfg);
    const api = (await htableModule.init(host)) as HtableApi;
    expect(api.get("rt", "route[0]")).toBe("a");
    expect(api.get("rt", "route[1]")).toBe("b");
    expect(api.get("rt", "route::size")).toBe(2);
    expect(api.get("rt", "count")).toBe(12);
    expect(api.get("rt", "gone")).toBeNull();
    expect(api.getex("rt", "later")).toBeGreaterThan(3590);
    expect(api.getex("rt", "count")).toBeGreaterThan(7190);

    api.inc("rt", "count", 30);
    api.set("rt", "new", "value with 'quotes' and ünïcode");
    api.setxi("rt", "temp", -3, 600);
    await htableModule.destroy?.(); // dbmode=1 → store

    const [rows] = await admin.query("SELECT key_name, key_type, value_type, key_value, expires FROM olelo_test_fw.ht_roundtrip ORDER BY key_name");
    const byName = new Map((rows as Array<Record<string, unknown>>).map((r) => [r.key_name, r]));
    expect(byName.get("count")).toMatchObject({ key_type: 0, value_type: 1, key_value: "42" });
    expect(byName.get("new")).toMatchObject({ value_type: 0, key_value: "value with 'quotes' and ünïcode" });
    expect(Number(byName.get("temp")!.expires)).toBeGreaterThanOrEqual(nowS + 599);
    expect(Number(byName.get("later")!.expires)).toBe(nowS + 3600);
    expect(byName.has("gone")).toBe(false);
    expect(byName.get("route[0]")).toMatchObject({ key_type: 0, key_value: "a" });

    // a second start reads back what was stored
    const host2 = createTestHost("htable", cfg);
    const api2 = (await htableModule.init(host2)) as HtableApi;
    expect(api2.get("rt", "count")).toBe(42);
    expect(api2.get("rt", "temp")).toBe(-3);
    expect(api2.getex("rt", "temp")).toBeLessThanOrEqual(600);
    expect(api2.get("rt", "new")).toBe("value with 'quotes' and ünïcode");

    // htable.reload picks up DB changes; htable.store writes without shutdown
    await admin.query("UPDATE olelo_test_fw.ht_roundtrip SET key_value = '99' WHERE key_name = 'count'");
    await expect(call(host2, "htable.reload", ["rt"])).resolves.toBe("Ok. Htable reloaded.");
    expect(api2.get("rt", "count")).toBe(99);
    api2.set("rt", "count", 100);
    await expect(call(host2, "htable.store", ["rt"])).resolves.toBe("Ok. Htable successfully stored to DB.");
    const [r2] = await admin.query("SELECT key_value FROM olelo_test_fw.ht_roundtrip WHERE key_name='count'");
    expect((r2 as Array<{ key_value: string }>)[0]!.key_value).toBe("100");

    // a bad row makes reload fail and keeps the content
    await admin.query("INSERT INTO olelo_test_fw.ht_roundtrip (key_name, key_type, value_type, key_value) VALUES ('bad', 0, 1, 'x')");
    await expect(call(host2, "htable.reload", ["rt"])).rejects.toMatchObject({ message: /key_value 'x' is not an integer/ });
    expect(api2.get("rt", "count")).toBe(100);
    await admin.query("DELETE FROM olelo_test_fw.ht_roundtrip WHERE key_name='bad'");
    await htableModule.destroy?.();
  });

  it("fails init with a clear error when the table cannot be read", async () => {
    const host = createTestHost("htable", { htable: ["x=>dbtable=no_such_table"], db_url: url });
    await expect(htableModule.init(host)).rejects.toThrow(/htable: loading from the database failed: .*no_such_table/);
  });
});
