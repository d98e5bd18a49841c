/**
 * Opens the control plane's MySQL/MariaDB pool and its drizzle handle. The pool is shared: drizzle
 * runs CRUD through it, the compile step takes raw connections from it for consistent-snapshot
 * reads and change checks.
 *
 * @example
 *   const { pool, db } = createDatabase("mysql://olelo:pw@127.0.0.1:3306/kamailio");
 */
import { drizzle, type MySql2Database } from "drizzle-orm/mysql2";
import mysql, { type Pool } from "mysql2/promise";
import * as schema from "./schema.js";

/** drizzle handle typed with Olelo's schema. */
export type OleloDb = MySql2Database<typeof schema>;

export interface Database {
  readonly pool: Pool;
  readonly db: OleloDb;
  close(): Promise<void>;
}

/** Creates a pool (utf8mb4, DATETIME as strings) and a drizzle handle over it. */
export function createDatabase(url: string, opts: { connectionLimit?: number } = {}): Database {
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: opts.connectionLimit ?? 10,
    charset: "utf8mb4",
    dateStrings: true,
    supportBigNumbers: true,
  });
  const db = drizzle(pool, { schema, mode: "default" });
  return { pool, db, close: () => pool.end() };
}
