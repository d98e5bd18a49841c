import mysql from "mysql2/promise";
import type { TableRow } from "../../core/api.js";

/**
 * MySQL/MariaDB access for htables with a `dbtable` (Kamailio's `htable` table shape: key_name,
 * key_type, value_type, key_value, expires). Loading reads every row; storing replaces the whole
 * table content in one transaction (Kamailio deletes then inserts, without a transaction).
 */
export class HtableDbStore {
  private pool: mysql.Pool | null = null;

  constructor(private readonly url: string) {}

  private getPool(): mysql.Pool {
    this.pool ??= mysql.createPool({ uri: this.url, connectionLimit: 2, supportBigNumbers: true });
    return this.pool;
  }

  /** All rows of `dbtable`, ordered by key_name then id so array items keep their order. */
  async load(dbtable: string): Promise<TableRow[]> {
    const [rows] = await this.getPool().query(`SELECT * FROM \`${dbtable}\` ORDER BY key_name, id`);
    return rows as TableRow[];
  }

  /** Replaces the content of `dbtable` with `rows` ([key_name, key_type, value_type, key_value, expires]). */
  async save(dbtable: string, rows: ReadonlyArray<readonly [string, number, number, string, number]>): Promise<void> {
    const conn = await this.getPool().getConnection();
    try {
      await conn.beginTransaction();
      await conn.query(`DELETE FROM \`${dbtable}\``);
      for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500);
        await conn.query(`INSERT INTO \`${dbtable}\` (key_name, key_type, value_type, key_value, expires) VALUES ?`, [chunk]);
      }
      await conn.commit();
    } catch (e) {
      await conn.rollback().catch(() => undefined);
      throw e;
    } finally {
      conn.release();
    }
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p) await p.end();
  }
}
