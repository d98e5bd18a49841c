import mysql from "mysql2/promise";
import type { TableRow } from "../../core/api.js";

/**
 * Reads whole Kamailio tables from MySQL/MariaDB for the reload RPCs (permissions.addressReload,
 * permissions.trustedReload), the way Kamailio's permissions module re-reads its cache. The pool is
 * created on first use and closed by `close()` (module destroy).
 */
export class MysqlTableSource {
  private pool: mysql.Pool | null = null;

  constructor(private readonly url: string) {}

  /** All rows of `table` (a validated plain identifier) as column-name → value objects. */
  async readTable(table: string): Promise<TableRow[]> {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(table)) throw new Error(`bad table name '${table}'`);
    this.pool ??= mysql.createPool({ uri: this.url, connectionLimit: 2, supportBigNumbers: true });
    const [rows] = await this.pool.query(`SELECT * FROM \`${table}\``);
    return rows as TableRow[];
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p) await p.end();
  }
}
