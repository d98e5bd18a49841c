import mysql from "mysql2/promise";

/** One stored message (a row of Kamailio's `silo` table, v8). Times are Unix seconds. */
export interface SiloMessage {
  id: number;
  srcAddr: string;
  dstAddr: string;
  username: string;
  domain: string;
  incTime: number;
  expTime: number;
  sndTime: number;
  ctype: string;
  body: string;
  extraHdrs: string;
  callid: string;
  status: number;
}

/** Where stored messages live: memory (one node) or the `silo` table (shared by a fleet). */
export interface SiloStore {
  insert(m: Omit<SiloMessage, "id">): Promise<number>;
  /** Messages of a user that have not expired, oldest first. */
  listFor(username: string, domain: string, now: number): Promise<SiloMessage[]>;
  /** Count and body bytes of a user's messages. */
  usage(username: string, domain: string, now: number): Promise<{ count: number; bytes: number }>;
  /** Claims a message for delivery (snd_time 0 → now); false when another node already did. */
  claim(id: number, now: number): Promise<boolean>;
  /** Releases a claim after a failed delivery (tried again at the next REGISTER). */
  release(id: number): Promise<void>;
  remove(id: number): Promise<void>;
  removeExpired(now: number): Promise<number>;
  all(now: number): Promise<SiloMessage[]>;
  close(): Promise<void>;
}

export class MemorySiloStore implements SiloStore {
  private readonly rows = new Map<number, SiloMessage>();
  private next = 1;

  async insert(m: Omit<SiloMessage, "id">): Promise<number> {
    const id = this.next++;
    this.rows.set(id, { ...m, id });
    return id;
  }
  async listFor(username: string, domain: string, now: number): Promise<SiloMessage[]> {
    return [...this.rows.values()].filter((r) => r.username === username && r.domain === domain && r.expTime > now);
  }
  async usage(username: string, domain: string, now: number): Promise<{ count: number; bytes: number }> {
    const l = await this.listFor(username, domain, now);
    return { count: l.length, bytes: l.reduce((a, r) => a + r.body.length, 0) };
  }
  async claim(id: number, now: number): Promise<boolean> {
    const r = this.rows.get(id);
    if (!r || r.sndTime !== 0) return false;
    r.sndTime = now;
    return true;
  }
  async release(id: number): Promise<void> {
    const r = this.rows.get(id);
    if (r) r.sndTime = 0;
  }
  async remove(id: number): Promise<void> {
    this.rows.delete(id);
  }
  async removeExpired(now: number): Promise<number> {
    let n = 0;
    for (const [id, r] of this.rows) if (r.expTime <= now && this.rows.delete(id)) n++;
    return n;
  }
  async all(now: number): Promise<SiloMessage[]> {
    return [...this.rows.values()].filter((r) => r.expTime > now);
  }
  async close(): Promise<void> {}
}

const COLS = "id, src_addr, dst_addr, username, domain, inc_time, exp_time, snd_time, ctype, body, extra_hdrs, callid, status";

function ofRow(r: Record<string, unknown>): SiloMessage {
  const s = (v: unknown) => (v === null || v === undefined ? "" : Buffer.isBuffer(v) ? v.toString("latin1") : String(v));
  return {
    id: Number(r.id),
    srcAddr: s(r.src_addr),
    dstAddr: s(r.dst_addr),
    username: s(r.username),
    domain: s(r.domain),
    incTime: Number(r.inc_time),
    expTime: Number(r.exp_time),
    sndTime: Number(r.snd_time),
    ctype: s(r.ctype),
    body: s(r.body),
    extraHdrs: s(r.extra_hdrs),
    callid: s(r.callid),
    status: Number(r.status),
  };
}

/** Kamailio's `silo` table in MySQL/MariaDB (created by the control plane's migration 0011). */
export class MysqlSiloStore implements SiloStore {
  private readonly pool: mysql.Pool;

  constructor(url: string) {
    this.pool = mysql.createPool({ uri: url, connectionLimit: 2 });
  }
  async insert(m: Omit<SiloMessage, "id">): Promise<number> {
    const [r] = await this.pool.query(
      "INSERT INTO silo (src_addr, dst_addr, username, domain, inc_time, exp_time, snd_time, ctype, body, extra_hdrs, callid, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      [m.srcAddr, m.dstAddr, m.username, m.domain, m.incTime, m.expTime, m.sndTime, m.ctype, Buffer.from(m.body, "latin1"), m.extraHdrs, m.callid, m.status],
    );
    return (r as { insertId: number }).insertId;
  }
  async listFor(username: string, domain: string, now: number): Promise<SiloMessage[]> {
    const [rows] = await this.pool.query(`SELECT ${COLS} FROM silo WHERE username = ? AND domain = ? AND exp_time > ? ORDER BY id`, [username, domain, now]);
    return (rows as Array<Record<string, unknown>>).map(ofRow);
  }
  async usage(username: string, domain: string, now: number): Promise<{ count: number; bytes: number }> {
    const [rows] = await this.pool.query("SELECT COUNT(*) AS c, COALESCE(SUM(LENGTH(body)), 0) AS b FROM silo WHERE username = ? AND domain = ? AND exp_time > ?", [username, domain, now]);
    const r = (rows as Array<Record<string, unknown>>)[0]!;
    return { count: Number(r.c), bytes: Number(r.b) };
  }
  async claim(id: number, now: number): Promise<boolean> {
    const [r] = await this.pool.query("UPDATE silo SET snd_time = ? WHERE id = ? AND snd_time = 0", [now, id]);
    return (r as { affectedRows: number }).affectedRows === 1;
  }
  async release(id: number): Promise<void> {
    await this.pool.query("UPDATE silo SET snd_time = 0 WHERE id = ?", [id]);
  }
  async remove(id: number): Promise<void> {
    await this.pool.query("DELETE FROM silo WHERE id = ?", [id]);
  }
  async removeExpired(now: number): Promise<number> {
    const [r] = await this.pool.query("DELETE FROM silo WHERE exp_time <= ?", [now]);
    return (r as { affectedRows: number }).affectedRows;
  }
  async all(now: number): Promise<SiloMessage[]> {
    const [rows] = await this.pool.query(`SELECT ${COLS} FROM silo WHERE exp_time > ? ORDER BY id`, [now]);
    return (rows as Array<Record<string, unknown>>).map(ofRow);
  }
  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
