/**
 * AccDbWriter against the real MariaDB (database olelo_test_acc_writer) and against a port with
 * nothing listening (an unreachable database).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mysql from "mysql2/promise";
import { AccDbWriter, isConnectionError } from "./db-writer.js";
import { createLogger, setLogLevel } from "../../core/api.js";
import { waitUpTo, letTimePass } from "../../../test/kit/wait.js";
import { freePort } from "../../../test/kit/ports.js";

setLogLevel("error");
const DB = "olelo_test_acc_writer";
const URL = `mysql://root@127.0.0.1:3306/${DB}`;
const log = createLogger("acc-test");

describe("AccDbWriter", () => {
  let admin: mysql.Connection;
  beforeAll(async () => {
    admin = await mysql.createConnection({ uri: "mysql://root@127.0.0.1:3306", multipleStatements: true });
    await admin.query(
      `DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB}; USE ${DB};
       CREATE TABLE t1 (id INT AUTO_INCREMENT PRIMARY KEY, a VARCHAR(16) NOT NULL, n INT NOT NULL, ts DATETIME NOT NULL);
       CREATE TABLE t2 (id INT AUTO_INCREMENT PRIMARY KEY, a VARCHAR(16) NOT NULL);`,
    );
  });
  afterAll(async () => {
    await admin?.query(`DROP DATABASE IF EXISTS ${DB}`);
    await admin?.end();
  });
  const count = async (t: string) => ((await admin.query(`SELECT COUNT(*) n FROM ${DB}.${t}`)) as any)[0][0].n as number;

  it("writes full batches at once and waits flush_interval for a partial one, keeping order", async () => {
    const w = new AccDbWriter(URL, { batchSize: 50, flushIntervalMs: 400, queueMax: 1000, retryMs: 100, log });
    w.defineTable("t1", ["a", "n", "ts"]);
    const when = new Date("2026-03-04T05:06:07Z");
    for (let i = 0; i < 120; i++) expect(w.enqueue("t1", [`r${i}`, i, when])).toBe(true);
    // a full batch starts writing at once (no wait for the 400 ms timer); the flush takes the tail along
    await waitUpTo(() => w.status.queued === 0 && w.status.written === 120, 250);
    expect(w.status).toMatchObject({ queued: 0, written: 120, errors: 0, dropped: 0, rejected: 0, down: false });
    const [rows] = (await admin.query(`SELECT a, n, UNIX_TIMESTAMP(ts) u FROM ${DB}.t1 ORDER BY id`)) as any;
    expect(rows.map((r: any) => r.n)).toEqual([...Array(120).keys()]);
    expect(Number(rows[0].u)).toBe(when.getTime() / 1000);
    // a single row waits for the flush timer
    w.enqueue("t1", ["late", 999, when]);
    await letTimePass(150, "the flush timer has not run yet");
    expect(w.status.queued).toBe(1);
    await waitUpTo(() => w.status.queued === 0, 750);
    expect(w.status.queued).toBe(0);
    expect(await count("t1")).toBe(121);
    await w.close();
  });

  it("drops rows the database refuses (missing column) without holding up other tables", async () => {
    const w = new AccDbWriter(URL, { batchSize: 10, flushIntervalMs: 0, queueMax: 1000, retryMs: 100, log });
    w.defineTable("t2", ["a", "nosuch"]);
    w.defineTable("t1", ["a", "n", "ts"]);
    w.enqueue("t2", ["x", "y"]);
    w.enqueue("t1", ["ok", 1, new Date()]);
    await w.flush();
    expect(w.status).toMatchObject({ queued: 0, rejected: 1, errors: 1, down: false });
    expect(w.status.lastError).toMatch(/nosuch/);
    expect(await count("t2")).toBe(0);
    expect(await count("t1")).toBe(122);
    await w.close();
  });

  it("buffers while the database is unreachable, bounded by queue_max", async () => {
    const w = new AccDbWriter(`mysql://root@127.0.0.1:${await freePort()}/x`, // nothing listens there
      { batchSize: 10, flushIntervalMs: 0, queueMax: 5, retryMs: 50, log });
    w.defineTable("t1", ["a", "n", "ts"]);
    for (let i = 0; i < 7; i++) w.enqueue("t1", ["x", i, new Date()]);
    await w.flush();
    expect(w.status).toMatchObject({ queued: 5, dropped: 2, written: 0, down: true });
    expect(w.status.errors).toBeGreaterThanOrEqual(1);
    await letTimePass(300, "retries with backoff keep failing, nothing is lost from the queue");
    expect(w.status.queued).toBe(5);
    expect(w.status.errors).toBeGreaterThanOrEqual(2);
    await w.close(100);
    expect(w.enqueue("t1", ["after close", 0, new Date()])).toBe(false);
  });

  it("refuses undeclared tables and a second column list", () => {
    const w = new AccDbWriter(URL, { batchSize: 10, flushIntervalMs: 0, queueMax: 5, retryMs: 50, log });
    expect(() => w.enqueue("zz", [])).toThrow(/not declared/);
    w.defineTable("t1", ["a"]);
    expect(() => w.defineTable("t1", ["b"])).toThrow(/two column lists/);
    void w.close(0);
  });

  it("classifies connection failures", () => {
    expect(isConnectionError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error("x"), { fatal: true }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error("x"), { code: "ER_BAD_FIELD_ERROR", fatal: false }))).toBe(false);
    expect(isConnectionError("nope")).toBe(false);
  });
});
