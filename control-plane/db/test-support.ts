/**
 * Helpers for the control plane's MariaDB tests (not used at runtime): create/drop a test database,
 * run Kamailio's own MySQL scripts into it with the mysql client, and describe a schema through
 * information_schema so two databases can be compared.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import mysql, { type RowDataPacket } from "mysql2/promise";
import { createDatabase, type Database } from "./connect.js";

export const MYSQL_HOST = process.env.OLELO_TEST_MYSQL_HOST ?? "127.0.0.1";
export const MYSQL_PORT = Number(process.env.OLELO_TEST_MYSQL_PORT ?? 3306);
export const KAMAILIO_SQL_DIR = "/usr/share/kamailio/mysql";

/** URL of a test database on the local MariaDB (root, no password). */
export function testDbUrl(name: string): string {
  return `mysql://root@${MYSQL_HOST}:${MYSQL_PORT}/${name}`;
}

/** Drops and creates `name`, then opens it. Refuses the production name `olelo`. */
export async function freshTestDatabase(name: string): Promise<Database> {
  if (!/^olelo_test_/.test(name)) throw new Error(`refusing to recreate non-test database '${name}'`);
  const admin = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: "root" });
  try {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await admin.end();
  }
  return createDatabase(testDbUrl(name), { connectionLimit: 5 });
}

/** Drops a test database. */
export async function dropTestDatabase(name: string): Promise<void> {
  if (!/^olelo_test_/.test(name)) throw new Error(`refusing to drop non-test database '${name}'`);
  const admin = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: "root" });
  try {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await admin.end();
  }
}

/** Whether Kamailio's MySQL scripts are installed (Debian kamailio-mysql-modules). */
export function haveKamailioScripts(): boolean {
  return existsSync(`${KAMAILIO_SQL_DIR}/standard-create.sql`);
}

/** Runs Kamailio's `<module>-create.sql` into `db` with the mysql command-line client. */
export function runKamailioScript(db: string, module: string): void {
  const sql = readFileSync(`${KAMAILIO_SQL_DIR}/${module}-create.sql`, "utf8");
  execFileSync("mysql", ["-uroot", `-h${MYSQL_HOST}`, `-P${MYSQL_PORT}`, db], { input: sql, stdio: ["pipe", "pipe", "pipe"] });
}

export interface TableShape {
  columns: string[];
  indexes: string[];
}

/**
 * Columns (position, name, type, null, default, extra) and indexes (name, unique, columns) per
 * table. Integer display widths are dropped: `INT(11) UNSIGNED` and `INT UNSIGNED` are the same type.
 */
export async function describeSchema(database: Database, tables?: readonly string[]): Promise<Record<string, TableShape>> {
  const [cols] = await database.pool.query<RowDataPacket[]>(
    "SELECT TABLE_NAME t, ORDINAL_POSITION p, COLUMN_NAME c, COLUMN_TYPE ty, IS_NULLABLE n, COLUMN_DEFAULT d, EXTRA e " +
      "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION",
  );
  const [idx] = await database.pool.query<RowDataPacket[]>(
    "SELECT TABLE_NAME t, INDEX_NAME i, NON_UNIQUE u, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) cs " +
      "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE ORDER BY TABLE_NAME, INDEX_NAME",
  );
  const out: Record<string, TableShape> = {};
  const get = (t: string) => (out[t] ??= { columns: [], indexes: [] });
  for (const r of cols) {
    const t = String(r.t);
    if (tables && !tables.includes(t)) continue;
    const type = String(r.ty).replace(/^(tinyint|smallint|mediumint|int|bigint)\(\d+\)/, "$1");
    get(t).columns.push(`${r.p} ${r.c} ${type} ${r.n === "YES" ? "NULL" : "NOT NULL"} default=${r.d} ${r.e}`.trim());
  }
  for (const r of idx) {
    const t = String(r.t);
    if (tables && !tables.includes(t)) continue;
    get(t).indexes.push(`${r.i} ${Number(r.u) === 0 ? "UNIQUE" : "INDEX"} (${r.cs})`);
  }
  return out;
}

/** `SHOW CREATE TABLE` text of each table (without the AUTO_INCREMENT counter, which rows move). */
export async function showCreate(database: Database, tables: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of tables) {
    const [rows] = await database.pool.query<RowDataPacket[]>(`SHOW CREATE TABLE \`${t}\``);
    out[t] = String(rows[0]!["Create Table"]).replace(/ AUTO_INCREMENT=\d+/, "");
  }
  return out;
}

/** `version` table as table_name → table_version. */
export async function versionRows(database: Database): Promise<Record<string, number>> {
  const [rows] = await database.pool.query<RowDataPacket[]>("SELECT table_name, table_version FROM version ORDER BY table_name");
  return Object.fromEntries(rows.map((r) => [String(r.table_name), Number(r.table_version)]));
}
