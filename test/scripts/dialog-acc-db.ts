/**
 * MariaDB helpers for the acc tests: a fresh database with the acc module's schema.sql, and a
 * TCP relay in front of MariaDB that a test can switch off and on to simulate an outage.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import net from "node:net";
import mysql from "mysql2/promise";

const SCHEMA = join(import.meta.dirname, "../../data-plane/modules/acc/schema.sql");
export const MYSQL_ROOT = "mysql://root@127.0.0.1:3306";

/** Drops and recreates `name` (must start with olelo_test_acc) with the acc tables. */
export async function freshAccDb(name: string): Promise<mysql.Connection> {
  if (!name.startsWith("olelo_test_acc")) throw new Error(`refusing to touch database ${name}`);
  const admin = await mysql.createConnection({ uri: MYSQL_ROOT, multipleStatements: true });
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\`; CREATE DATABASE \`${name}\`; USE \`${name}\`;`);
  await admin.query(readFileSync(SCHEMA, "utf8"));
  return admin;
}

export async function dropAccDb(conn: mysql.Connection | undefined, name: string): Promise<void> {
  if (!conn) return;
  await conn.query(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
  await conn.end().catch(() => undefined);
}

export async function rows(conn: mysql.Connection, sql: string): Promise<any[]> {
  const [r] = await conn.query(sql);
  return r as any[];
}

/** A TCP relay to MariaDB on `port`; `down()` refuses and cuts connections, `up()` relays again. */
export class DbRelay {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    readonly port: number,
    private readonly target = { host: "127.0.0.1", port: 3306 },
  ) {}

  async up(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((c) => {
      const s = net.connect(this.target.port, this.target.host);
      this.sockets.add(c);
      this.sockets.add(s);
      const drop = () => {
        c.destroy();
        s.destroy();
        this.sockets.delete(c);
        this.sockets.delete(s);
      };
      c.on("error", drop).on("close", drop);
      s.on("error", drop).on("close", drop);
      c.pipe(s);
      s.pipe(c);
    });
    await new Promise<void>((r) => server.listen(this.port, "127.0.0.1", () => r()));
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
