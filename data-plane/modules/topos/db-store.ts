import mysql from "mysql2/promise";
import type { Logger } from "../../core/api.js";
import { branchOfRow, branchRow, dialogOfRow, dialogRow, type Row } from "./rows.js";
import type { BranchRecord, DialogRecord, ToposStore } from "./store.js";

/**
 * topos state in MySQL/MariaDB: Kamailio's `topos_d` and `topos_t` tables with their exact
 * columns (control-plane/drizzle/0007_kamailio_topos.sql). A dialog is one topos_d row keyed by
 * a_uuid (written again when it changes); expired rows are deleted by rectime every
 * clean_interval. Writes are queued on the pool in order; nothing on the SIP path waits for them.
 */
export class ToposDbStore implements ToposStore {
  private readonly pool: mysql.Pool;
  private chain: Promise<void> = Promise.resolve();
  private lastErrorLog = 0;
  errors = 0;

  constructor(
    url: string,
    private readonly log: Logger,
    private readonly dialogExpireSec: number,
  ) {
    this.pool = mysql.createPool({ uri: url, connectionLimit: 2, connectTimeout: 5000, enableKeepAlive: true });
  }

  private enqueue(op: () => Promise<unknown>): Promise<void> {
    return (this.chain = this.chain.then(op).then(
      () => undefined,
      (e: unknown) => {
        this.errors++;
        if (Date.now() - this.lastErrorLog > 10_000) {
          this.lastErrorLog = Date.now();
          this.log.error("topos: db write failed", { error: (e as Error).message });
        }
      },
    ));
  }

  private upsert(table: string, key: string, keyValue: string, row: Row): Promise<void> {
    const cols = Object.keys(row);
    const vals = cols.map((c) => row[c]);
    return this.enqueue(async () => {
      const [r] = await this.pool.query<mysql.ResultSetHeader>(`UPDATE \`${table}\` SET ${cols.map((c) => `\`${c}\` = ?`).join(", ")} WHERE \`${key}\` = ?`, [...vals, keyValue]);
      if (r.affectedRows === 0) {
        await this.pool.query(`INSERT INTO \`${table}\` (${cols.map((c) => `\`${c}\``).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`, vals);
      }
    });
  }

  saveDialog(d: DialogRecord): Promise<void> {
    return this.upsert("topos_d", "a_uuid", d.uuid, dialogRow(d));
  }
  async loadDialog(uuid: string): Promise<DialogRecord | null> {
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>("SELECT * FROM `topos_d` WHERE `a_uuid` = ? ORDER BY `id` DESC LIMIT 1", [uuid]);
    return rows[0] ? dialogOfRow(rows[0]) : null;
  }
  endDialog(uuid: string, graceSec: number): void {
    // rectime moved back so the next sweep after the grace time removes the row
    void this.enqueue(() => this.pool.query("UPDATE `topos_d` SET `rectime` = DATE_SUB(NOW(), INTERVAL ? SECOND) WHERE `a_uuid` = ?", [Math.max(0, this.dialogExpireSec - graceSec), uuid]));
  }
  saveBranch(b: BranchRecord): void {
    const row = branchRow(b);
    const cols = Object.keys(row);
    void this.enqueue(() => this.pool.query(`INSERT INTO \`topos_t\` (${cols.map((c) => `\`${c}\``).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`, cols.map((c) => row[c])));
  }
  async loadBranch(branch: string): Promise<BranchRecord | null> {
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>("SELECT * FROM `topos_t` WHERE `x_vbranch` = ? ORDER BY `id` DESC LIMIT 1", [branch]);
    return rows[0] ? branchOfRow(rows[0]) : null;
  }
  async clean(dialogExpireSec: number, branchExpireSec: number): Promise<number> {
    const [d] = await this.pool.query<mysql.ResultSetHeader>("DELETE FROM `topos_d` WHERE `rectime` < DATE_SUB(NOW(), INTERVAL ? SECOND)", [dialogExpireSec]);
    const [t] = await this.pool.query<mysql.ResultSetHeader>("DELETE FROM `topos_t` WHERE `rectime` < DATE_SUB(NOW(), INTERVAL ? SECOND)", [branchExpireSec]);
    return d.affectedRows + t.affectedRows;
  }
  async flush(): Promise<void> {
    await this.chain;
  }
  async close(): Promise<void> {
    await this.flush();
    await this.pool.end();
  }
}
