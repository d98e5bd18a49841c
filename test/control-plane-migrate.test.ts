/**
 * Issue 4, migrations, at process level. The schema facts are proven at unit level in
 * control-plane/db/migrate.test.ts (fresh database = Kamailio 5.6's tables column by column,
 * applying twice is a no-op also with two concurrent runs, a database made by Kamailio's own SQL
 * keeps every existing table byte for byte, real Kamailio 5.6 starts on the result). What this file
 * adds is the same through the real `control-plane/main.ts` process:
 *
 * - two control-plane processes started at once on a fresh database (olelo_test_e2e_mig): the
 *   migrations are applied once (all + 0), both serve; started again they apply nothing and the
 *   schema, journal and version rows are unchanged;
 * - on a database created by Kamailio's own SQL scripts (olelo_test_e2e_kam) holding a dispatcher
 *   row written the way kamctl writes it, the process adds only the missing tables, leaves
 *   Kamailio's tables as they were, and a data-plane process routes a sipp call by that row.
 *
 * Ports: a block of 50 from test/kit/ports.ts (freePortBlock).
 */
import type mysql from "mysql2/promise";
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { migrationFiles } from "../control-plane/db/make-idempotent.js";
import { haveKamailioScripts, runKamailioScript } from "../control-plane/db/test-support.js";
import {
  dropE2eDatabase,
  freshE2eDatabase,
  rpcResult,
  startControlPlaneProcess,
  startDataPlaneProcess,
  stopAllProcesses,
  waitUntil,
  type ControlPlaneProcess,
} from "./helpers/processes.js";
import { runSipp } from "./helpers/sipp.js";
import { startTracedUas, type TracedUas } from "./scripts/dispatcher-support.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(50); // this file's ports: BASE … BASE + 49
const MIG = "olelo_test_e2e_mig";
const KAM = "olelo_test_e2e_kam";
const conns: mysql.Connection[] = [];
const servers: TracedUas[] = [];

afterAll(async () => {
  await stopAllProcesses();
  for (const s of servers) await s.stop();
  for (const c of conns) {
    const [db] = await c.query<RowDataPacket[]>("SELECT DATABASE() AS d");
    await dropE2eDatabase(c, String(db[0]!.d));
    await c.end();
  }
}, 40_000);

/** The "database migrated" log record of a control-plane process. */
async function migratedRecord(cp: ControlPlaneProcess): Promise<Record<string, unknown>> {
  let rec: Record<string, unknown> | undefined;
  await waitUntil("the 'database migrated' log line", () => (rec = cp.logLines().find((l) => l.msg === "database migrated")) !== undefined, 5000);
  return rec!;
}

/** Columns of every table, the migration journal and the version rows: what must not move. */
async function schemaState(c: mysql.Connection): Promise<unknown> {
  const [cols] = await c.query<RowDataPacket[]>(
    "SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 2",
  );
  const [idx] = await c.query<RowDataPacket[]>(
    "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 2, 3",
  );
  const [journal] = await c.query<RowDataPacket[]>("SELECT hash, created_at FROM __drizzle_migrations ORDER BY id");
  const [versions] = await c.query<RowDataPacket[]>("SELECT table_name, table_version FROM version ORDER BY table_name");
  return { cols: cols.map((r) => ({ ...r })), idx: idx.map((r) => ({ ...r })), journal: journal.map((r) => ({ ...r })), versions: versions.map((r) => ({ ...r })) };
}

describe("control-plane process migrations", () => {
  it("two processes starting at once on a fresh database migrate it once; started again they apply nothing and nothing moves", async () => {
    const c = await freshE2eDatabase(MIG);
    conns.push(c);
    const both = await Promise.all([
      startControlPlaneProcess({ db: MIG, apiPort: BASE + 1, grpcPort: BASE + 2 }),
      startControlPlaneProcess({ db: MIG, apiPort: BASE + 3, grpcPort: BASE + 4 }),
    ]);
    const applied = (await Promise.all(both.map(migratedRecord))).map((r) => r.applied as number);
    expect(applied.sort()).toEqual([0, migrationFiles().length]);
    for (const cp of both) {
      const st = await rpcResult(cp.rpcUrl, "status");
      expect(st.db).toMatchObject({ ok: true, database: MIG });
      expect(st.kinds.find((k: { kind: string }) => k.kind === "dispatcher")).toMatchObject({ rows: 0, lastError: null });
    }
    const [tables] = await c.query<RowDataPacket[]>("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()");
    expect(tables.map((r) => r.t)).toEqual(expect.arrayContaining(["dispatcher", "lcr_gw", "lcr_rule", "lcr_rule_target", "subscriber", "location", "version", "olelo_audit", "olelo_snapshots"]));
    const [v] = await c.query<RowDataPacket[]>("SELECT table_name, table_version FROM version WHERE table_name IN ('dispatcher', 'lcr_gw', 'subscriber', 'location') ORDER BY 1");
    expect(v.map((r) => [r.table_name, r.table_version])).toEqual([
      ["dispatcher", 4],
      ["lcr_gw", 3],
      ["location", 9],
      ["subscriber", 7],
    ]);
    const before = await schemaState(c);
    await Promise.all(both.map((cp) => cp.stop("SIGTERM")));

    const again = await startControlPlaneProcess({ db: MIG, apiPort: BASE + 1, grpcPort: BASE + 2 });
    expect((await migratedRecord(again)).applied).toBe(0);
    expect(await schemaState(c)).toEqual(before);
    await again.stop("SIGTERM");
  }, 110_000);

  it.skipIf(!haveKamailioScripts())("on a database made by Kamailio's SQL scripts, a kamctl-style dispatcher row is routed by a data-plane process; Kamailio's tables are untouched", async () => {
    const c = await freshE2eDatabase(KAM);
    conns.push(c);
    for (const s of ["standard", "dispatcher", "lcr", "permissions", "auth_db", "usrloc"]) runKamailioScript(KAM, s);
    const UAS = BASE + 20;
    // as `kamctl dispatcher add 1 sip:127.0.0.1:25020 0 0 '' 'kamailio gw'` writes it
    await c.query("INSERT INTO dispatcher (setid, destination, flags, priority, attrs, description) VALUES (1, ?, 0, 0, '', 'kamailio gw')", [`sip:127.0.0.1:${UAS}`]);
    const kamTables = ["dispatcher", "lcr_gw", "lcr_rule", "lcr_rule_target", "address", "trusted", "subscriber", "location", "location_attrs", "version"];
    const showCreate = async () => {
      const out: Record<string, string> = {};
      for (const t of kamTables) {
        const [r] = await c.query<RowDataPacket[]>(`SHOW CREATE TABLE \`${t}\``);
        out[t] = String(r[0]!["Create Table"]).replace(/ AUTO_INCREMENT=\d+/, "");
      }
      return out;
    };
    const [kv] = await c.query<RowDataPacket[]>("SELECT table_name, table_version FROM version ORDER BY 1");
    const kamVersions = kv.map((r) => ({ ...r }));
    const before = await showCreate();

    const cp = await startControlPlaneProcess({ db: KAM, apiPort: BASE + 5, grpcPort: BASE + 6 });
    const rec = await migratedRecord(cp);
    expect(rec).toMatchObject({ applied: migrationFiles().length });
    expect(rec.existing).toBe(kamTables.length); // Kamailio's tables were found, not created
    expect(await showCreate()).toEqual(before);
    const [after] = await c.query<RowDataPacket[]>("SELECT table_name, table_version FROM version ORDER BY 1");
    for (const r of kamVersions) expect(after.find((a) => a.table_name === r.table_name)).toMatchObject(r);
    expect(after.find((a) => a.table_name === "dr_rules")).toMatchObject({ table_version: 3 }); // added with its table

    const served = (await rpcResult(cp.rpcUrl, "status")).kinds.find((k: { kind: string }) => k.kind === "dispatcher");
    expect(served).toMatchObject({ rows: 1, lastError: null });
    const uas = await startTracedUas(UAS);
    servers.push(uas);
    const dp = await startDataPlaneProcess({ node: "e2e-kam", sipPort: BASE + 10, controlPort: BASE + 11, controlPlane: cp.grpcUrl });
    await waitUntil("the data plane to apply the Kamailio-written set", async () => (await dp.version("dispatcher")) === served.version, 20_000, [cp, dp]);
    const calls = await runSipp({ scenario: "uac_rr.xml", port: BASE + 30, remote: `127.0.0.1:${dp.sipPort}`, calls: 3, rate: 5, service: "kamrow", timeoutS: 30 });
    expect([calls.successful, calls.failed], calls.errors || calls.stderr).toEqual([3, 0]);
    expect(uas.invites("kamrow")).toHaveLength(3);
  }, 110_000);
});
