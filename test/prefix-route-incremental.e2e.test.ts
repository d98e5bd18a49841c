/**
 * Issue 13, the incremental path for a large kind, with real processes and MariaDB: a control plane
 * with change capture only (`--cdc-ms 50 --poll-ms 0`) and a data plane with prefix_route. Table
 * big enough to travel as deltas (5,000 rows); one-row SQL UPDATE / DELETE / INSERT are applied on
 * the data plane as deltas compiled from the changed rows only (`core.sync_status` deltas.incremental),
 * and the routing the data plane does changes accordingly (`prefix_route.dump`, Kamailio's RPC).
 * Change capture gave Kamailio's index-less prefix_route an index on its key column.
 */
import type mysql from "mysql2/promise";
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  dropE2eDatabase,
  freshE2eDatabase,
  rpcResult,
  startControlPlaneProcess,
  startDataPlaneProcess,
  stopAllProcesses,
  waitUntil,
  type ControlPlaneProcess,
  type DataPlaneProcess,
} from "./helpers/processes.js";
import { freePortBlock } from "./kit/ports.js";

const DB = "olelo_test_e2e_pr_incr";
const BASE = await freePortBlock(10);
const ROWS = 5000;
let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;

const status = async () => (await rpcResult<Array<{ version: string | null; rows: number }>>(dp.rpcUrl, "core.config_status", ["prefix_route"]))[0]!;
const incremental = async () => Number((await rpcResult<{ deltas: { incremental: number } }>(dp.rpcUrl, "core.sync_status")).deltas.incremental);
const dump = async () => (await rpcResult<string[]>(dp.rpcUrl, "prefix_route.dump")).join("\n");

/** Runs `sql` and waits until the data plane runs a new version with `rows` rows. */
async function applied(sql: string, rows: number): Promise<void> {
  const before = (await status()).version;
  await admin.query(sql);
  await waitUntil(`'${sql}' applied`, async () => {
    const s = await status();
    return s.version !== before && s.rows === rows;
  }, 10_000, [cp, dp]);
}

beforeAll(async () => {
  admin = await freshE2eDatabase(DB);
  // migrate first (a start without change capture), then load the table
  cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0 });
  await cp.stop("SIGTERM");
  await admin.query(`INSERT INTO prefix_route (prefix, route, comment) SELECT CONCAT('49', LPAD(seq, 5, '0')), 'R1', '' FROM seq_0_to_${ROWS - 1}`);
  cp = await startControlPlaneProcess({ db: DB, apiPort: BASE + 1, grpcPort: BASE + 2, pollMs: 0, cdcMs: 50 });
  dp = await startDataPlaneProcess({ node: "e2e-pr-incr", sipPort: BASE + 5, controlPort: BASE + 6, controlPlane: cp.grpcUrl, modules: { prefix_route: {} } });
  await waitUntil("prefix_route applied", async () => (await status()).rows === ROWS, 30_000, [cp, dp]);
}, 120_000);

afterAll(async () => {
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
});

describe("prefix_route changes as incremental deltas (real processes)", () => {
  it("indexes the key column change capture reads rows back by", async () => {
    const [idx] = await admin.query<RowDataPacket[]>("SHOW INDEX FROM prefix_route WHERE Column_name = 'prefix'");
    expect(idx.map((r) => r.Key_name)).toContain("olelo_key_prefix");
  });

  it("UPDATE, DELETE and INSERT of one row are compiled from the changed rows only and change the routing", async () => {
    const n0 = await incremental();
    await applied("UPDATE prefix_route SET route = 'BERLIN' WHERE prefix = '4900030'", ROWS);
    expect(await incremental()).toBe(n0 + 1);
    expect(await dump()).toContain("route[BERLIN]");
    await applied("INSERT INTO prefix_route (prefix, route, comment) VALUES ('49', 'GERMANY', '')", ROWS + 1);
    await applied("DELETE FROM prefix_route WHERE prefix = '4900030'", ROWS);
    expect(await incremental()).toBe(n0 + 3);
    const d = await dump();
    expect(d).not.toContain("route[BERLIN]");
    expect(d).toContain("route[GERMANY]");
    // the overlay counts: 5,000 prefixes in effect (one added, one removed)
    expect(await rpcResult(dp.rpcUrl, "stats.fetchn", ["prefix_route:prefixes"])).toMatchObject({ "prefix_route.prefixes": ROWS });
  });

  it("a bad row written in SQL is refused alone; the good rows stay routed", async () => {
    const before = (await status()).version;
    await admin.query("INSERT INTO prefix_route (prefix, route, comment) VALUES ('49x', 'BAD', '')");
    await admin.query("UPDATE prefix_route SET route = 'R2' WHERE prefix = '4900031'");
    await waitUntil("the good change applied", async () => (await status()).version !== before && (await dump()).includes("route[R2]"), 10_000, [cp, dp]);
    expect(await dump()).not.toContain("route[BAD]");
    const st = await rpcResult(cp.rpcUrl, "status");
    expect(JSON.stringify(st)).toContain("49x");
  });
});
